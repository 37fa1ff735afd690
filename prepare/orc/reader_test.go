package orc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lagoon-dev/lagoon/internal/fuzzing"
	"github.com/lagoon-dev/lagoon/prepare/orc"
)

// TestReadCorpus: every file of the ORC project's examples that has
// expected rows reads exactly those rows, value for value (timestamps to
// the microsecond, the cut ones counted), through the batch reader.
func TestReadCorpus(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(corpus, "*.orc"))
	for _, p := range paths {
		name := filepath.Base(p)
		if expectedRows(t, name) < 0 {
			continue
		}
		t.Run(name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			defer mem.AssertSize(t, 0)
			of := openCorpus(t, name)
			r, err := orc.NewReader(of, orc.ReaderOptions{Mem: mem, MaxValues: orc.MaxStripeValues})
			if err != nil {
				t.Fatal(err)
			}
			lines := expectedLines(t, name)
			m := &matcher{}
			if v := of.PostScript.Version; len(v) == 2 && v[0] == 0 && v[1] == 11 {
				m.hive11Scale = 6
			}
			got, cut := compareRows(t, r, lines, of.Footer.Types[0].Kind == orc.Struct, m)
			if got != len(lines) {
				t.Errorf("%d rows, want %d", got, len(lines))
			}
			if r.Truncated() != cut {
				t.Errorf("%d timestamps counted as cut, %d were", r.Truncated(), cut)
			}
		})
	}
}

// compareRows reads every batch of r and compares its rows with lines.
// It returns the rows read and how many expected timestamps had digits
// past microseconds.
func compareRows(t *testing.T, r *orc.Reader, lines []string, isStruct bool, m *matcher) (int, int64) {
	t.Helper()
	row := 0
	for {
		rec, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return row, m.cut
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < int(rec.NumRows()); i, row = i+1, row+1 {
			if row >= len(lines) {
				break
			}
			exp := decodeLine(t, lines[row])
			if !isStruct {
				exp = map[string]any{orc.RootColumn: exp}
			}
			if err := m.row(exp.(map[string]any), rec, i); err != nil {
				rec.Release()
				t.Fatalf("row %d: %v\nwant %s", row, err, lines[row])
			}
		}
		rec.Release()
	}
}

func decodeLine(t *testing.T, line string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(line))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("expected row %s: %v", line, err)
	}
	return v
}

// matcher compares expected values (as the ORC project's reader prints
// them) with Arrow values, counting timestamps cut to microseconds.
//
// The ORC project's C++ reader cuts the decimals of Hive 0.11 files
// (which carry no scale) to 6 digits after the point
// (forcedScaleOnHive11Decimal); lagoon keeps every digit. For those,
// hive11Scale is 6 and lagoon's value, cut the same way, must match.
type matcher struct {
	cut         int64
	hive11Scale int
}

