package pqcopy_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/pqcompat"
	"github.com/lagoon-dev/lagoon/pqcopy"
)

// sourceSchema has a column of every shape a copy carries: flat types,
// dictionary and plain strings, decimals on INT32, INT64 and FIXED, a
// list with nulls and empty lists, a struct and a map.
var sourceSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: false},
	{Name: "n", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "small", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
	{Name: "f", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "status", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "uid", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "raw", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "d9", Type: &arrow.Decimal128Type{Precision: 9, Scale: 2}, Nullable: true},
	{Name: "d30", Type: &arrow.Decimal128Type{Precision: 30, Scale: 4}, Nullable: true},
	{Name: "tags", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
	{Name: "who", Type: arrow.StructOf(
		arrow.Field{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "age", Type: arrow.PrimitiveTypes.Int32, Nullable: true}), Nullable: true},
	{Name: "attrs", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int32), Nullable: true},
}, nil)

// sourceRows are n rows of sourceSchema as a JSON array, nulls and edge
// values among them (NaN, infinities, the extremes of int64).
func sourceRows(n int) string {
	var b strings.Builder
	for i := range n {
		f := fmt.Sprint(float64(i) / 7)
		switch i % 97 {
		case 3:
			f = `"NaN"`
		case 5:
			f = `"-Inf"`
		case 11:
			f = "null"
		}
		id := int64(i)
		if i == 1 {
			id = math.MinInt64
		} else if i == 2 {
			id = math.MaxInt64
		}
		fmt.Fprintf(&b, `{"id":%d,"n":%s,"small":%d,"f":%s,"ok":%v,"status":%q,"uid":"u-%08d-%d","raw":"%s",`+
			`"day":%d,"at":%d,"d9":"%d.%02d","d30":"-%d12345678901234.5678","tags":%s,"who":%s,"attrs":%s}`+"\n",
			id, nullEvery(i, 13, fmt.Sprint(i*31)), i%200-100, f, i%3 == 0, []string{"paid", "draft", "void"}[i%3],
			i*7919%100003, i, "AAEC", 19000+i%400, 1700000000000000+int64(i)*1000, i%1000, i%100, i,
			list(i), who(i), attrs(i))
	}
	return "[" + strings.ReplaceAll(strings.TrimSuffix(b.String(), "\n"), "\n", ",") + "]"
}

func nullEvery(i, k int, v string) string {
	if i%k == 0 {
		return "null"
	}
	return v
}

func list(i int) string {
	switch i % 5 {
	case 0:
		return "null"
	case 1:
		return "[]"
	case 2:
		return fmt.Sprintf("[%d,null,%d]", i, -i)
	}
	return fmt.Sprintf("[%d]", i)
}

func who(i int) string {
	if i%17 == 0 {
		return "null"
	}
	return fmt.Sprintf(`{"name":%s,"age":%d}`, nullEvery(i, 4, fmt.Sprintf(`"n%d"`, i%50)), i%90)
}

func attrs(i int) string {
	if i%9 == 0 {
		return "null"
	}
	return fmt.Sprintf(`[{"key":"k%d","value":%d},{"key":"z","value":null}]`, i%4, i)
}

// writeSource writes rows of sourceSchema to a Parquet file with props.
func writeSource(tb testing.TB, rows int, groupRows int64, props ...parquet.WriterProperty) string {
	tb.Helper()
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, sourceSchema, strings.NewReader(sourceRows(rows)))
	if err != nil {
		tb.Fatal(err)
	}
	defer rec.Release()
	tbl := array.NewTableFromRecords(sourceSchema, []arrow.RecordBatch{rec})
	defer tbl.Release()
	path := filepath.Join(tb.TempDir(), "src.parquet")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := pqarrow.WriteTable(tbl, f, groupRows, parquet.NewWriterProperties(props...), pqarrow.DefaultWriterProps()); err != nil {
		tb.Fatal(err)
	}
	return path
}

// loadedAt and region are the constants every copy adds.
var (
	loadedAt = time.Date(2026, 12, 2, 5, 0, 0, 123456000, time.UTC)
	region   = "eu-west"
)

