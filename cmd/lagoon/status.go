package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/logs"
	"github.com/lagoon-dev/lagoon/status"
)

func statusCmd() *command {
	return &command{
		name:    "status",
		summary: "what waits in each stage per table, batches in flight, claims, last error",
		help: `status reads the lake's folders (not the catalog's tables) and prints, per
table: the files and bytes waiting under prepare/ and load/ and how long the
oldest has waited, the batches in flight (a stage's intents: work begun and not
yet published, or left by a worker that died, for recovery to finish), the
claims workers hold (stale ones may be taken over), the files rejected, and the
last warning or error of the log table (the last 7 days). --json prints the
same as one object.`,
		flags: func(fs *flag.FlagSet, g *globals) {
			fs.BoolVar(&g.json, "json", false, "print JSON")
		},
		run: func(ctx context.Context, g *globals, args []string) int {
			if !g.wantArgs("status", args, 0, "no arguments") {
				return exitUsage
			}
			return showStatus(ctx, g)
		},
	}
}

// tableStatus is status.Table with the table's last warning or error.
type tableStatus struct {
	*status.Table
	LastError *logs.Entry `json:"last_error,omitempty"`
}

func showStatus(ctx context.Context, g *globals) int {
	lk, err := g.openLake(ctx)
	if err != nil {
		return g.fail("status", err)
	}
	defer lk.Close()
	now := time.Now()
	rep, err := status.Collect(ctx, lk.Store, now)
	if err != nil {
		return g.fail("status", err)
	}
	last, err := lastErrors(ctx, lk, now)
	if err != nil {
		return g.fail("status", err)
	}
	tables := make([]tableStatus, len(rep.Tables))
	for i, t := range rep.Tables {
		tables[i] = tableStatus{Table: t, LastError: last[t.Table]}
	}
	if g.json {
		_ = printJSON(g.stdout, map[string]any{"tables": tables, "unmapped": rep.Unmapped})
		return exitOK
	}
	printStatus(g, tables, rep.Unmapped, now)
	return exitOK
}

// lastErrors is the latest warning or error of the log table per table
// ("db.table"), over the last 7 days.
func lastErrors(ctx context.Context, lk *lake.Lake, now time.Time) (map[string]*logs.Entry, error) {
	es, err := logs.Query(ctx, lk, logs.Filter{Level: "warn", Since: now.Add(-7 * 24 * time.Hour)})
	if err != nil {
		return nil, err
	}
	out := map[string]*logs.Entry{}
	for i := range es {
		e := &es[i]
		name := e.DB + "." + e.Table
		if e.Table == "" {
			continue
		}
		if prev, ok := out[name]; !ok || e.Time.After(prev.Time) {
			out[name] = e
		}
	}
	return out, nil
}

func printStatus(g *globals, tables []tableStatus, unmapped int, now time.Time) {
	rows := make([][]string, 0, len(tables))
	for _, t := range tables {
		rows = append(rows, []string{t.Table.Table, waitingCell(t.Waiting["prepare"], now), waitingCell(t.Waiting["load"], now),
			inFlightCell(t.InFlight), claimsCell(t.Claims), fmt.Sprint(t.Rejected), errorCell(t.LastError)})
	}
	if len(rows) == 0 {
		fmt.Fprintln(g.stdout, "nothing waits, nothing in flight, nothing rejected")
	} else {
		printTable(g.stdout, []string{"TABLE", "PREPARE", "LOAD", "IN FLIGHT", "CLAIMS", "REJECTED", "LAST ERROR"}, rows)
	}
	if unmapped > 0 {
		fmt.Fprintf(g.stdout, "%s outside prepare/<db>/<table>/ or load/<db>/<table>/ (rejected when next seen)\n", plural(unmapped, "file"))
	}
}

func waitingCell(w status.Waiting, now time.Time) string {
	if w.Files == 0 {
		return "-"
	}
	return w.Text(now)
}

func inFlightCell(m map[string]int) string {
	var parts []string
	for _, stage := range []string{"prepare", "load"} {
		if n := m[stage]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", stage, n))
		}
	}
	return strings.Join(parts, ", ")
}

func claimsCell(cs []status.Claim) string {
	var parts []string
	for _, c := range cs {
		if c.Released {
			continue
		}
		s := c.Stage + " by " + c.Owner
		if c.Stale {
			s += " (stale)"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func errorCell(e *logs.Entry) string {
	if e == nil {
		return ""
	}
	msg := e.Message
	if r, ok := e.Detail["reason"].(string); ok && r != "" {
		msg += ": " + r
	} else if e.Error != "" {
		msg += ": " + e.Error
	}
	return e.Time.Local().Format(time.DateTime) + " " + msg
}
