package prepare_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/twmb/avro"
	"github.com/twmb/avro/ocf"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/prepare"
)

// TestHostileInputs: each input of the kinds that once crashed, hung or
// changed values (issue 10) ends with its good rows, its bad records with
// a reason, or the file refused with a reason — never a panic, a hang or
// a value that is not the one written.
func TestHostileInputs(t *testing.T) {
	cases := []struct {
		name, file, body string
		rows             []string // the good rows, as text
		bad              []string // the bad records' reasons, in order (substrings)
		fileErr          string   // the file's own error (substring), if any
	}{
		{name: "truncated object between good lines", file: "x.ndjson",
			body: "{\"a\":1,\"b\":\"x\"}\n{\"broken\": \n{\"a\":2,\"b\":\"y\"}\n",
			rows: []string{"1 x", "2 y"}, bad: []string{"unexpected end"}},
		{name: "truncated object, new column (decoder path)", file: "x.ndjson",
			body: strings.Repeat("{\"a\":1}\n", 3) + "{\"a\":1,\"zz\": \n",
			rows: []string{"1", "1", "1"}, bad: []string{"unexpected end"}},
		{name: "BOM cut short", file: "x.json", body: "\xEF\xBB\x7B\x7D", bad: []string{"unexpected"}},
		{name: "a lone ]", file: "x.json", body: "]", fileErr: "unexpected ']'"},
		{name: "a lone }", file: "x.json", body: "}", fileErr: "unexpected '}'"},
		{name: "commas only", file: "x.json", body: ",,,,", fileErr: "unexpected ','"},
		{name: "binary junk as JSON", file: "x.json", body: string(lakefixture.Junk(0, 4096)), fileErr: "binary content"},
		{name: "binary junk as CSV", file: "x.csv", body: string(lakefixture.Junk(0, 4096)), fileErr: "binary content"},
		{name: "junk that is not gzip", file: "x.json.gz", body: string(lakefixture.Junk(0, 512)), fileErr: "gzip"},
		{name: "1e400 in JSON", file: "x.ndjson", body: "{\"v\":1.5}\n{\"v\":1e400}\n{\"v\":2.5}\n",
			rows: []string{"1.5", "2.5"}, bad: []string{"1e400"}},
		{name: "1e400 in CSV", file: "x.csv", body: "v\n1.5\n1e400\n2.5\n",
			rows: []string{"1.5", "2.5"}, bad: []string{"1e400"}},
		{name: "1e-400 is not zero", file: "x.ndjson", body: "{\"v\":1.5}\n{\"v\":1e-400}\n",
			rows: []string{"1.5"}, bad: []string{"1e-400"}},
		{name: "more digits than a double keeps: decimal", file: "x.ndjson",
			body: "{\"v\":12345678901234567.89}\n{\"v\":0.5}\n", rows: []string{"12345678901234567.89", "0.5"}},
		{name: "Latin-1 in CSV", file: "x.csv", body: "a,b\ncaf\xE9,1\ntea,2\n", rows: []string{"tea 2"}, bad: []string{"not UTF-8"}},
		{name: "Latin-1 in NDJSON", file: "x.ndjson", body: "{\"a\":\"caf\xE9\"}\n{\"a\":\"tea\"}\n", rows: []string{"tea"}, bad: []string{"not UTF-8"}},
		{name: "Latin-1 deep in a long NDJSON string", file: "x.ndjson",
			body: "{\"a\":\"tea\"}\n{\"a\":\"a long caf\xE9 au lait, tr\xE8s bien\"}\n{\"a\":\"na\u00efve caf\u00e9, cr\u00e8me br\u00fbl\u00e9e\"}\n",
			rows: []string{"tea", "na\u00efve caf\u00e9, cr\u00e8me br\u00fbl\u00e9e"}, bad: []string{"not UTF-8"}},
		{name: "a lone surrogate escape is not U+FFFD", file: "x.ndjson", body: "{\"a\":\"x\"}\n{\"a\":\"\\ud800\"}\n{\"a\":\"\\ud83d\\ude00\"}\n",
			rows: []string{"x", "\U0001F600"}, bad: []string{"half a UTF-16 surrogate pair"}},
		{name: "a lone surrogate escape in a new column", file: "x.ndjson", body: strings.Repeat("{\"a\":1}\n", 3) + "{\"a\":1,\"zz\":\"\\udc00\"}\n",
			rows: []string{"1", "1", "1"}, bad: []string{"half a UTF-16 surrogate pair"}},
		{name: "UTF-8 BOM, NDJSON", file: "x.ndjson", body: "\xEF\xBB\xBF{\"a\":1}\n{\"a\":2}\n", rows: []string{"1", "2"}},
		{name: "UTF-8 BOM, JSON", file: "x.json", body: "\xEF\xBB\xBF[{\"a\":1}]", rows: []string{"1"}},
		{name: "UTF-8 BOM, CSV", file: "x.csv", body: "\xEF\xBB\xBFa\n1\n", rows: []string{"1"}},
		{name: "UTF-16LE with BOM", file: "x.csv", body: utf16le("a,b\n1,é\n"), rows: []string{"1 é"}},
		{name: "UTF-16BE with BOM", file: "x.ndjson", body: utf16be("{\"a\":\"é\"}\n"), rows: []string{"é"}},
		{name: "UTF-16LE, a surrogate pair and a real U+FFFD", file: "x.csv", body: utf16le("a\n\U0001F600\uFFFD\n"), rows: []string{"\U0001F600\uFFFD"}},
		{name: "UTF-16LE, a high surrogate alone", file: "x.csv", body: "\xFF\xFE" + "a\x00\n\x00\x3D\xD8x\x00\n\x00", fileErr: "malformed UTF-16 text: a high surrogate alone near byte 6"},
		{name: "UTF-16BE, a low surrogate alone", file: "x.csv", body: "\xFE\xFF" + "\x00a\x00\n\xDE\x00\x00\n", fileErr: "a low surrogate alone"},
		{name: "UTF-16LE, an odd byte at the end", file: "x.csv", body: utf16le("a\n1\n") + "\x31", rows: []string{"1"}, fileErr: "a code unit cut short at the end"},
		{name: "UTF-16LE, a surrogate pair cut short", file: "x.csv", body: utf16le("a\n1\n") + "\x3D\xD8", rows: []string{"1"}, fileErr: "a surrogate pair cut short"},
		{name: "UTF-32LE with BOM", file: "x.ndjson", body: utf32le("{\"a\":\"\U0001F600\"}\n"), rows: []string{"\U0001F600"}},
		{name: "UTF-32LE past U+10FFFF", file: "x.csv", body: "\xFF\xFE\x00\x00" + "a\x00\x00\x00\n\x00\x00\x00\x00\x00\x11\x00", fileErr: "U+110000 is not a character"},
		{name: "duplicate and empty CSV headers", file: "x.csv", body: "a,a,,b\n1,2,3,4\n", rows: []string{"1 2 3 4"}},
		{name: "trailing garbage after an array", file: "x.json", body: "[{\"a\":1}] junk", rows: []string{"1"}, bad: []string{"after the end of the JSON array"}},
		{name: "CR-only line ends", file: "x.csv", body: "a,b\r1,2\r3,4\r", fileErr: "CR alone"},
		{name: "nesting 100k deep", file: "x.ndjson", body: "{\"a\":1}\n{\"a\":" + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "}\n",
			rows: []string{"1"}, bad: []string{"nested deeper"}},
		{name: "NUL bytes in a line", file: "x.ndjson", body: "{\"a\":1}\n{\"a\":\x00}\n{\"a\":3}\n", rows: []string{"1", "3"}, bad: []string{"unexpected"}},
		{name: "millions of blank lines (once a stack overflow)", file: "x.csv", body: "a\n" + strings.Repeat("\n", 6_000_000) + "1\n", rows: []string{"1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := convert(t, prepare.DefaultOptions(), memSource(tc.file, []byte(tc.body)))
			sr := got.res.Sources[0]
			if tc.fileErr != "" && (sr.Err == nil || !strings.Contains(sr.Err.Error(), tc.fileErr)) {
				t.Errorf("file error = %v, want %q", sr.Err, tc.fileErr)
			}
			if tc.fileErr == "" && sr.Err != nil {
				t.Errorf("file error = %v, want none", sr.Err)
			}
			if len(got.bad) != len(tc.bad) {
				t.Fatalf("bad = %+v, want %q", got.bad, tc.bad)
			}
			for i, b := range got.bad {
				if !strings.Contains(b.Reason, tc.bad[i]) {
					t.Errorf("bad[%d] = %q, want %q", i, b.Reason, tc.bad[i])
				}
			}
			if len(tc.rows) > 0 || len(got.rows) > 0 {
				assertRowText(t, got, tc.rows)
			}
		})
	}
}