// identityPlan is a plan that copies every leaf of the source, with field
// ids 1, 2, … in the order of its nodes, then adds _etl_loaded_at and
// region.
func identityPlan(tb testing.TB, pf *file.Reader) pqcopy.Plan {
	tb.Helper()
	next := int32(0)
	root := pf.MetaData().Schema.Root()
	var fields schema.FieldList
	for i := range root.NumFields() {
		fields = append(fields, clone(tb, root.Field(i), &next))
	}
	at, err := schema.NewPrimitiveNodeLogical("_etl_loaded_at", parquet.Repetitions.Optional,
		schema.NewTimestampLogicalType(true, schema.TimeUnitMicros), parquet.Types.Int64, -1, 1000)
	if err != nil {
		tb.Fatal(err)
	}
	reg, err := schema.NewPrimitiveNodeLogical("region", parquet.Repetitions.Optional,
		schema.StringLogicalType{}, parquet.Types.ByteArray, -1, 1001)
	if err != nil {
		tb.Fatal(err)
	}
	fields = append(fields, at, reg)
	out, err := schema.NewGroupNode("schema", parquet.Repetitions.Required, fields, -1)
	if err != nil {
		tb.Fatal(err)
	}
	sc := schema.NewSchema(out)
	var cols []pqcopy.Column
	for i := range pf.MetaData().Schema.NumColumns() {
		cols = append(cols, pqcopy.Column{Source: i})
	}
	cols = append(cols,
		pqcopy.Column{Source: -1, Value: binary.LittleEndian.AppendUint64(nil, uint64(loadedAt.UnixMicro()))},
		pqcopy.Column{Source: -1, Value: []byte(region)})
	return pqcopy.Plan{Schema: sc, Columns: cols, CreatedBy: "lagoon version 1.0.0 (test)"}
}

func clone(tb testing.TB, n schema.Node, next *int32) schema.Node {
	tb.Helper()
	*next++
	id := *next
	var out schema.Node
	var err error
	switch n := n.(type) {
	case *schema.PrimitiveNode:
		out, err = schema.NewPrimitiveNodeLogical(n.Name(), n.RepetitionType(), n.LogicalType(), n.PhysicalType(), n.TypeLength(), id)
	case *schema.GroupNode:
		var kids schema.FieldList
		for i := range n.NumFields() {
			kids = append(kids, clone(tb, n.Field(i), next))
		}
		if lt := n.LogicalType(); lt != nil && !lt.IsNone() {
			out, err = schema.NewGroupNodeLogical(n.Name(), n.RepetitionType(), kids, lt, id)
		} else {
			out, err = schema.NewGroupNode(n.Name(), n.RepetitionType(), kids, id)
		}
	}
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// copyFile copies the file at path as plan (identityPlan when nil) says,
// and returns the copy's path.
func copyFile(tb testing.TB, path string, change func(*pqcopy.Plan)) (string, error) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, _, err := pqcompat.NewReader(f, st.Size(), memory.DefaultAllocator)
	if err != nil {
		tb.Fatal(err)
	}
	plan := identityPlan(tb, pf)
	if change != nil {
		change(&plan)
	}
	var out bytes.Buffer
	n, err := pqcopy.Write(context.Background(), &out, pqcopy.Part{Source: pqcopy.Source{R: f, Size: st.Size(), File: pf}, Plan: plan})
	if err != nil {
		return "", err
	}
	if n != int64(out.Len()) {
		tb.Fatalf("Write says %d bytes, wrote %d", n, out.Len())
	}
	dst := filepath.Join(tb.TempDir(), "copy.parquet")
	if err := os.WriteFile(dst, out.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return dst, nil
}

func readTable(tb testing.TB, path string) arrow.Table {
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
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
	if err != nil {
		tb.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return tbl
}

var layouts = []struct {
	name      string
	groupRows int64
	props     []parquet.WriterProperty
}{
	{"snappy, dictionary, v1 pages", 1 << 20, []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Snappy)}},
	{"zstd, v2 pages, small pages and row groups, dictionary fallback", 1500, []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Zstd), parquet.WithDataPageVersion(parquet.DataPageV2),
		parquet.WithDataPageSize(2048), parquet.WithDictionaryPageSizeLimit(4096)}},
	{"uncompressed, no dictionary, delta and byte-stream-split encodings", 4000, []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Uncompressed), parquet.WithDictionaryDefault(false),
		parquet.WithEncodingFor("id", parquet.Encodings.DeltaBinaryPacked),
		parquet.WithEncodingFor("f", parquet.Encodings.ByteStreamSplit),
		parquet.WithEncodingFor("uid", parquet.Encodings.DeltaByteArray),
		parquet.WithEncodingFor("status", parquet.Encodings.DeltaLengthByteArray)}},
	{"gzip, one row per group edge", 1, []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Gzip)}},
}

