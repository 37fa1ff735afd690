package orc_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lagoon-dev/lagoon/prepare/orc"
)

// readCrafted opens and reads b whole: the first batch's rows as text
// (one string per row, columns joined by " "), or the first error.
func readCrafted(tb testing.TB, b []byte) ([]string, error) {
	tb.Helper()
	mem := memory.NewCheckedAllocator(memory.DefaultAllocator)
	defer mem.AssertSize(tb, 0)
	of, err := orc.Open(strings.NewReader(string(b)), int64(len(b)))
	if err != nil {
		return nil, err
	}
	r, err := orc.NewReader(of, orc.ReaderOptions{Mem: mem, MaxValues: 1 << 20})
	if err != nil {
		return nil, err
	}
	var rows []string
	for {
		rec, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		for i := range int(rec.NumRows()) {
			var cells []string
			for _, c := range rec.Columns() {
				cells = append(cells, c.ValueStr(i))
			}
			rows = append(rows, strings.Join(cells, " "))
		}
		rec.Release()
	}
}

func intCol(kind orc.Kind, vals ...int64) craftCol {
	return craftCol{kind: kind, streams: []craftStream{{orc.Data, rleV1(true, vals...)}}}
}

// laWall is 2015-07-01 12:00:00 in Los Angeles (daylight time) as an
// ORC writer there stores it: seconds from 2015-01-01 00:00 there.
func laWall() int64 {
	la, _ := time.LoadLocation("America/Los_Angeles")
	return time.Date(2015, 7, 1, 12, 0, 0, 0, la).Unix() - time.Date(2015, 1, 1, 0, 0, 0, 0, la).Unix()
}

// craftedCases are files writers make and files they never would, with
// the rows they read as or the error they are refused with.
func craftedCases() []struct {
	name string
	file craftFile
	rows []string
	err  error
	says string
} {
	dec := craftCol{kind: orc.Decimal, precision: 10, scale: 2}
	return []struct {
		name string
		file craftFile
		rows []string
		err  error
		says string
	}{
		{name: "decimal64 of version 1.9999", file: craftFile{version: []uint64{1, 9999}, rows: 3, cols: []craftCol{structOf("d"),
			{kind: dec.kind, precision: 10, scale: 2, streams: []craftStream{{orc.Data, rleV1(true, 12345, -5, 0)}}}}},
			rows: []string{"123.45", "-0.05", "0"}},
		{name: "decimal of version 0.12 rescaled exactly", file: craftFile{rows: 2, cols: []craftCol{structOf("d"),
			{kind: dec.kind, precision: 10, scale: 2, streams: []craftStream{{orc.Data, varints(5, 12)}, {orc.Secondary, rleV1(true, 0, 1)}}}}},
			rows: []string{"5", "1.2"}},
		{name: "decimal with more digits than its scale", file: craftFile{rows: 1, cols: []craftCol{structOf("d"),
			{kind: dec.kind, precision: 10, scale: 2, streams: []craftStream{{orc.Data, varints(12345)}, {orc.Secondary, rleV1(true, 3)}}}}},
			err: orc.ErrUnsupported, says: "digits after the point"},
		{name: "decimal past its precision", file: craftFile{version: []uint64{1, 9999}, rows: 1, cols: []craftCol{structOf("d"),
			{kind: dec.kind, precision: 3, scale: 0, streams: []craftStream{{orc.Data, rleV1(true, 1000)}}}}},
			err: orc.ErrUnsupported, says: "more than the 3 digits"},
		{name: "timestamp in the writer's daylight time", file: craftFile{rows: 1, tz: "America/Los_Angeles", cols: []craftCol{structOf("t"),
			{kind: orc.Timestamp, streams: []craftStream{{orc.Data, rleV1(true, laWall())}, {orc.Secondary, rleV1(false, 0)}}}}},
			rows: []string{"2015-07-01T12:00:00"}},
		{name: "a writer time zone nobody knows", file: craftFile{rows: 1, tz: "Mars/Olympus_Mons", cols: []craftCol{structOf("t"),
			{kind: orc.Timestamp, streams: []craftStream{{orc.Data, rleV1(true, 0)}, {orc.Secondary, rleV1(false, 0)}}}}},
			err: orc.ErrUnsupported, says: "Mars/Olympus_Mons"},
		{name: "nanoseconds of a second or more", file: craftFile{rows: 1, cols: []craftCol{structOf("t"),
			{kind: orc.Timestamp, streams: []craftStream{{orc.Data, rleV1(true, 0)}, {orc.Secondary, rleV1(false, 1e9<<3)}}}}},
			err: orc.ErrCorrupt, says: "nanoseconds"},
		{name: "a type shared by two parents", file: craftFile{rows: 1, cols: []craftCol{{kind: orc.Struct, subtypes: []uint64{1, 1}, names: []string{"a", "b"}},
			intCol(orc.Int, 1)}},
			err: orc.ErrCorrupt, says: "subtype of two"},
		{name: "lists nested past the depth lagoon reads", file: craftFile{rows: 1, cols: deepLists(orc.MaxDepth + 2)},
			err: orc.ErrUnsupported, says: "deeper"},
		{name: "a null map key", file: craftFile{rows: 1, cols: []craftCol{structOf("m"),
			{kind: orc.Map, subtypes: []uint64{2, 3}, streams: []craftStream{{orc.Length, rleV1(false, 2)}}},
			{kind: orc.Int, streams: []craftStream{{orc.Present, boolRLE(true, false)}, {orc.Data, rleV1(true, 7)}}},
			intCol(orc.Int, 1, 2)}},
			err: orc.ErrUnsupported, says: "map keys are null"},
		{name: "a string that is not UTF-8", file: craftFile{rows: 1, cols: []craftCol{structOf("s"),
			{kind: orc.String, streams: []craftStream{{orc.Data, []byte{0xff, 0xfe}}, {orc.Length, rleV1(false, 2)}}}}},
			err: orc.ErrUnsupported, says: "not UTF-8"},
		{name: "a stripe of more rows than lagoon reads", file: craftFile{rows: 1 << 40, cols: []craftCol{structOf("a"), intCol(orc.Int, 1)}},
			err: orc.ErrUnsupported, says: "rows"},
		{name: "lists of more values than lagoon reads", file: craftFile{rows: 1, cols: []craftCol{structOf("l"),
			{kind: orc.List, subtypes: []uint64{2}, streams: []craftStream{{orc.Length, rleV1(false, 1<<40)}}}, intCol(orc.Int)}},
			err: orc.ErrUnsupported, says: "lists of over"},
		{name: "a union tag past its branches", file: craftFile{rows: 1, cols: []craftCol{structOf("u"),
			{kind: orc.Union, subtypes: []uint64{2}, streams: []craftStream{{orc.Data, byteRLE(3)}}}, intCol(orc.Int)}},
			err: orc.ErrCorrupt, says: "union tag 3"},
		{name: "a smallint out of range", file: craftFile{rows: 1, cols: []craftCol{structOf("s"), intCol(orc.Short, 1<<20)}},
			err: orc.ErrCorrupt, says: "outside"},
		{name: "a date past int32 days", file: craftFile{rows: 1, cols: []craftCol{structOf("d"), intCol(orc.Date, 1<<40)}},
			err: orc.ErrCorrupt, says: "date"},
		{name: "fewer values than rows", file: craftFile{rows: 3, cols: []craftCol{structOf("a"), intCol(orc.Int, 1, 2)}},
			err: orc.ErrCorrupt, says: "2 values for 3"},
		{name: "more rows in the footer than the stripes hold", file: craftFile{rows: 1, footerRows: 5, cols: []craftCol{structOf("a"), intCol(orc.Int, 1)}},
			err: orc.ErrCorrupt, says: "footer says 5"},
		{name: "a union and its branches", file: craftFile{rows: 3, cols: []craftCol{structOf("u"),
			{kind: orc.Union, subtypes: []uint64{2, 3}, streams: []craftStream{{orc.Data, byteRLE(0, 1, 0)}}},
			intCol(orc.Int, 10, 30), {kind: orc.String, streams: []craftStream{{orc.Data, []byte("b")}, {orc.Length, rleV1(false, 1)}}}}},
			rows: []string{`{"field0":10,"field1":null,"tag":0}`, `{"field0":null,"field1":"b","tag":1}`, `{"field0":30,"field1":null,"tag":0}`}},
	}
}