// TestCSVHeaderNames: empty and repeated header names get names of their
// own, deterministically.
func TestCSVHeaderNames(t *testing.T) {
	got := convert(t, prepare.DefaultOptions(), memSource("x.csv", []byte("a,a,,b,a_2\n1,2,3,4,5\n")))
	if s := schemaOf(got.schema); s != "a:int64 a_3:int64 col_3:int64 b:int64 a_2:int64" {
		t.Errorf("schema = %s", s)
	}
}

// TestNumbersIntoTableColumns: into an existing table's columns a number
// goes in exactly or its record is bad — never a different value.
func TestNumbersIntoTableColumns(t *testing.T) {
	opt := prepare.DefaultOptions()
	opt.Table = arrow.NewSchema([]arrow.Field{
		{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "d", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
	}, nil)
	body := "n,f,d\n" +
		"9223372036854775807,0.1,12.34\n" + // good: the largest long
		"9223372036854775808,1,1\n" + // one past it
		"-9223372036854775809,1,1\n" +
		"007,1,1\n" + // leading zeros: not the number 7
		"1,12345678901234567.89,1\n" + // more digits than a double keeps
		"1,1e400,1\n" +
		"1,1,1.234\n" + // more scale than the column has
		"1,1,123456789.5\n" + // more precision
		"3.0,2.5e1,1e1\n" // good: exact in each type
	got := convert(t, opt, memSource("x.csv", []byte(body)))
	assertRowText(t, got, []string{"9223372036854775807 0.1 12.34", "3 25 10"})
	if len(got.bad) != 7 {
		t.Fatalf("bad = %+v, want 7", got.bad)
	}
}

// TestAvroDecimalsStayDecimals: an Avro decimal column is a decimal
// column, its values exact.
func TestAvroDecimalsStayDecimals(t *testing.T) {
	sc := avro.MustParse(`{"type":"record","name":"R","fields":[
		{"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":20,"scale":3}}]}`)
	var buf bytes.Buffer
	w, err := ocf.NewWriter(&buf, sc)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"12345678901234.567", "0.100"} {
		r, _ := new(big.Rat).SetString(v)
		if err := w.Encode(map[string]any{"price": r}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := convert(t, prepare.DefaultOptions(), memSource("x.avro", buf.Bytes()))
	if s := schemaOf(got.schema); s != "price:decimal(38, 3)" {
		t.Errorf("schema = %s", s)
	}
	assertRowText(t, got, []string{"12345678901234.567", "0.1"})
}

// TestTruncatedGzip: a gzip member cut short keeps the rows before the
// cut and says why the rest could not be read.
func TestTruncatedGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for i := range 200_000 {
		fmt.Fprintf(zw, "{\"a\":%d}\n", i)
	}
	zw.Close()
	cut := buf.Bytes()[:buf.Len()/2]
	got := convert(t, prepare.DefaultOptions(), memSource("x.ndjson.gz", cut))
	sr := got.res.Sources[0]
	if sr.Err == nil {
		t.Fatalf("no file error for a truncated gzip: %+v", sr)
	}
	if sr.Rows == 0 || sr.Rows >= 200_000 {
		t.Errorf("rows = %d", sr.Rows)
	}
}

func utf16le(s string) string {
	out := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		out = binary.LittleEndian.AppendUint16(out, u)
	}
	return string(out)
}

func utf16be(s string) string {
	out := []byte{0xFE, 0xFF}
	for _, u := range utf16.Encode([]rune(s)) {
		out = binary.BigEndian.AppendUint16(out, u)
	}
	return string(out)
}

func utf32le(s string) string {
	out := []byte{0xFF, 0xFE, 0, 0}
	for _, r := range s {
		out = binary.LittleEndian.AppendUint32(out, uint32(r))
	}
	return string(out)
}