// TestCopyKeepsEveryValue copies files of every layout and reads the copy
// back with arrow-go: the source's values, column by column, and the
// constants on every row; its statistics are the source writer's.
func TestCopyKeepsEveryValue(t *testing.T) {
	for _, tc := range layouts {
		t.Run(tc.name, func(t *testing.T) {
			rows := 10000
			if tc.groupRows == 1 {
				rows = 40
			}
			src := writeSource(t, rows, tc.groupRows, tc.props...)
			dst, err := copyFile(t, src, nil)
			if err != nil {
				t.Fatal(err)
			}
			want, got := readTable(t, src), readTable(t, dst)
			defer want.Release()
			defer got.Release()
			if got.NumRows() != int64(rows) || got.NumCols() != want.NumCols()+2 {
				t.Fatalf("copy has %d rows, %d columns; want %d, %d", got.NumRows(), got.NumCols(), rows, want.NumCols()+2)
			}
			for i := range int(want.NumCols()) {
				if !array.ChunkedApproxEqual(want.Column(i).Data(), got.Column(i).Data(), array.WithNaNsEqual(true)) {
					t.Errorf("column %s differs", want.Schema().Field(i).Name)
				}
			}
			checkConstants(t, got)
			checkStats(t, src, dst)
		})
	}
}

func checkConstants(tb testing.TB, tbl arrow.Table) {
	tb.Helper()
	n := int(tbl.NumCols())
	for _, c := range tbl.Column(n - 2).Data().Chunks() {
		ts := c.(*array.Timestamp)
		for i := range ts.Len() {
			if ts.IsNull(i) || ts.Value(i) != arrow.Timestamp(loadedAt.UnixMicro()) {
				tb.Fatalf("_etl_loaded_at row %d: %v", i, ts.ValueStr(i))
			}
		}
	}
	for _, c := range tbl.Column(n - 1).Data().Chunks() {
		s := c.(*array.String)
		for i := range s.Len() {
			if s.IsNull(i) || s.Value(i) != region {
				tb.Fatalf("region row %d: %q", i, s.ValueStr(i))
			}
		}
	}
}

// checkStats compares each copied chunk's statistics with the source's
// (arrow-go wrote them from the same values), and checks the constants'.
func checkStats(tb testing.TB, src, dst string) {
	tb.Helper()
	a, b := openMeta(tb, src), openMeta(tb, dst)
	for g := range a.NumRowGroups() {
		ra, rb := a.MetaData().RowGroup(g), b.MetaData().RowGroup(g)
		for c := range ra.NumColumns() {
			ca, _ := ra.ColumnChunk(c)
			cb, _ := rb.ColumnChunk(c)
			sa, _ := ca.Statistics()
			sb, err := cb.Statistics()
			if err != nil || sb == nil {
				tb.Fatalf("row group %d column %d: no statistics in the copy (%v)", g, c, err)
			}
			if sa != nil && (sa.HasMinMax() != sb.HasMinMax() || (sa.HasMinMax() &&
				(!bytes.Equal(sa.EncodeMin(), sb.EncodeMin()) || !bytes.Equal(sa.EncodeMax(), sb.EncodeMax())))) {
				tb.Errorf("row group %d column %s: min/max %x/%x, source %x/%x", g, cb.PathInSchema(),
					sb.EncodeMin(), sb.EncodeMax(), sa.EncodeMin(), sa.EncodeMax())
			}
			if sa != nil && ca.PathInSchema().String() != "tags.list.element" && sa.NullCount() != sb.NullCount() {
				tb.Errorf("row group %d column %s: %d nulls, source %d", g, cb.PathInSchema(), sb.NullCount(), sa.NullCount())
			}
		}
		n := rb.NumColumns()
		at, _ := rb.ColumnChunk(n - 2)
		st, _ := at.Statistics()
		if st == nil || !st.HasMinMax() || !bytes.Equal(st.EncodeMin(), st.EncodeMax()) || st.NullCount() != 0 {
			tb.Errorf("row group %d: _etl_loaded_at statistics %v", g, st)
		}
	}
}

func openMeta(tb testing.TB, path string) *file.Reader {
	tb.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { pf.Close() })
	return pf
}

