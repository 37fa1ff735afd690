package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

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
			fs.BoolVar(&g.json, "json", false, "print rows as a JSON array of objects")
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

// printRowsJSON prints the rows as a JSON array of objects.
func printRowsJSON(g *globals, data arrow.Table) error {
	out := []json.RawMessage{}
	tr := array.NewTableReader(data, 1024)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		st := array.RecordToStructArray(rec)
		for r := range st.Len() {
			b, err := json.Marshal(st.GetOneForMarshal(r))
			if err != nil {
				st.Release()
				return err
			}
			out = append(out, b)
		}
		st.Release()
	}
	return printJSON(g.stdout, out)
}