func (m *matcher) row(exp map[string]any, rec arrow.RecordBatch, i int) error {
	if len(exp) != int(rec.NumCols()) {
		return fmt.Errorf("%d columns, want %d", rec.NumCols(), len(exp))
	}
	for c, f := range rec.Schema().Fields() {
		want, ok := exp[f.Name]
		if !ok {
			return fmt.Errorf("column %s is not expected", f.Name)
		}
		if err := m.value(want, rec.Column(c), i); err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return nil
}

func (m *matcher) value(exp any, arr arrow.Array, i int) error {
	if exp == nil || arr.IsNull(i) {
		if exp == nil && arr.IsNull(i) {
			return nil
		}
		return fmt.Errorf("%v, want %v", arr.ValueStr(i), exp)
	}
	switch a := arr.(type) {
	case *array.Struct:
		return m.structValue(exp, a, i)
	case *array.Map:
		return m.mapValue(exp, a, i)
	case *array.List:
		return m.listValue(exp, a, i)
	}
	return m.scalar(exp, arr, i)
}

func (m *matcher) structValue(exp any, a *array.Struct, i int) error {
	obj, ok := exp.(map[string]any)
	if !ok {
		return fmt.Errorf("a struct, want %v", exp)
	}
	st := a.DataType().(*arrow.StructType)
	if st.Field(0).Name == "tag" && len(obj) == 2 && obj["tag"] != nil { // a union
		tag := int(a.Field(0).(*array.Int32).Value(i))
		if fmt.Sprint(obj["tag"]) != strconv.Itoa(tag) {
			return fmt.Errorf("tag %d, want %v", tag, obj["tag"])
		}
		for b := 1; b < a.NumField(); b++ {
			if b != tag+1 && !a.Field(b).IsNull(i) {
				return fmt.Errorf("branch %d set beside tag %d", b-1, tag)
			}
		}
		return m.value(obj["value"], a.Field(tag+1), i)
	}
	for f := range a.NumField() {
		if err := m.value(obj[st.Field(f).Name], a.Field(f), i); err != nil {
			return fmt.Errorf("%s: %w", st.Field(f).Name, err)
		}
	}
	return nil
}

func (m *matcher) listValue(exp any, a *array.List, i int) error {
	items, ok := exp.([]any)
	start, end := a.ValueOffsets(i)
	if !ok || int64(len(items)) != end-start {
		return fmt.Errorf("a list of %d, want %v", end-start, exp)
	}
	for k := range items {
		if err := m.value(items[k], a.ListValues(), int(start)+k); err != nil {
			return fmt.Errorf("[%d]: %w", k, err)
		}
	}
	return nil
}

func (m *matcher) mapValue(exp any, a *array.Map, i int) error {
	items, ok := exp.([]any)
	start, end := a.ValueOffsets(i)
	if !ok || int64(len(items)) != end-start {
		return fmt.Errorf("a map of %d, want %v", end-start, exp)
	}
	for k := range items {
		kv, _ := items[k].(map[string]any)
		if err := m.value(kv["key"], a.Keys(), int(start)+k); err != nil {
			return fmt.Errorf("key %d: %w", k, err)
		}
		if err := m.value(kv["value"], a.Items(), int(start)+k); err != nil {
			return fmt.Errorf("value %d: %w", k, err)
		}
	}
	return nil
}

func (m *matcher) scalar(exp any, arr arrow.Array, i int) error {
	var ok bool
	switch a := arr.(type) {
	case *array.Boolean:
		ok = exp == a.Value(i)
	case *array.Int32:
		ok = fmt.Sprint(exp) == strconv.FormatInt(int64(a.Value(i)), 10)
	case *array.Int64:
		ok = fmt.Sprint(exp) == strconv.FormatInt(a.Value(i), 10)
	case *array.Float32:
		ok = samePrinted(fmt.Sprint(exp), float64(a.Value(i)), 7)
	case *array.Float64:
		ok = samePrinted(fmt.Sprint(exp), a.Value(i), 14)
	case *array.String:
		ok = exp == a.Value(i)
	case *array.Binary:
		ok = fmt.Sprint(exp) == byteList(a.Value(i))
	case *array.Date32:
		ok = exp == a.Value(i).ToTime().Format(time.DateOnly)
	case *array.Decimal128:
		ok = sameDecimal(fmt.Sprint(exp), a, i, m.hive11Scale)
	case *array.Timestamp:
		var cut bool
		ok, cut = m.sameTimestamp(fmt.Sprint(exp), a.Value(i))
		if cut {
			m.cut++
		}
	default:
		return fmt.Errorf("type %s not compared", arr.DataType())
	}
	if !ok {
		return fmt.Errorf("%s, want %v", arr.ValueStr(i), exp)
	}
	return nil
}

// samePrinted compares a float with its expected text, which the C++
// reader prints with digits significant digits (%.7g for floats, %.14g
// for doubles).
func samePrinted(exp string, v float64, digits int) bool {
	want, err := strconv.ParseFloat(exp, 64)
	got, err2 := strconv.ParseFloat(fmt.Sprintf("%.*g", digits, v), 64)
	return err == nil && err2 == nil && (want == got || math.IsNaN(want) && math.IsNaN(got))
}

func byteList(b []byte) string {
	s := make([]string, len(b))
	for i, c := range b {
		s[i] = strconv.Itoa(int(c))
	}
	return "[" + strings.Join(s, " ") + "]"
}

func sameDecimal(exp string, a *array.Decimal128, i int, forced int) bool {
	want, ok := new(big.Rat).SetString(exp)
	if !ok {
		return false
	}
	scale := int64(a.DataType().(*arrow.Decimal128Type).Scale)
	v := a.Value(i).BigInt()
	if forced > 0 && int64(forced) < scale {
		v.Quo(v, pow10(scale-int64(forced))) // towards zero, as the C++ reader cuts
		scale = int64(forced)
	}
	return want.Cmp(new(big.Rat).SetFrac(v, pow10(scale))) == 0
}

func pow10(n int64) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(n), nil) }

// sameTimestamp compares "2006-01-02 15:04:05.123456789" with µs since
// the epoch; cut says the expected value had digits past microseconds.
func (m *matcher) sameTimestamp(exp string, us arrow.Timestamp) (ok, cut bool) {
	wall, frac, _ := strings.Cut(exp, ".")
	t, err := time.Parse(time.DateTime, wall)
	if err != nil {
		return false, false
	}
	frac = (frac + "000000000")[:9]
	nanos, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return false, false
	}
	want := t.Unix()*1_000_000 + nanos/1000
	return want == int64(us), nanos%1000 != 0
}

