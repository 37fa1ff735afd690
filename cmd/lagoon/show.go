package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/contract"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
)

type columnInfo struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	Type     string `json:"type"`
	Required bool   `json:"required"`
}

type partitionInfo struct {
	Name      string `json:"name"`
	Source    string `json:"source"`
	Transform string `json:"transform"`
}

type snapshotInfo struct {
	ID           int64     `json:"snapshot_id"`
	Time         time.Time `json:"timestamp"`
	Operation    string    `json:"operation"`
	AddedRecords int64     `json:"added_records"`
	TotalRecords int64     `json:"total_records"`
	Batch        string    `json:"batch,omitempty"`
}

type showInfo struct {
	tableInfo
	FormatVersion int             `json:"format_version"`
	Metadata      string          `json:"metadata_location"`
	Schema        []columnInfo    `json:"schema"`
	Partitioning  []partitionInfo `json:"partition_spec"`
	SnapshotList  []snapshotInfo  `json:"snapshot_log"`
	// Contract is the table's contract (assets/lagoon/tables/<db>/<table>.yaml),
	// as contract check reports it; absent when it has none.
	Contract *contractReport `json:"contract,omitempty"`
}

func showCmd() *command {
	return &command{
		name:    "show",
		args:    "DB.TABLE",
		summary: "show a table's schema, partition spec and snapshots",
		help:    "Shows a table's location, schema (field ids, names, types), partition spec and snapshots.",
		flags:   func(fs *flag.FlagSet, g *globals) { fs.BoolVar(&g.json, "json", false, "print JSON") },
		run: func(ctx context.Context, g *globals, args []string) int {
			if !g.wantArgs("show", args, 1, "DB.TABLE") {
				return exitUsage
			}
			info, err := showTable(ctx, g, args[0])
			if err != nil {
				return g.fail("show", err)
			}
			if g.json {
				_ = printJSON(g.stdout, info)
				return exitOK
			}
			printShow(g, info)
			return exitOK
		},
	}
}

func showTable(ctx context.Context, g *globals, name string) (showInfo, error) {
	ref, err := lake.ParseTableRef(name)
	if err != nil {
		return showInfo{}, err
	}
	lk, err := g.openLake(ctx)
	if err != nil {
		return showInfo{}, err
	}
	defer lk.Close()
	tbl, err := lk.LoadTable(ctx, ref)
	if err != nil {
		return showInfo{}, err
	}
	md := tbl.Metadata()
	info := showInfo{tableInfo: describe(ref, tbl), FormatVersion: md.Version(), Metadata: tbl.MetadataLocation()}
	sc := tbl.Schema()
	for _, f := range sc.Fields() {
		info.Schema = append(info.Schema, columnInfo{ID: f.ID, Name: f.Name, Type: f.Type.String(), Required: f.Required})
	}
	spec := tbl.Spec()
	for _, f := range spec.Fields() {
		src, _ := sc.FindColumnName(f.SourceID())
		info.Partitioning = append(info.Partitioning, partitionInfo{Name: f.Name, Source: src, Transform: f.Transform.String()})
	}
	for _, s := range md.Snapshots() {
		info.SnapshotList = append(info.SnapshotList, snapshotOf(s.SnapshotID, s.TimestampMs, s.Summary))
	}
	info.Contract, err = tableContract(ctx, lk.Store, ref)
	return info, err
}

// tableContract reports the table's contract: nil when it has none, an
// invalid report (with the reason) when it is broken.
func tableContract(ctx context.Context, st contract.Getter, ref lake.TableRef) (*contractReport, error) {
	c, err := contract.Load(ctx, st, ref)
	switch {
	case errors.Is(err, contract.ErrInvalid):
		return &contractReport{File: contract.Key(ref), Error: err.Error()}, nil
	case err != nil:
		return nil, err
	case c == nil:
		return nil, nil
	}
	r := reportContract(contract.Key(ref), c)
	return &r, nil
}

func snapshotOf(id, ms int64, sum *table.Summary) snapshotInfo {
	si := snapshotInfo{ID: id, Time: time.UnixMilli(ms).UTC()}
	if sum != nil {
		si.Operation = string(sum.Operation)
		si.AddedRecords = summaryInt(sum.Properties, "added-records")
		si.TotalRecords = summaryInt(sum.Properties, "total-records")
		si.Batch = sum.Properties[loader.BatchProperty]
	}
	return si
}

func printShow(g *globals, info showInfo) {
	w := g.stdout
	fmt.Fprintf(w, "Table:     %s\nLocation:  %s\nMetadata:  %s\nFormat:    Iceberg v%d\nRows:      %s in %d data files (%s)\n\n",
		info.Table, info.Location, info.Metadata, info.FormatVersion, groupDigits(info.Records), info.DataFiles, humanBytes(info.Bytes))
	rows := [][]string{}
	for _, c := range info.Schema {
		rows = append(rows, []string{strconv.Itoa(c.ID), c.Name, c.Type})
	}
	printTable(w, []string{"ID", "COLUMN", "TYPE"}, rows)
	fmt.Fprintln(w)
	rows = rows[:0]
	for _, p := range info.Partitioning {
		rows = append(rows, []string{p.Name, p.Transform + "(" + p.Source + ")"})
	}
	printTable(w, []string{"PARTITION", "TRANSFORM"}, rows)
	fmt.Fprintln(w)
	rows = rows[:0]
	for _, s := range info.SnapshotList {
		rows = append(rows, []string{strconv.FormatInt(s.ID, 10), s.Time.Local().Format(time.DateTime), s.Operation,
			groupDigits(s.AddedRecords), groupDigits(s.TotalRecords)})
	}
	printTable(w, []string{"SNAPSHOT", "TIME", "OPERATION", "ADDED ROWS", "TOTAL ROWS"}, rows)
	if info.Contract != nil {
		fmt.Fprintln(w)
		fmt.Fprint(w, "Contract:  ")
		printContractReport(g, *info.Contract)
	}
}
