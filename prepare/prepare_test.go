package prepare_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lagoon-dev/lagoon/prepare"
)

// memSource is a Source over bytes.
func memSource(name string, body []byte) prepare.Source {
	return prepare.Source{Key: name, Name: name, Size: int64(len(body)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }}
}

// converted holds a conversion's output read back.
type converted struct {
	res    prepare.Result
	schema *arrow.Schema
	rows   []map[string]any
	bad    []prepare.BadRecord
}

// convert runs a conversion to a temp file and reads the rows back.
func convert(tb testing.TB, opt prepare.Options, srcs ...prepare.Source) converted {
	tb.Helper()
	var out converted
	opt.Rejects = func(b prepare.BadRecord) error { out.bad = append(out.bad, b); return nil }
	opt.ResetRejects = func() error { out.bad = nil; return nil }
	sink := &prepare.FileSink{Path: filepath.Join(tb.TempDir(), "out.parquet")}
	res, err := prepare.Convert(context.Background(), srcs, sink, opt)
	if err != nil {
		tb.Fatalf("convert: %v", err)
	}
	paths, err := sink.Commit()
	if err != nil {
		tb.Fatal(err)
	}
	out.res = res
	for _, p := range paths {
		sc, rows := readParquet(tb, p)
		out.schema = sc
		out.rows = append(out.rows, rows...)
	}
	return out
}

func readParquet(tb testing.TB, path string) (*arrow.Schema, []map[string]any) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
	if err != nil {
		tb.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	defer tbl.Release()
	var rows []map[string]any
	tr := array.NewTableReader(tbl, 1024)
	defer tr.Release()
	for tr.Next() {
		st := array.RecordToStructArray(tr.RecordBatch())
		for i := range st.Len() {
			b, _ := json.Marshal(st.GetOneForMarshal(i))
			var m map[string]any
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				tb.Fatal(err)
			}
			rows = append(rows, m)
		}
		st.Release()
	}
	return tbl.Schema(), rows
}

// TestCSVSpectrum: every csv-spectrum case yields exactly its expected
// values (compared as text, since CSV carries no types), with its column
// names normalised and the original names kept in field metadata.
func TestCSVSpectrum(t *testing.T) {
	dir := filepath.Join("..", "testdata", "csv-spectrum")
	csvs, _ := filepath.Glob(filepath.Join(dir, "csvs", "*.csv"))
	if len(csvs) != 12 {
		t.Fatalf("found %d csv-spectrum files", len(csvs))
	}
	for _, p := range csvs {
		name := strings.TrimSuffix(filepath.Base(p), ".csv")
		t.Run(name, func(t *testing.T) {
			body, _ := os.ReadFile(p)
			wantJSON, _ := os.ReadFile(filepath.Join(dir, "json", name+".json"))
			var want []map[string]string
			if err := json.Unmarshal(wantJSON, &want); err != nil {
				var one map[string]string
				if err := json.Unmarshal(wantJSON, &one); err != nil {
					t.Fatal(err)
				}
				want = []map[string]string{one}
			}
			got := convert(t, prepare.DefaultOptions(), memSource(name+".csv", body))
			if len(got.bad) != 0 {
				t.Fatalf("bad records: %+v", got.bad)
			}
			if len(got.rows) != len(want) {
				t.Fatalf("%d rows, want %d", len(got.rows), len(want))
			}
			orig := originalNames(got.schema)
			for i, w := range want {
				for k, v := range w {
					col, ok := orig[k]
					if !ok {
						t.Fatalf("no column for %q in %v", k, got.schema)
					}
					if g := text(got.rows[i][col]); g != v {
						t.Errorf("row %d %q = %q, want %q", i, k, g, v)
					}
				}
			}
		})
	}
}

// originalNames maps each original column name to its output column.
func originalNames(sc *arrow.Schema) map[string]string {
	out := map[string]string{}
	for _, f := range sc.Fields() {
		out[f.Name] = f.Name
		if v, ok := f.Metadata.GetValue(prepare.OriginalNameKey); ok {
			out[v] = f.Name
		}
	}
	return out
}

func text(v any) string {
	switch t := v.(type) {
	case nil:
		return "<null>"
	case string:
		return t
	case json.Number:
		return t.String()
	}
	b, _ := json.Marshal(v)
	return string(b)
}
