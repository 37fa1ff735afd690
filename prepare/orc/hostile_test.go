package orc_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/internal/orccraft"

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

func intCol(kind orc.Kind, vals ...int64) orccraft.Column {
	return orccraft.Column{Kind: kind, Streams: []orccraft.Stream{{Kind: orc.Data, Data: orccraft.RLEv1(true, vals...)}}}
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
	file orccraft.File
	rows []string
	err  error
	says string
} {
	dec := orccraft.Column{Kind: orc.Decimal, Precision: 10, Scale: 2}
	return []struct {
		name string
		file orccraft.File
		rows []string
		err  error
		says string
	}{
		{name: "decimal64 of version 1.9999", file: orccraft.File{Version: []uint64{1, 9999}, Rows: 3, Cols: []orccraft.Column{orccraft.StructOf("d"),
			{Kind: dec.Kind, Precision: 10, Scale: 2, Streams: []orccraft.Stream{{Kind: orc.Data, Data: orccraft.RLEv1(true, 12345, -5, 0)}}}}},
			rows: []string{"123.45", "-0.05", "0"}},
		{name: "decimal of version 0.12 rescaled exactly", file: orccraft.File{Rows: 2, Cols: []orccraft.Column{orccraft.StructOf("d"),
			{Kind: dec.Kind, Precision: 10, Scale: 2, Streams: []orccraft.Stream{{Kind: orc.Data, Data: orccraft.Varints(5, 12)}, {Kind: orc.Secondary, Data: orccraft.RLEv1(true, 0, 1)}}}}},
			rows: []string{"5", "1.2"}},
		{name: "decimal with more digits than its scale", file: orccraft.File{Rows: 1, Cols: []orccraft.Column{orccraft.StructOf("d"),
			{Kind: dec.Kind, Precision: 10, Scale: 2, Streams: []orccraft.Stream{{Kind: orc.Data, Data: orccraft.Varints(12345)}, {Kind: orc.Secondary, Data: orccraft.RLEv1(true, 3)}}}}},
			err: orc.ErrUnsupported, says: "digits after the point"},
		{name: "decimal past its precision", file: orccraft.File{Version: []uint64{1, 9999}, Rows: 1, Cols: []orccraft.Column{orccraft.StructOf("d"),
			{Kind: dec.Kind, Precision: 3, Scale: 0, Streams: []orccraft.Stream{{Kind: orc.Data, Data: orccraft.RLEv1(true, 1000)}}}}},
			err: orc.ErrUnsupported, says: "more than the 3 digits"},
		{name: "timestamp in the writer's daylight time", file: orccraft.File{Rows: 1, TZ: "America/Los_Angeles", Cols: []orccraft.Column{orccraft.StructOf("t"),
			{Kind: orc.Timestamp, Streams: []orccraft.Stream{{Kind: orc.Data, Data: orccraft.RLEv1(true, laWall())}, {Kind: orc.Secondary, Data: orccraft.RLEv1(false, 0)}}}}},
			rows: []string{"2015-07-01T12:00:00"}},
		{name: "a writer time zone nobody knows", file: orccraft.File{Rows: 1, TZ: "Mars/Olympus_Mons", Cols: []orccraft.Column{orccraft.StructOf("t"),
			{Kind: orc.Timestamp, Streams: []orccraft.Stream{{Kind: orc.Data, Data: orccraft.RLEv1(true, 0)}, {Kind: orc.Secondary, Data: orccraft.RLEv1(false, 0)}}}}},
			err: orc.ErrUnsupported, says: "Mars/Olympus_Mons"},
		{name: "nanoseconds of a second or more", file: orccraft.File{Rows: 1, Cols: []orccraft.Column{orccraft.StructOf("t"),
			{Kind: orc.Timestamp, Streams: []orccraft.Stream{{Kind: orc.Data, Data: orccraft.RLEv1(true, 0)}, {Kind: orc.Secondary, Data: orccraft.RLEv1(false, 1e9<<3)}}}}},
			err: orc.ErrCorrupt, says: "nanoseconds"},
		{name: "a type shared by two parents", file: orccraft.File{Rows: 1, Cols: []orccraft.Column{{Kind: orc.Struct, Subtypes: []uint64{1, 1}, Names: []string{"a", "b"}},
			intCol(orc.Int, 1)}},
			err: orc.ErrCorrupt, says: "subtype of two"},
		{name: "lists nested past the depth lagoon reads", file: orccraft.File{Rows: 1, Cols: deepLists(orc.MaxDepth + 2)},
			err: orc.ErrUnsupported, says: "deeper"},
		{name: "a null map key", file: orccraft.File{Rows: 1, Cols: []orccraft.Column{orccraft.StructOf("m"),
			{Kind: orc.Map, Subtypes: []uint64{2, 3}, Streams: []orccraft.Stream{{Kind: orc.Length, Data: orccraft.RLEv1(false, 2)}}},
			{Kind: orc.Int, Streams: []orccraft.Stream{{Kind: orc.Present, Data: orccraft.BoolRLE(true, false)}, {Kind: orc.Data, Data: orccraft.RLEv1(true, 7)}}},
			intCol(orc.Int, 1, 2)}},
			err: orc.ErrUnsupported, says: "map keys are null"},
		{name: "a string that is not UTF-8", file: orccraft.File{Rows: 1, Cols: []orccraft.Column{orccraft.StructOf("s"),
			{Kind: orc.String, Streams: []orccraft.Stream{{Kind: orc.Data, Data: []byte{0xff, 0xfe}}, {Kind: orc.Length, Data: orccraft.RLEv1(false, 2)}}}}},
			err: orc.ErrUnsupported, says: "not UTF-8"},
		{name: "a stripe of more rows than lagoon reads", file: orccraft.File{Rows: 1 << 40, Cols: []orccraft.Column{orccraft.StructOf("a"), intCol(orc.Int, 1)}},
			err: orc.ErrUnsupported, says: "rows"},
		{name: "lists of more values than lagoon reads", file: orccraft.File{Rows: 1, Cols: []orccraft.Column{orccraft.StructOf("l"),
			{Kind: orc.List, Subtypes: []uint64{2}, Streams: []orccraft.Stream{{Kind: orc.Length, Data: orccraft.RLEv1(false, 1<<40)}}}, intCol(orc.Int)}},
			err: orc.ErrUnsupported, says: "lists of over"},
		{name: "a union tag past its branches", file: orccraft.File{Rows: 1, Cols: []orccraft.Column{orccraft.StructOf("u"),
			{Kind: orc.Union, Subtypes: []uint64{2}, Streams: []orccraft.Stream{{Kind: orc.Data, Data: orccraft.ByteRLE(3)}}}, intCol(orc.Int)}},
			err: orc.ErrCorrupt, says: "union tag 3"},
		{name: "a smallint out of range", file: orccraft.File{Rows: 1, Cols: []orccraft.Column{orccraft.StructOf("s"), intCol(orc.Short, 1<<20)}},
			err: orc.ErrCorrupt, says: "outside"},
		{name: "a date past int32 days", file: orccraft.File{Rows: 1, Cols: []orccraft.Column{orccraft.StructOf("d"), intCol(orc.Date, 1<<40)}},
			err: orc.ErrCorrupt, says: "date"},
		{name: "fewer values than rows", file: orccraft.File{Rows: 3, Cols: []orccraft.Column{orccraft.StructOf("a"), intCol(orc.Int, 1, 2)}},
			err: orc.ErrCorrupt, says: "2 values for 3"},
		{name: "more rows in the footer than the stripes hold", file: orccraft.File{Rows: 1, FooterRows: 5, Cols: []orccraft.Column{orccraft.StructOf("a"), intCol(orc.Int, 1)}},
			err: orc.ErrCorrupt, says: "footer says 5"},
		{name: "a union and its branches", file: orccraft.File{Rows: 3, Cols: []orccraft.Column{orccraft.StructOf("u"),
			{Kind: orc.Union, Subtypes: []uint64{2, 3}, Streams: []orccraft.Stream{{Kind: orc.Data, Data: orccraft.ByteRLE(0, 1, 0)}}},
			intCol(orc.Int, 10, 30), {Kind: orc.String, Streams: []orccraft.Stream{{Kind: orc.Data, Data: []byte("b")}, {Kind: orc.Length, Data: orccraft.RLEv1(false, 1)}}}}},
			rows: []string{`{"field0":10,"field1":null,"tag":0}`, `{"field0":null,"field1":"b","tag":1}`, `{"field0":30,"field1":null,"tag":0}`}},
	}
}

