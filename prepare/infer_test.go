package prepare_test

import (
	"bytes"
	"compress/gzip"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/klauspost/compress/zstd"

	"github.com/lagoon-dev/lagoon/prepare"
)

func schemaOf(sc *arrow.Schema) string {
	var parts []string
	for _, f := range sc.Fields() {
		parts = append(parts, f.Name+":"+f.Type.String())
	}
	return strings.Join(parts, " ")
}

func TestInference(t *testing.T) {
	cases := []struct {
		name, file, body, schema string
		rows                     []string // text of each row's values, in column order
	}{
		{
			name: "scalars", file: "x.ndjson",
			body:   `{"i":1,"f":1.5,"b":true,"s":"hi","d":"2024-02-29","ts":"2024-01-02T03:04:05Z","naive":"2024-01-02 03:04:05.123","n":null}`,
			schema: "i:int64 f:float64 b:bool s:utf8 d:date32 ts:timestamp[us, tz=UTC] naive:timestamp[us]",
			rows:   []string{"1 1.5 true hi 2024-02-29 2024-01-02T03:04:05Z 2024-01-02T03:04:05.123"},
		},
		{
			name: "int and float widen to double", file: "x.ndjson",
			body:   "{\"v\":1}\n{\"v\":2.5}\n",
			schema: "v:float64", rows: []string{"1", "2.5"},
		},
		{
			name: "mixed kinds become text, objects as JSON", file: "x.ndjson",
			body:   "{\"v\":1}\n{\"v\":\"x\"}\n{\"v\":{\"a\":[1, 2]}}\n{\"v\":true}\n",
			schema: "v:utf8", rows: []string{"1", "x", `{"a":[1, 2]}`, "true"},
		},
		{
			name: "nested objects and arrays", file: "x.json",
			body:   `[{"id":1,"p":{"a":1,"tags":["x"]}},{"id":2,"p":{"b":"y","tags":[]}}]`,
			schema: "id:int64 p:struct<a: int64 nullable, tags: list<element: utf8, nullable> nullable, b: utf8 nullable>",
			rows:   []string{`1 {"a":1,"b":null,"tags":["x"]}`, `2 {"a":null,"b":"y","tags":[]}`},
		},
		{
			name: "leading zeros stay text", file: "x.csv",
			body:   "zip,n\n08123,5\n00001,6\n",
			schema: "zip:utf8 n:int64", rows: []string{"08123 5", "00001 6"},
		},
		{
			name: "JSON strings are not numbers", file: "x.ndjson",
			body:   `{"code":"123"}`,
			schema: "code:utf8", rows: []string{"123"},
		},
		{
			name: "integers past int64 are kept as text", file: "x.ndjson",
			body:   "{\"v\":1}\n{\"v\":123456789012345678901234}\n",
			schema: "v:utf8", rows: []string{"1", "123456789012345678901234"},
		},
		{
			name: "empty CSV fields are null for typed columns, empty for text", file: "x.csv",
			body:   "n,s\n1,a\n,\n",
			schema: "n:int64 s:utf8", rows: []string{"1 a", "<null> "},
		},
		{
			name: "zoned and naive timestamps mixed become text", file: "x.ndjson",
			body:   "{\"t\":\"2024-01-01T00:00:00Z\"}\n{\"t\":\"2024-01-01T00:00:00\"}\n",
			schema: "t:utf8", rows: []string{"2024-01-01T00:00:00Z", "2024-01-01T00:00:00"},
		},
		{
			name: "dates and naive timestamps widen to timestamps", file: "x.csv",
			body:   "t\n2024-01-01\n2024-01-01 10:00:00\n",
			schema: "t:timestamp[us]", rows: []string{"2024-01-01T00:00:00", "2024-01-01T10:00:00"},
		},
		{
			name: "nanosecond timestamps stay text", file: "x.ndjson",
			body:   `{"t":"2024-01-01T00:00:00.123456789Z"}`,
			schema: "t:utf8", rows: []string{"2024-01-01T00:00:00.123456789Z"},
		},
		{
			name: "columns only ever null are left out", file: "x.ndjson",
			body:   "{\"a\":1,\"z\":null}\n",
			schema: "a:int64", rows: []string{"1"},
		},
		{
			name: "names normalised, collisions numbered", file: "x.csv",
			body:   "Order ID,order_id,ORDER-ID\n1,2,3\n",
			schema: "order_id:int64 order_id_2:int64 order_id_3:int64", rows: []string{"1 2 3"},
		},
		{
			name: "TSV with BOM and CRLF", file: "x.tsv",
			body:   "\uFEFFa\tb\r\n1\tx y\r\n",
			schema: "a:int64 b:utf8", rows: []string{"1 x y"},
		},
		{
			name: "one JSON object", file: "x.json",
			body:   "{\n  \"a\": 1\n}\n",
			schema: "a:int64", rows: []string{"1"},
		},
		{
			name: "pretty-printed objects one after another", file: "x.json",
			body:   "{\n \"a\": 1\n}\n{\n \"a\": 2\n}",
			schema: "a:int64", rows: []string{"1", "2"},
		},
		{
			name: "jsonl", file: "x.jsonl",
			body:   "{\"a\":\"é\\u00e9\\ud83d\\ude00\"}\n\n",
			schema: "a:utf8", rows: []string{"éé😀"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := convert(t, prepare.DefaultOptions(), memSource(tc.file, []byte(tc.body)))
			if len(got.bad) > 0 {
				t.Fatalf("bad records: %+v", got.bad)
			}
			if s := schemaOf(got.schema); s != tc.schema {
				t.Errorf("schema = %s\nwant     %s", s, tc.schema)
			}
			assertRowText(t, got, tc.rows)
		})
	}
}

