package main

import (
	"context"
	"flag"
	"slices"
	"strconv"
	"time"

	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/lake"
)

// tableInfo is one row of `lagoon tables`.
type tableInfo struct {
	Table       string    `json:"table"`
	Records     int64     `json:"record_count"`
	DataFiles   int64     `json:"data_files"`
	Bytes       int64     `json:"bytes"`
	Snapshots   int       `json:"snapshots"`
	LastUpdated time.Time `json:"last_updated"`
	Location    string    `json:"location"`
}

func tablesCmd() *command {
	var side bool
	return &command{
		name:    "tables",
		summary: "list the lake's tables with row and file counts",
		help: `Lists every table of the catalog with its current record count, data files,
size and last update. lagoon's own tables (namespace lagoon: the trail,
statistics and log) are listed with --side.`,
		flags: func(fs *flag.FlagSet, g *globals) {
			fs.BoolVar(&g.json, "json", false, "print JSON")
			fs.BoolVar(&side, "side", false, "list lagoon's own side tables too")
		},
		run: func(ctx context.Context, g *globals, args []string) int {
			if !g.wantArgs("tables", args, 0, "no arguments") {
				return exitUsage
			}
			infos, err := listTables(ctx, g, side)
			if err != nil {
				return g.fail("tables", err)
			}
			if g.json {
				if infos == nil {
					infos = []tableInfo{}
				}
				_ = printJSON(g.stdout, infos)
				return exitOK
			}
			rows := make([][]string, 0, len(infos))
			for _, t := range infos {
				rows = append(rows, []string{t.Table, groupDigits(t.Records), strconv.FormatInt(t.DataFiles, 10),
					humanBytes(t.Bytes), strconv.Itoa(t.Snapshots), t.LastUpdated.Local().Format(time.DateTime)})
			}
			printTable(g.stdout, []string{"TABLE", "ROWS", "FILES", "SIZE", "SNAPSHOTS", "UPDATED"}, rows)
			return exitOK
		},
	}
}

func listTables(ctx context.Context, g *globals, side bool) ([]tableInfo, error) {
	lk, err := g.openLake(ctx)
	if err != nil {
		return nil, err
	}
	defer lk.Close()
	refs, err := lk.Tables(ctx)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(refs, func(a, b lake.TableRef) int { return compareStrings(a.String(), b.String()) })
	var out []tableInfo
	for _, ref := range refs {
		if ref.DB == lake.SideNamespace && !side {
			continue
		}
		tbl, err := lk.LoadTable(ctx, ref)
		if err != nil {
			return nil, err
		}
		out = append(out, describe(ref, tbl))
	}
	return out, nil
}

func describe(ref lake.TableRef, tbl *table.Table) tableInfo {
	md := tbl.Metadata()
	ti := tableInfo{Table: ref.String(), Snapshots: len(md.Snapshots()), Location: tbl.Location(),
		LastUpdated: time.UnixMilli(md.LastUpdatedMillis()).UTC()}
	if s := tbl.CurrentSnapshot(); s != nil && s.Summary != nil {
		ti.Records = lake.LiveRecords(md, s)
		ti.DataFiles = summaryInt(s.Summary.Properties, "total-data-files")
		ti.Bytes = summaryInt(s.Summary.Properties, "total-files-size")
	}
	return ti
}

func summaryInt(p map[string]string, k string) int64 {
	n, _ := strconv.ParseInt(p[k], 10, 64)
	return n
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
