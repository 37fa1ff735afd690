package prepare_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/avro"
	"github.com/twmb/avro/ocf"

	"github.com/lagoon-dev/lagoon/prepare"
)

// TestBadRecords: each bad record is reported with its line, record
// number, reason and raw text; the good ones convert.
func TestBadRecords(t *testing.T) {
	huge := `{"a":"` + strings.Repeat("x", 2000) + `"}`
	cases := []struct {
		name, file, body string
		good             int
		line             int
		reason           string
	}{
		{"malformed JSON line", "x.ndjson", "{\"a\":1}\n{\"a\":\n{\"a\":3}\n", 2, 2, "unexpected end"},
		{"not an object", "x.ndjson", "{\"a\":1}\n[1,2]\n", 1, 2, "not a JSON object"},
		{"ragged CSV row", "x.csv", "a,b\n1,2\n3\n4,5\n", 2, 3, "ragged row: 1 fields, the header has 2"},
		{"too many CSV fields", "x.csv", "a,b\n1,2,3\n4,5\n", 1, 2, "ragged row: 3 fields"},
		{"huge line", "x.ndjson", "{\"a\":\"ok\"}\n" + huge + "\n{\"a\":\"ok2\"}\n", 2, 2, "record too long"},
		{"binary junk line", "x.ndjson", "{\"a\":1}\n\x00\x01\xff\xfe\n", 1, 2, "unexpected"},
		{"duplicate field", "x.ndjson", "{\"a\":1}\n{\"a\":2,\"a\":3}\n", 1, 2, "field given twice"},
		{"unclosed quote at the end", "x.csv", "a\n1\n\"open\n", 1, 3, "not closed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opt := prepare.DefaultOptions()
			opt.MaxRecordBytes = 1024
			got := convert(t, opt, memSource(tc.file, []byte(tc.body)))
			if len(got.rows) != tc.good {
				t.Errorf("%d good rows, want %d", len(got.rows), tc.good)
			}
			if len(got.bad) != 1 {
				t.Fatalf("bad = %+v, want one", got.bad)
			}
			b := got.bad[0]
			if b.Line != tc.line || !strings.Contains(b.Reason, tc.reason) || b.Key != tc.file || b.Raw == "" {
				t.Errorf("bad record = %+v, want line %d and %q", b, tc.line, tc.reason)
			}
			if got.res.Sources[0].Bad != 1 || got.res.Sources[0].Rows != int64(tc.good) {
				t.Errorf("source result = %+v", got.res.Sources[0])
			}
		})
	}
}

// TestTableTypesWin: when the table exists, values are converted to its
// column types; a value that cannot be is a bad record; new columns are
// inferred.
func TestTableTypesWin(t *testing.T) {
	opt := prepare.DefaultOptions()
	opt.Table = arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "code", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "p", Type: arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true}), Nullable: true},
		{Name: "price", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
	}, nil)
	body := `{"id":1,"amount":5,"code":7,"at":"2024-01-01T00:00:00","p":{"x":1,"y":"new"},"price":"12.34","extra":true}
{"id":"abc","amount":1}
{"id":3.0,"amount":2.5,"price":1.5}
{"id":5,"amount":"lots","code":"z"}
{"id":99999999999}
{"id":6,"amount":"lots"}
`
	got := convert(t, opt, memSource("x.ndjson", []byte(body)))
	want := "id:int32 amount:float64 code:utf8 at:timestamp[us, tz=UTC] p:struct<x: int64 nullable, y: utf8 nullable> price:decimal(10, 2) extra:bool"
	if s := schemaOf(got.schema); s != want {
		t.Fatalf("schema = %s\nwant     %s", s, want)
	}
	assertRowText(t, got, []string{
		`1 5 7 2024-01-01T00:00:00Z {"x":1,"y":"new"} 12.34 true`,
		`3 2.5 <null> <null> <null> 1.5 <null>`,
	})
	var lines []int
	for _, b := range got.bad {
		lines = append(lines, b.Line)
	}
	if fmt.Sprint(lines) != "[2 4 5 6]" || !strings.Contains(got.bad[0].Reason, `"abc" is not a int32`) || !strings.Contains(got.bad[1].Reason, `amount: "lots" is not a float64`) {
		t.Errorf("bad = %+v", got.bad)
	}
}

func TestAvro(t *testing.T) {
	sc := avro.MustParse(`{"type":"record","name":"R","fields":[
		{"name":"id","type":"long"},
		{"name":"name","type":["null","string"]},
		{"name":"score","type":"double"},
		{"name":"day","type":{"type":"int","logicalType":"date"}},
		{"name":"at","type":{"type":"long","logicalType":"timestamp-micros"}},
		{"name":"tags","type":{"type":"array","items":"string"}},
		{"name":"inner","type":{"type":"record","name":"I","fields":[{"name":"k","type":"int"}]}}
	]}`)
	var buf bytes.Buffer
	w, err := ocf.NewWriter(&buf, sc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		rec := map[string]any{"id": int64(i), "name": nil, "score": 1.5, "day": int32(19000), "at": int64(1_700_000_000_000_000),
			"tags": []any{"a"}, "inner": map[string]any{"k": int32(i)}}
		if i == 1 {
			rec["name"] = "bob"
		}
		if err := w.Encode(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := convert(t, prepare.DefaultOptions(), memSource("x.avro", buf.Bytes()))
	want := "id:int64 name:utf8 score:float64 day:date32 at:timestamp[us, tz=UTC] tags:list<element: utf8, nullable> inner:struct<k: int64 nullable>"
	if s := schemaOf(got.schema); s != want {
		t.Fatalf("schema = %s\nwant     %s", s, want)
	}
	assertRowText(t, got, []string{
		`0 <null> 1.5 2022-01-08 2023-11-14T22:13:20Z ["a"] {"k":0}`,
		`1 bob 1.5 2022-01-08 2023-11-14T22:13:20Z ["a"] {"k":1}`,
		`2 <null> 1.5 2022-01-08 2023-11-14T22:13:20Z ["a"] {"k":2}`,
	})
}

func TestUnsupported(t *testing.T) {
	for name, want := range map[string]string{
		"x.orc.gz":     "compressed ORC",
		"x.xlsx":       "unknown extension .xlsx",
		"README":       "no extension",
		"x.parquet.gz": "compressed Parquet",
	} {
		sink := &prepare.FileSink{Path: t.TempDir() + "/o.parquet"}
		res, err := prepare.Convert(context.Background(), []prepare.Source{memSource(name, []byte("x"))}, sink, prepare.DefaultOptions())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		serr := res.Sources[0].Err
		if !errors.Is(serr, prepare.ErrUnsupported) || !strings.Contains(serr.Error(), want) {
			t.Errorf("%s: %v, want %q", name, serr, want)
		}
	}
}

// A table column that a source gives as a constant (a name=value folder)
// is that constant: the output holds it once, not a second time from the
// records (it once came back as day_2).
func TestTableColumnGivenAsConstant(t *testing.T) {
	src := memSource("v.json", []byte(`{"id":1}`+"\n"))
	src.Consts = []prepare.Const{{Name: "day", Value: "2026-11-22"}}
	opt := prepare.DefaultOptions()
	opt.Table = arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "day", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	res, err := prepare.Convert(context.Background(), []prepare.Source{src}, discard{}, opt)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Schema.FieldIndices("day"); len(got) != 1 || res.Schema.NumFields() != 2 {
		t.Errorf("output schema %s: want id and one day", res.Schema)
	}
}
