package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/lagoon-dev/lagoon/lake"
)

func headCmd() *command {
	var n int64
	return &command{
		name:    "head",
		args:    "DB.TABLE",
		summary: "print a table's first rows",
		help:    "Prints the first rows of a table's current snapshot; --json prints one JSON object per row.",
		flags: func(fs *flag.FlagSet, g *globals) {
			fs.BoolVar(&g.json, "json", false, "print one JSON object per row, a line each (NDJSON)")
			fs.Int64Var(&n, "n", 10, "number of rows")
		},
		run: func(ctx context.Context, g *globals, args []string) int {
			if !g.wantArgs("head", args, 1, "DB.TABLE") {
				return exitUsage
			}
			if err := head(ctx, g, args[0], n); err != nil {
				return g.fail("head", err)
			}
			return exitOK
		},
	}
}

func head(ctx context.Context, g *globals, name string, n int64) error {
	ref, err := lake.ParseTableRef(name)
	if err != nil {
		return err
	}
	lk, err := g.openLake(ctx)
	if err != nil {
		return err
	}
	defer lk.Close()
	tbl, err := lk.LoadTable(ctx, ref)
	if err != nil {
		return err
	}
	data, err := lake.ReadTable(ctx, tbl, n)
	if err != nil {
		return err
	}
	defer data.Release()
	if g.json {
		return printRowsJSON(g, data)
	}
	printRows(g, data)
	return nil
}

func printRows(g *globals, data arrow.Table) {
	sc := data.Schema()
	headers := make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		headers[i] = f.Name
	}
	var rows [][]string
	tr := array.NewTableReader(data, 1024)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		for r := range int(rec.NumRows()) {
			row := make([]string, rec.NumCols())
			for c := range row {
				row[c] = cell(rec.Column(c), r)
			}
			rows = append(rows, row)
		}
	}
	printTable(g.stdout, headers, rows)
	fmt.Fprintf(g.stderr, "(%d rows)\n", len(rows))
}

func cell(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "NULL"
	}
	s := a.ValueStr(i)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// printRowsJSON prints the rows as NDJSON: one object per line.
func printRowsJSON(g *globals, data arrow.Table) error {
	tr := array.NewTableReader(data, 1024)
	defer tr.Release()
	for tr.Next() {
		st := array.RecordToStructArray(tr.RecordBatch())
		err := writeObjects(g.stdout, st)
		st.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

func writeObjects(w io.Writer, st *array.Struct) error {
	for r := range st.Len() {
		b, err := json.Marshal(st.GetOneForMarshal(r))
		if err != nil {
			return err
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return err
		}
	}
	return nil
}