// readAll reads every row of of, returning how many, or the first error.
func readAll(of *orc.File, opt orc.ReaderOptions) (int64, error) {
	r, err := orc.NewReader(of, opt)
	if err != nil {
		return 0, err
	}
	var n int64
	for {
		rec, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n += rec.NumRows()
		rec.Release()
	}
}

// TestReadWithoutExpectedRows: demo-12-zlib (no expected rows here) reads
// the 1,920,800 rows its footer declares.
func TestReadWithoutExpectedRows(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(t, 0)
	n, err := readAll(openCorpus(t, "demo-12-zlib.orc"), orc.ReaderOptions{Mem: mem, MaxValues: orc.MaxStripeValues})
	if err != nil || n != 1920800 {
		t.Fatalf("%d Rows: %v", n, err)
	}
}

// TestCorruptFilesRefused: the ORC project's corrupt files are refused
// with a reason that says the file is corrupt.
func TestCorruptFilesRefused(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(corpus, "corrupt", "*.orc"))
	if len(paths) == 0 {
		t.Fatal("no corrupt corpus")
	}
	for _, p := range paths {
		name := filepath.Join("corrupt", filepath.Base(p))
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		of, err := orc.Open(f, st.Size())
		if err == nil {
			_, err = readAll(of, orc.DefaultReaderOptions())
		}
		f.Close()
		if !errors.Is(err, orc.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// FuzzRead: any bytes read to their end or fail with ErrCorrupt or
// ErrUnsupported, within budget, and the reader frees what it allocates.
// Seeded with the corpus files under 64 KiB and the crafted files, and read with at most 64K
// values a column (more is a fine error) so that it runs fast.
func FuzzRead(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(corpus, "*.orc"))
	more, _ := filepath.Glob(filepath.Join(corpus, "corrupt", "*.orc"))
	for _, p := range append(paths, more...) {
		if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
			f.Add(b)
		}
	}
	for _, tc := range craftedCases() {
		f.Add(tc.file.Bytes())
	}
	for _, c := range []orc.Compression{orc.Zlib, orc.Snappy, orc.Lz4, orc.Zstd} {
		f.Add(sampleFile(c).Bytes())
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzing.MaxInput {
			return
		}
		fuzzing.Within(t, "Read", func() {
			mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
			of, err := orc.Open(strings.NewReader(string(b)), int64(len(b)))
			if err == nil {
				_, err = readAll(of, orc.ReaderOptions{Mem: mem, MaxValues: 1 << 16})
			}
			if err != nil && !errors.Is(err, orc.ErrCorrupt) && !errors.Is(err, orc.ErrUnsupported) {
				t.Fatalf("error is neither ErrCorrupt nor ErrUnsupported: %v", err)
			}
			mem.AssertSize(t, 0)
		})
	})
}

// peakAllocator tracks the most bytes allocated at once.
type peakAllocator struct {
	memory.Allocator
	cur, peak int
}

func (a *peakAllocator) Allocate(n int) []byte {
	a.cur += n
	a.peak = max(a.peak, a.cur)
	return a.Allocator.Allocate(n)
}

func (a *peakAllocator) Reallocate(n int, b []byte) []byte {
	a.cur += n - len(b)
	a.peak = max(a.peak, a.cur)
	return a.Allocator.Reallocate(n, b)
}

func (a *peakAllocator) Free(b []byte) {
	a.cur -= len(b)
	a.Allocator.Free(b)
}

// TestMemoryBoundedByStripe: reading a file of 8 stripes holds about one
// stripe's values at a time, not the file's (batches released as read).
func TestMemoryBoundedByStripe(t *testing.T) {
	mem := &peakAllocator{Allocator: memory.NewGoAllocator()}
	of := openCorpus(t, "TestOrcFile.testDate1900.orc")
	r, err := orc.NewReader(of, orc.ReaderOptions{Mem: mem, MaxValues: orc.MaxStripeValues})
	if err != nil {
		t.Fatal(err)
	}
	var total, largest int
	for {
		rec, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range rec.Columns() {
			n += dataSize(c.Data())
		}
		total, largest = total+n, max(largest, n)
		rec.Release()
	}
	if len(of.Footer.Stripes) < 4 || mem.peak > 3*largest || mem.peak > total/2 {
		t.Errorf("peak %d bytes for %d stripes of %d in all, the largest %d", mem.peak, len(of.Footer.Stripes), total, largest)
	}
	t.Logf("peak %d bytes; %d stripes, %d bytes in all, the largest %d", mem.peak, len(of.Footer.Stripes), total, largest)
}

// dataSize is the bytes of d's buffers and its children's.
func dataSize(d arrow.ArrayData) int {
	n := 0
	for _, b := range d.Buffers() {
		if b != nil {
			n += b.Len()
		}
	}
	for _, c := range d.Children() {
		n += dataSize(c)
	}
	return n
}