func assertRowText(tb testing.TB, got converted, want []string) {
	tb.Helper()
	if len(got.rows) != len(want) {
		tb.Fatalf("%d rows, want %d", len(got.rows), len(want))
	}
	for i, r := range got.rows {
		var vals []string
		for _, f := range got.schema.Fields() {
			vals = append(vals, text(r[f.Name]))
		}
		if g := strings.Join(vals, " "); g != want[i] {
			tb.Errorf("row %d = %s\nwant    %s", i, g, want[i])
		}
	}
}

func TestCompression(t *testing.T) {
	ndjson := []byte("{\"a\":1}\n{\"a\":2}\n")
	csv := []byte("a\n1\n2\n")
	var gz, zs bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(ndjson)
	zw.Close()
	ze, _ := zstd.NewWriter(&zs)
	ze.Write(csv)
	ze.Close()
	var csvgz bytes.Buffer
	zw = gzip.NewWriter(&csvgz)
	zw.Write(csv)
	zw.Close()
	for name, body := range map[string][]byte{
		"x.ndjson.gz": gz.Bytes(), "x.json.gz": gz.Bytes(), "x.csv.zst": zs.Bytes(),
		"export.gz": gz.Bytes(), "dump.2024.gz": csvgz.Bytes(),
	} {
		t.Run(name, func(t *testing.T) {
			got := convert(t, prepare.DefaultOptions(), memSource(name, body))
			if s := schemaOf(got.schema); s != "a:int64" || len(got.rows) != 2 {
				t.Errorf("schema %s, %d rows", s, len(got.rows))
			}
		})
	}
}

// TestWidenRestart: the sample sees only integers; a float far later makes
// the conversion run again with the wider type, every value intact.
func TestWidenRestart(t *testing.T) {
	var b strings.Builder
	for i := range 30_000 {
		b.WriteString(`{"v":` + itoa(i) + "}\n")
	}
	b.WriteString(`{"v":0.5,"late":"new column"}` + "\n")
	opt := prepare.DefaultOptions()
	opt.SampleRecords = 1000
	opt.BatchRows = 4096
	got := convert(t, opt, memSource("x.ndjson", []byte(b.String())))
	if s := schemaOf(got.schema); s != "v:float64 late:utf8" {
		t.Fatalf("schema = %s", s)
	}
	if len(got.rows) != 30_001 || text(got.rows[29_999]["v"]) != "29999" || text(got.rows[30_000]["v"]) != "0.5" {
		t.Errorf("rows = %d, last two %v %v", len(got.rows), got.rows[29_999], got.rows[30_000])
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
