package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/stats"
)

func statsCmd() *command {
	var sync bool
	var cfg stats.Config
	return &command{
		name:    "stats",
		args:    "[DB.TABLE]",
		summary: "print the latest statistics of the tables",
		help: `Prints the latest statistics of each table from the statistics tables
(lagoon.table_stats and lagoon.column_stats, under stats/): records, data
files, bytes, when the table last changed, the last load's latency. With
DB.TABLE, also each column's value, null and NaN counts and min and max (from
Iceberg's manifests). --json prints one object per table, columns included.

The daemon keeps the statistics current; --sync brings them up to date first
(--prd to cover the tables under prd/ as well).`,
		flags: func(fs *flag.FlagSet, g *globals) {
			fs.BoolVar(&g.json, "json", false, "print a JSON array, one object per table")
			fs.BoolVar(&sync, "sync", false, "sync the statistics tables first")
			fs.BoolVar(&cfg.Prd, "prd", false, "with --sync: cover the Iceberg tables under prd/ too")
		},
		run: func(ctx context.Context, g *globals, args []string) int {
			if len(args) > 1 {
				g.wantArgs("stats", args, 1, "at most DB.TABLE")
				return exitUsage
			}
			only := ""
			if len(args) == 1 {
				ref, err := lake.ParseTableRef(args[0])
				if err != nil {
					fmt.Fprintf(g.stderr, "lagoon stats: %v\n", err)
					return exitUsage
				}
				only = ref.String()
			}
			return showStats(ctx, g, only, sync, cfg)
		},
	}
}

func showStats(ctx context.Context, g *globals, only string, sync bool, cfg stats.Config) int {
	lk, err := g.openLake(ctx)
	if err != nil {
		return g.fail("stats", err)
	}
	defer lk.Close()
	if sync {
		if _, err := stats.NewSyncer(lk, cfg, g.log).Sync(ctx); err != nil {
			return g.fail("stats", err)
		}
	}
	all, err := stats.Latest(ctx, lk, only)
	if err != nil {
		return g.fail("stats", err)
	}
	if g.json {
		_ = printJSON(g.stdout, all)
		return exitOK
	}
	if only != "" && len(all) == 0 {
		return g.fail("stats", fmt.Errorf("no statistics for %s (not loaded yet, or not synced: try --sync)", only))
	}
	printStats(g, all, only != "")
	return exitOK
}

func printStats(g *globals, all []stats.TableStats, columns bool) {
	rows := make([][]string, 0, len(all))
	for _, t := range all {
		lat := ""
		if t.LoadLatencyMS != nil {
			lat = (time.Duration(*t.LoadLatencyMS) * time.Millisecond).String()
		}
		rows = append(rows, []string{t.Table, t.Zone, groupDigits(t.RecordCount), strconv.FormatInt(t.DataFiles, 10),
			humanBytes(t.Bytes), t.CommittedAt.Local().Format(time.DateTime), lat})
	}
	printTable(g.stdout, []string{"TABLE", "ZONE", "RECORDS", "FILES", "SIZE", "LAST UPDATED", "LOAD LATENCY"}, rows)
	if !columns {
		return
	}
	for _, t := range all {
		fmt.Fprintln(g.stdout)
		var cr [][]string
		bounds := false
		for _, c := range t.Columns {
			bounds = bounds || c.MinExact != nil && !*c.MinExact || c.MaxExact != nil && !*c.MaxExact
			cr = append(cr, []string{c.Column, c.Type, num(c.ValueCount), num(c.NullCount), boundText(c.Min, c.MinExact, "≥ "),
				boundText(c.Max, c.MaxExact, "≤ ")})
		}
		printTable(g.stdout, []string{"COLUMN", "TYPE", "VALUES", "NULLS", "MIN", "MAX"}, cr)
		if bounds {
			fmt.Fprintln(g.stdout, "(≥ x, ≤ x: a bound only, no row need hold it)")
		}
	}
}

// boundText is a min or max as printed: the value, or mark and the bound
// when it is only a bound.
func boundText(v *string, exact *bool, mark string) string {
	if v == nil {
		return ""
	}
	if exact != nil && !*exact {
		return mark + *v
	}
	return *v
}

func num(p *int64) string {
	if p == nil {
		return ""
	}
	return groupDigits(*p)
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
