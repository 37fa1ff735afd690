package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/lagoon-dev/lagoon/logs"
)

func logCmd() *command {
	var f logs.Filter
	var since string
	return &command{
		name:    "log",
		summary: "print the log table: the pipeline's warnings and errors",
		help: `Prints the log table (lagoon.log, under log/): every warning and error of the
pipeline, rejected files and rejects files among them, oldest first. The
daemon syncs it every --side-every; run --once syncs it before exiting.

--level keeps entries at that level or above (warn, error); --since keeps
those from a time (RFC 3339, YYYY-MM-DD, or a duration back from now, as
in 24h); --table keeps one DB.TABLE, or a whole DB.`,
		flags: func(fs *flag.FlagSet, g *globals) {
			fs.BoolVar(&g.json, "json", false, "print entries as a JSON array")
			fs.StringVar(&f.Level, "level", "", "lowest level shown: warn or error")
			fs.StringVar(&since, "since", "", "from this time (RFC 3339, YYYY-MM-DD or a duration such as 24h)")
			fs.StringVar(&f.Table, "table", "", "only this DB.TABLE (or DB)")
		},
		run: func(ctx context.Context, g *globals, args []string) int {
			if !g.wantArgs("log", args, 0, "no arguments") {
				return exitUsage
			}
			var err error
			if f.Since, err = parseSince("--since", since); err != nil {
				fmt.Fprintf(g.stderr, "lagoon log: %v\n", err)
				return exitUsage
			}
			return showLog(ctx, g, f)
		},
	}
}

// parseSince takes parseWhen's forms or a duration back from now.
func showLog(ctx context.Context, g *globals, f logs.Filter) int {
	lk, err := g.openLake(ctx)
	if err != nil {
		return g.fail("log", err)
	}
	defer lk.Close()
	es, err := logs.Query(ctx, lk, f)
	if err != nil {
		return g.fail("log", err)
	}
	if g.json {
		if es == nil {
			es = []logs.Entry{}
		}
		_ = printJSON(g.stdout, es)
		return exitOK
	}
	if len(es) == 0 {
		fmt.Fprintln(g.stdout, "no warnings or errors logged (the log table is synced every --side-every, and at the end of run --once)")
		return exitOK
	}
	rows := make([][]string, 0, len(es))
	for _, e := range es {
		tbl := strings.Trim(e.DB+"."+e.Table, ".")
		msg := e.Message
		if e.Error != "" {
			msg += ": " + e.Error
		}
		if r, ok := e.Detail["reason"].(string); ok {
			msg += ": " + r
		}
		rows = append(rows, []string{e.Time.Local().Format(time.DateTime), strings.ToUpper(e.Level), e.Stage, tbl, e.Key, msg})
	}
	printTable(g.stdout, []string{"TIME", "LEVEL", "STAGE", "TABLE", "KEY", "MESSAGE"}, rows)
	return exitOK
}