// TestDuckDBReadsTheCopy has DuckDB, an independent reader, read a copy
// row for row against its source.
func TestDuckDBReadsTheCopy(t *testing.T) {
	for _, tc := range layouts[:3] {
		t.Run(tc.name, func(t *testing.T) {
			src := writeSource(t, 3000, tc.groupRows, tc.props...)
			dst, err := copyFile(t, src, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := lakefixture.DuckCanonicalRows(t, "SELECT *, "+lakefixture.DuckQuote(region)+" AS region FROM read_parquet("+lakefixture.DuckQuote(src)+")")
			got := lakefixture.DuckCanonicalRows(t, "SELECT * EXCLUDE (_etl_loaded_at) FROM read_parquet("+lakefixture.DuckQuote(dst)+")")
			if strings.Join(want, "\n") != strings.Join(got, "\n") {
				t.Fatalf("DuckDB reads %d rows of the copy unlike the source's %d", len(got), len(want))
			}
			res := lakefixture.DuckDB(t, "SELECT count(*)::INTEGER AS n FROM read_parquet("+lakefixture.DuckQuote(dst)+
				") WHERE _etl_loaded_at = TIMESTAMPTZ '2026-12-02 05:00:00.123456+00'")
			if n, _ := res[0]["n"].(float64); int(n) != 3000 {
				t.Fatalf("DuckDB finds %v rows with the load time", res[0]["n"])
			}
		})
	}
}

// TestCopyRefuses: a source a copy cannot trust, or a plan it cannot
// carry out, is ErrUnfit — nothing is written as if it were fine.
func TestCopyRefuses(t *testing.T) {
	src := writeSource(t, 2000, 1<<20, parquet.WithCompression(compress.Codecs.Zstd))
	cases := []struct {
		name   string
		file   func(tb testing.TB, b []byte) []byte
		change func(*pqcopy.Plan)
	}{
		{name: "a page that does not decode", file: flipInFirstPage},
		{name: "a chunk longer than its pages", file: footerEdit(func(md *pqcompat.Value) { addInt(md, 7, 10) })},
		{name: "a chunk whose values disagree", file: footerEdit(func(md *pqcompat.Value) { addInt(md, 5, 1) })},
		{name: "a dictionary page where no dictionary is said", file: footerEdit(func(md *pqcompat.Value) {
			md.Drop(11)
		})},
		{name: "a codec not copied", file: footerEdit(func(md *pqcompat.Value) { md.Set(4, pqcompat.I32(5)) })},
		{name: "a leaf planned with other levels", change: func(p *pqcopy.Plan) { p.Columns[0].Source = 1 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := src
			if tc.file != nil {
				b, err := os.ReadFile(src)
				if err != nil {
					t.Fatal(err)
				}
				path = filepath.Join(t.TempDir(), "bad.parquet")
				if err := os.WriteFile(path, tc.file(t, b), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := copyFile(t, path, tc.change)
			if !errors.Is(err, pqcopy.ErrUnfit) {
				t.Fatalf("copy: %v, want ErrUnfit", err)
			}
		})
	}
}

// flipInFirstPage changes one byte in the body of the file's first page.
func flipInFirstPage(tb testing.TB, b []byte) []byte {
	tb.Helper()
	_, n, err := pqcompat.DecodeStruct(b[4:], 0)
	if err != nil {
		tb.Fatal(err)
	}
	b[4+n+1] ^= 0x40
	return b
}

// footerEdit changes the first column chunk's metadata of the first row
// group in a file's footer.
func footerEdit(edit func(md *pqcompat.Value)) func(testing.TB, []byte) []byte {
	return func(tb testing.TB, b []byte) []byte {
		tb.Helper()
		n := int(binary.LittleEndian.Uint32(b[len(b)-8:]))
		body, foot := b[:len(b)-8-n], b[len(b)-8-n:len(b)-8]
		v, _, err := pqcompat.DecodeStruct(foot, 0)
		if err != nil {
			tb.Fatal(err)
		}
		chunk := &v.Get(4).Elems[0].Get(1).Elems[1] // the second column: it has a dictionary
		edit(chunk.Get(3))
		out := v.Encode(append([]byte{}, body...))
		out = binary.LittleEndian.AppendUint32(out, uint32(len(out)-len(body)))
		return append(out, "PAR1"...)
	}
}

func addInt(v *pqcompat.Value, id int16, d int64) {
	f := v.Get(id)
	f.Int += d
}