// sampleFile is a file of each column kind that needs streams, for the
// codecs: booleans, ints, a double, strings, a timestamp with local time
// zone (an instant: seconds from 2015-01-01 UTC).
func sampleFile(comp orc.Compression) orccraft.File {
	strs := []byte(strings.Repeat("lagoon ", 40))
	return orccraft.File{Comp: comp, Rows: 2, Cols: []orccraft.Column{orccraft.StructOf("b", "i", "s", "t"),
		{Kind: orc.Boolean, Streams: []orccraft.Stream{{Kind: orc.Data, Data: orccraft.BoolRLE(true, false)}}},
		intCol(orc.Long, -1, 1<<40),
		{Kind: orc.String, Streams: []orccraft.Stream{{Kind: orc.Data, Data: strs}, {Kind: orc.Length, Data: orccraft.RLEv1(false, 140, 140)}}},
		{Kind: orc.TimestampInstant, Streams: []orccraft.Stream{{Kind: orc.Data, Data: orccraft.RLEv1(true, 0, 86400)}, {Kind: orc.Secondary, Data: orccraft.RLEv1(false, 0, 5<<3|0)}}}}}
}

// TestCodecs: a file of every codec ORC has reads the same; LZO, which no
// Go decoder at hand reads, is refused saying so.
func TestCodecs(t *testing.T) {
	half := strings.Repeat("lagoon ", 20)
	want := []string{"true -1 " + half + " 2015-01-01T00:00:00Z", "false 1099511627776 " + half + " 2015-01-02T00:00:00Z"}
	for _, c := range []orc.Compression{orc.None, orc.Zlib, orc.Snappy, orc.Lz4, orc.Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			rows, err := readCrafted(t, sampleFile(c).Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(rows, "|") != strings.Join(want, "|") {
				t.Errorf("rows = %q\nwant %q", rows, want)
			}
		})
	}
	_, err := readCrafted(t, sampleFile(orc.Lzo).Bytes())
	if !errors.Is(err, orc.ErrUnsupported) || !strings.Contains(err.Error(), "lzo") {
		t.Errorf("LZO: %v, want ErrUnsupported naming it", err)
	}
}

// deepLists is a root struct over n lists, each the element of the one
// before, over an int.
func deepLists(n int) []orccraft.Column {
	cols := []orccraft.Column{orccraft.StructOf("l")}
	for i := range n {
		cols = append(cols, orccraft.Column{Kind: orc.List, Subtypes: []uint64{uint64(i + 2)}, Streams: []orccraft.Stream{{Kind: orc.Length, Data: orccraft.RLEv1(false, 1)}}})
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
			rows, err := readCrafted(t, tc.file.Bytes())
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