// sampleFile is a file of each column kind that needs streams, for the
// codecs: booleans, ints, a double, strings, a timestamp with local time
// zone (an instant: seconds from 2015-01-01 UTC).
func sampleFile(comp orc.Compression) craftFile {
	strs := []byte(strings.Repeat("lagoon ", 40))
	return craftFile{comp: comp, rows: 2, cols: []craftCol{structOf("b", "i", "s", "t"),
		{kind: orc.Boolean, streams: []craftStream{{orc.Data, boolRLE(true, false)}}},
		intCol(orc.Long, -1, 1<<40),
		{kind: orc.String, streams: []craftStream{{orc.Data, strs}, {orc.Length, rleV1(false, 140, 140)}}},
		{kind: orc.TimestampInstant, streams: []craftStream{{orc.Data, rleV1(true, 0, 86400)}, {orc.Secondary, rleV1(false, 0, 5<<3|0)}}}}}
}

// TestCodecs: a file of every codec ORC has reads the same; LZO, which no
// Go decoder at hand reads, is refused saying so.
func TestCodecs(t *testing.T) {
	half := strings.Repeat("lagoon ", 20)
	want := []string{"true -1 " + half + " 2015-01-01T00:00:00Z", "false 1099511627776 " + half + " 2015-01-02T00:00:00Z"}
	for _, c := range []orc.Compression{orc.None, orc.Zlib, orc.Snappy, orc.Lz4, orc.Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			rows, err := readCrafted(t, sampleFile(c).bytes())
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(rows, "|") != strings.Join(want, "|") {
				t.Errorf("rows = %q\nwant %q", rows, want)
			}
		})
	}
	_, err := readCrafted(t, sampleFile(orc.Lzo).bytes())
	if !errors.Is(err, orc.ErrUnsupported) || !strings.Contains(err.Error(), "lzo") {
		t.Errorf("LZO: %v, want ErrUnsupported naming it", err)
	}
}

// deepLists is a root struct over n lists, each the element of the one
// before, over an int.
func deepLists(n int) []craftCol {
	cols := []craftCol{structOf("l")}
	for i := range n {
		cols = append(cols, craftCol{kind: orc.List, subtypes: []uint64{uint64(i + 2)}, streams: []craftStream{{orc.Length, rleV1(false, 1)}}})
	}
	return append(cols, intCol(orc.Int, 1))
}

// TestCraftedFiles: what writers make reads as it should (decimal64,
// rescaled decimals, a timestamp in daylight time, a union); what they
// never would is refused with a reason, quickly and without the memory a
// corrupt count asks for.
func TestCraftedFiles(t *testing.T) {
	for _, tc := range craftedCases() {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := readCrafted(t, tc.file.bytes())
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.says) {
					t.Fatalf("err = %v, want %v saying %q", err, tc.err, tc.says)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(rows, "|") != strings.Join(tc.rows, "|") {
				t.Errorf("rows = %q, want %q", rows, tc.rows)
			}
		})
	}
}
