package pqencode_test

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/pqencode"
)

// feedSchema has every type and nesting the package writes: the shape of
// a converted JSON feed (nested objects, lists of objects).
var feedSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "uuid", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	{Name: "day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "required", Type: arrow.PrimitiveTypes.Int64},
	{Name: "payload", Nullable: true, Type: arrow.StructOf(
		arrow.Field{Name: "status", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "total", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		arrow.Field{Name: "contact", Nullable: true, Type: arrow.StructOf(
			arrow.Field{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true},
			arrow.Field{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		)},
		arrow.Field{Name: "items", Nullable: true, Type: arrow.ListOfField(arrow.Field{Name: "element", Nullable: true, Type: arrow.StructOf(
			arrow.Field{Name: "desc", Type: arrow.BinaryTypes.String, Nullable: true},
			arrow.Field{Name: "qty", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		)})},
		arrow.Field{Name: "tags", Nullable: true, Type: arrow.ListOfField(arrow.Field{Name: "element", Type: arrow.BinaryTypes.String, Nullable: true})},
	)},
}, nil)

// feed makes a batch of n rows of feedSchema from seed: nulls at every
// level, empty and null lists, NaN, ±0 and infinities, empty and long
// strings, many distinct values in uuid and few in name.
func feed(tb testing.TB, seed uint64, n int) arrow.RecordBatch {
	tb.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	b := array.NewRecordBuilder(memory.DefaultAllocator, feedSchema)
	defer b.Release()
	null := func(p int) bool { return r.IntN(100) < p }
	for i := range n {
		appendOr(null(5), b.Field(0), func() { b.Field(0).(*array.Int64Builder).Append(r.Int64N(1<<40) - 1<<39) })
		appendOr(null(10), b.Field(1), func() { b.Field(1).(*array.StringBuilder).Append(names[r.IntN(len(names))]) })
		appendOr(null(2), b.Field(2), func() { b.Field(2).(*array.StringBuilder).Append(fmt.Sprintf("%016x-%d", r.Uint64(), i)) })
		appendOr(null(5), b.Field(3), func() { b.Field(3).(*array.Float64Builder).Append(amount(r)) })
		appendOr(null(20), b.Field(4), func() { b.Field(4).(*array.BooleanBuilder).Append(r.IntN(2) == 0) })
		appendOr(null(5), b.Field(5), func() { b.Field(5).(*array.Date32Builder).Append(arrow.Date32(r.IntN(40000) - 10000)) })
		appendOr(null(5), b.Field(6), func() { b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(r.Int64())) })
		b.Field(7).(*array.Int64Builder).Append(int64(i % 7))
		payload(r, b.Field(8).(*array.StructBuilder), null)
	}
	return b.NewRecordBatch()
}

var names = []string{"", "quickbooks", "netsuite", "xero", "sage", "é ü ñ", strings.Repeat("long ", 1000)}

func amount(r *rand.Rand) float64 {
	switch r.IntN(20) {
	case 0:
		return math.NaN()
	case 1:
		return math.Copysign(0, -1)
	case 2:
		return 0
	case 3:
		return math.Inf(1 - 2*r.IntN(2))
	}
	return float64(r.IntN(1_000_000)) / 100
}

func appendOr(null bool, b array.Builder, fn func()) {
	if null {
		b.AppendNull()
		return
	}
	fn()
}

func payload(r *rand.Rand, sb *array.StructBuilder, null func(int) bool) {
	if null(10) {
		sb.AppendNull()
		return
	}
	sb.Append(true)
	appendOr(null(10), sb.FieldBuilder(0), func() { sb.FieldBuilder(0).(*array.StringBuilder).Append(names[r.IntN(3)]) })
	appendOr(null(10), sb.FieldBuilder(1), func() { sb.FieldBuilder(1).(*array.Float64Builder).Append(float64(r.IntN(1e6)) / 100) })
	cb := sb.FieldBuilder(2).(*array.StructBuilder)
	if null(20) {
		cb.AppendNull()
	} else {
		cb.Append(true)
		appendOr(null(10), cb.FieldBuilder(0), func() { cb.FieldBuilder(0).(*array.StringBuilder).Append(fmt.Sprint(r.IntN(50))) })
		appendOr(null(10), cb.FieldBuilder(1), func() { cb.FieldBuilder(1).(*array.Int64Builder).Append(r.Int64N(100)) })
	}
	items(r, sb.FieldBuilder(3).(*array.ListBuilder), null)
	tags(r, sb.FieldBuilder(4).(*array.ListBuilder), null)
}

func items(r *rand.Rand, lb *array.ListBuilder, null func(int) bool) {
	if null(10) {
		lb.AppendNull()
		return
	}
	lb.Append(true)
	eb := lb.ValueBuilder().(*array.StructBuilder)
	for range r.IntN(4) {
		if null(10) {
			eb.AppendNull()
			continue
		}
		eb.Append(true)
		appendOr(null(10), eb.FieldBuilder(0), func() { eb.FieldBuilder(0).(*array.StringBuilder).Append(names[r.IntN(len(names))]) })
		appendOr(null(10), eb.FieldBuilder(1), func() { eb.FieldBuilder(1).(*array.Int64Builder).Append(r.Int64N(30)) })
	}
}

func tags(r *rand.Rand, lb *array.ListBuilder, null func(int) bool) {
	if null(30) {
		lb.AppendNull()
		return
	}
	lb.Append(true)
	vb := lb.ValueBuilder().(*array.StringBuilder)
	for range r.IntN(3) {
		appendOr(null(10), vb, func() { vb.Append(names[r.IntN(4)]) })
	}
}

// shapes are the options tried: arrow-go's defaults, and limits small
// enough for many pages, row groups and dictionary fallbacks.
func shapes() map[string]pqencode.Options {
	def := pqencode.DefaultOptions()
	small := def
	small.RowGroupRows, small.PageBytes, small.DictionaryBytes, small.MaxStatsBytes = 1500, 4<<10, 2<<10, 64
	plain := def
	plain.NoDictionary = []bool{true, false, true, true, true, true, true}
	serial := small
	serial.Parallel = 1
	return map[string]pqencode.Options{"defaults": def, "small": small, "plain": plain, "serial": serial}
}

func write(tb testing.TB, path string, opt pqencode.Options, recs ...arrow.RecordBatch) {
	tb.Helper()
	var buf bytes.Buffer
	w, err := pqencode.NewWriter(&buf, recs[0].Schema(), opt)
	if err != nil {
		tb.Fatal(err)
	}
	for _, rec := range recs {
		if err := w.Write(rec); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// writeArrowGo writes recs with arrow-go's writer, as pqencode's options say.
func writeArrowGo(tb testing.TB, path string, opt pqencode.Options, recs ...arrow.RecordBatch) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithCompressionLevel(opt.ZstdLevel),
		parquet.WithMaxRowGroupLength(opt.RowGroupRows), parquet.WithDataPageSize(opt.PageBytes),
		parquet.WithDictionaryPageSizeLimit(opt.DictionaryBytes), parquet.WithMaxStatsSize(opt.MaxStatsBytes))
	fw, err := pqarrow.NewFileWriter(recs[0].Schema(), f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		tb.Fatal(err)
	}
	for _, rec := range recs {
		if err := fw.WriteBuffered(rec); err != nil {
			tb.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		tb.Fatal(err)
	}
}

func readTable(tb testing.TB, path string) arrow.Table {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	pf, err := file.NewParquetReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1000}, memory.DefaultAllocator)
	if err != nil {
		tb.Fatal(err)
	}
	tbl, err := fr.ReadTable(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(tbl.Release)
	return tbl
}

// batches are the test's input: batches of several sizes, one a slice
// (arrays at an offset).
func batches(tb testing.TB, seed uint64) []arrow.RecordBatch {
	tb.Helper()
	var out []arrow.RecordBatch
	for i, n := range []int{1, 2500, 0, 4000, 777} {
		out = append(out, feed(tb, seed+uint64(i), n))
	}
	big := feed(tb, seed+9, 3000)
	out = append(out, big.NewSlice(1001, 2999))
	big.Release()
	tb.Cleanup(func() {
		for _, r := range out {
			r.Release()
		}
	})
	return out
}

func TestRoundTrip(t *testing.T) {
	for name, opt := range shapes() {
		t.Run(name, func(t *testing.T) {
			recs := batches(t, 7)
			path := filepath.Join(t.TempDir(), "out.parquet")
			write(t, path, opt, recs...)
			got := readTable(t, path)
			want := array.NewTableFromRecords(feedSchema, recs)
			defer want.Release()
			sameTable(t, want, got)
		})
	}
}

// sameTable compares every value: floats by their bits (NaN and -0 too).
func sameTable(tb testing.TB, want, got arrow.Table) {
	tb.Helper()
	for i, f := range want.Schema().Fields() {
		g := got.Schema().Field(i)
		if g.Name != f.Name || g.Nullable != f.Nullable || !arrow.TypeEqual(g.Type, f.Type) {
			tb.Fatalf("field %d read back as %s, written as %s", i, g, f)
		}
	}
	if got.NumRows() != want.NumRows() {
		tb.Fatalf("%d rows read back, %d written", got.NumRows(), want.NumRows())
	}
	for i := range int(want.NumCols()) {
		w, err := array.Concatenate(want.Column(i).Data().Chunks(), memory.DefaultAllocator)
		if err != nil {
			tb.Fatal(err)
		}
		g, err := array.Concatenate(got.Column(i).Data().Chunks(), memory.DefaultAllocator)
		if err != nil {
			tb.Fatal(err)
		}
		if !sameArray(w, g) {
			tb.Errorf("column %s differs", want.Schema().Field(i).Name)
		}
		w.Release()
		g.Release()
	}
}

func sameArray(w, g arrow.Array) bool {
	wf, ok := w.(*array.Float64)
	if !ok {
		return array.Equal(w, g)
	}
	gf := g.(*array.Float64)
	for i := range wf.Len() {
		if wf.IsNull(i) != gf.IsNull(i) || !wf.IsNull(i) && math.Float64bits(wf.Value(i)) != math.Float64bits(gf.Value(i)) {
			return false
		}
	}
	return wf.Len() == gf.Len()
}

// TestStatisticsAsArrowGo checks each chunk's value count, null count,
// min and max against arrow-go's writer's for the same batches.
func TestStatisticsAsArrowGo(t *testing.T) {
	for name, opt := range shapes() {
		t.Run(name, func(t *testing.T) {
			recs := batches(t, 11)
			dir := t.TempDir()
			ours, theirs := filepath.Join(dir, "ours.parquet"), filepath.Join(dir, "theirs.parquet")
			write(t, ours, opt, recs...)
			writeArrowGo(t, theirs, opt, recs...)
			a, b := openMeta(t, ours), openMeta(t, theirs)
			if a.NumRowGroups() != b.NumRowGroups() {
				t.Fatalf("%d row groups, arrow-go writes %d", a.NumRowGroups(), b.NumRowGroups())
			}
			for i := range a.NumRowGroups() {
				for j := range a.MetaData().Schema.NumColumns() {
					sameChunkStats(t, a, b, i, j)
				}
			}
		})
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

func sameChunkStats(tb testing.TB, a, b *file.Reader, rg, col int) {
	tb.Helper()
	ca, err := a.MetaData().RowGroup(rg).ColumnChunk(col)
	if err != nil {
		tb.Fatal(err)
	}
	cb, err := b.MetaData().RowGroup(rg).ColumnChunk(col)
	if err != nil {
		tb.Fatal(err)
	}
	where := fmt.Sprintf("row group %d column %s", rg, ca.PathInSchema())
	if ca.NumValues() != cb.NumValues() {
		tb.Errorf("%s: %d values, arrow-go %d", where, ca.NumValues(), cb.NumValues())
	}
	sa, err := ca.Statistics()
	if err != nil || sa == nil {
		tb.Fatalf("%s: no statistics: %v", where, err)
	}
	sb, err := cb.Statistics()
	if err != nil || sb == nil {
		tb.Fatalf("%s: arrow-go wrote no statistics: %v", where, err)
	}
	if !sa.HasMinMax() && sb.HasMinMax() && (len(sb.EncodeMin()) == 0 || len(sb.EncodeMax()) == 0) {
		// A bound past MaxStatsBytes: arrow-go drops that one only and
		// reads it back as empty (a wrong max); pqencode drops both
		// (TestLongBoundsAreLeftOut).
		return
	}
	if sa.HasMinMax() && !sb.HasMinMax() && len(sa.EncodeMin()) == 0 {
		// An empty string as the min: arrow-go leaves the bounds out of
		// some such chunks (seen in lists); DuckDB reads pqencode's as the
		// values' true min and max.
		return
	}
	if sa.NullCount() != sb.NullCount() || sa.HasMinMax() != sb.HasMinMax() {
		tb.Errorf("%s: nulls %d, min/max %v (%q %q); arrow-go %d, %v (%q %q)", where, sa.NullCount(), sa.HasMinMax(), sa.EncodeMin(), sa.EncodeMax(), sb.NullCount(), sb.HasMinMax(), sb.EncodeMin(), sb.EncodeMax())
		return
	}
	if sa.HasMinMax() && (!bytes.Equal(sa.EncodeMin(), sb.EncodeMin()) || !bytes.Equal(sa.EncodeMax(), sb.EncodeMax())) {
		tb.Errorf("%s: min %x max %x; arrow-go %x %x", where, sa.EncodeMin(), sa.EncodeMax(), sb.EncodeMin(), sb.EncodeMax())
	}
}

// TestDuckDBReadsTheSameRows: DuckDB, an independent reader, finds the
// same rows in pqencode's file as in arrow-go's, both ways.
func TestDuckDBReadsTheSameRows(t *testing.T) {
	for name, opt := range shapes() {
		t.Run(name, func(t *testing.T) {
			recs := batches(t, 13)
			dir := t.TempDir()
			ours, theirs := filepath.Join(dir, "ours.parquet"), filepath.Join(dir, "theirs.parquet")
			write(t, ours, opt, recs...)
			writeArrowGo(t, theirs, opt, recs...)
			rows := lakefixture.DuckDB(t, fmt.Sprintf(`SELECT
				(SELECT count(*) FROM '%[1]s') AS n,
				(SELECT count(*) FROM (SELECT * FROM '%[1]s' EXCEPT ALL SELECT * FROM '%[2]s')) AS extra,
				(SELECT count(*) FROM (SELECT * FROM '%[2]s' EXCEPT ALL SELECT * FROM '%[1]s')) AS missing`, ours, theirs))
			want := fmt.Sprint(array.NewTableFromRecords(feedSchema, recs).NumRows())
			if fmt.Sprint(rows[0]["n"]) != want || fmt.Sprint(rows[0]["extra"]) != "0" || fmt.Sprint(rows[0]["missing"]) != "0" {
				t.Fatalf("DuckDB: %v, want %s rows, none extra or missing", rows, want)
			}
		})
	}
}

// TestLongBoundsAreLeftOut: a chunk whose min or max is longer than
// MaxStatsBytes has neither in its statistics (a reader must not take a
// missing max for an empty one); within the limit, both are there.
func TestLongBoundsAreLeftOut(t *testing.T) {
	sc := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	for name, tc := range map[string]struct {
		values []string
		bounds bool
	}{
		"long max":  {[]string{"", strings.Repeat("z", 17)}, false},
		"long min":  {[]string{strings.Repeat("a", 17), "b"}, false},
		"within":    {[]string{"", strings.Repeat("z", 16)}, true},
		"all nulls": {nil, false},
	} {
		t.Run(name, func(t *testing.T) {
			b := array.NewStringBuilder(memory.DefaultAllocator)
			b.AppendValues(tc.values, nil)
			b.AppendNull()
			col := b.NewArray()
			rec := array.NewRecordBatch(sc, []arrow.Array{col}, int64(col.Len()))
			defer rec.Release()
			opt := pqencode.DefaultOptions()
			opt.MaxStatsBytes = 16
			path := filepath.Join(t.TempDir(), "s.parquet")
			write(t, path, opt, rec)
			cc, err := openMeta(t, path).MetaData().RowGroup(0).ColumnChunk(0)
			if err != nil {
				t.Fatal(err)
			}
			st, err := cc.Statistics()
			if err != nil {
				t.Fatal(err)
			}
			if st.HasMinMax() != tc.bounds || st.NullCount() != 1 {
				t.Fatalf("min/max %v (%q, %q), nulls %d; want min/max %v, 1 null", st.HasMinMax(), st.EncodeMin(), st.EncodeMax(), st.NullCount(), tc.bounds)
			}
		})
	}
}
