package prepare_test

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/prepare"
)

// orderFeed is n NDJSON records with an id in order, a bad line every 17,
// a record that does not convert every 23 (a field given twice),
// and, past the inference sample, a column never seen before (a widen).
func orderFeed(n, sample int) []byte {
	var b strings.Builder
	for i := range n {
		switch {
		case i%17 == 5:
			fmt.Fprintf(&b, "{\"id\": %d, broken\n", i)
		case i%23 == 7:
			fmt.Fprintf(&b, "{\"id\": %d, \"amount\": 1.5, \"amount\": 2.5}\n", i)
		case i == sample+50:
			fmt.Fprintf(&b, "{\"id\": %d, \"amount\": %d.5, \"late\": \"x\"}\n", i, i)
		default:
			fmt.Fprintf(&b, "{\"id\": %d, \"amount\": %d.5, \"name\": \"n%d\"}\n", i, i, i%5)
		}
	}
	return []byte(b.String())
}

// orderCSV is n CSV records with an id in order and a record with a field
// too many every 17.
func orderCSV(n int) []byte {
	var b strings.Builder
	b.WriteString("id,amount,name\n")
	for i := range n {
		if i%17 == 5 {
			fmt.Fprintf(&b, "%d,1.5,x,extra\n", i)
			continue
		}
		fmt.Fprintf(&b, "%d,%d.5,\"n, %d\"\n", i, i, i%5)
	}
	return []byte(b.String())
}

// TestBuildersKeepOrderCSV is TestBuildersKeepOrder for CSV, whose
// records' fields live in memory the reader reuses.
func TestBuildersKeepOrderCSV(t *testing.T) {
	const n = 3000
	body := orderCSV(n)
	run := func(builders, batch int) converted {
		opt := prepare.DefaultOptions()
		opt.Builders, opt.BatchRows = builders, batch
		return convert(t, opt, memSource("feed.csv", body))
	}
	want := run(1, 8192)
	if len(want.rows) != n-177 || len(want.bad) != 177 {
		t.Fatalf("one builder: %d rows, %d rejects; want %d, 177", len(want.rows), len(want.bad), n-177)
	}
	for _, tc := range []struct{ builders, batch int }{{2, 7}, {4, 1}, {8, 100}} {
		got := run(tc.builders, tc.batch)
		if !reflect.DeepEqual(got.rows, want.rows) || !reflect.DeepEqual(got.bad, want.bad) {
			t.Errorf("%d builders, batches of %d: %d rows and %d rejects, not one builder's", tc.builders, tc.batch, len(got.rows), len(got.bad))
		}
	}
}

// TestBuildersKeepOrder: however many builders build batches at once, and
// however small the batches, the output's rows, the rejects and their
// order are those of one builder, and every record is in one or the other.
func TestBuildersKeepOrder(t *testing.T) {
	const n, sample = 3000, 200
	body := orderFeed(n, sample)
	run := func(builders, batch int) converted {
		opt := prepare.DefaultOptions()
		opt.Builders, opt.BatchRows, opt.SampleRecords = builders, batch, sample
		return convert(t, opt, memSource("feed.ndjson", body))
	}
	want := run(1, 8192)
	bad := 0
	for i := range n {
		if i%17 == 5 || i%23 == 7 {
			bad++
		}
	}
	if len(want.rows) != n-bad || len(want.bad) != bad || want.schema.FieldIndices("late") == nil {
		t.Fatalf("one builder: %d rows, %d rejects, schema %s; want %d, %d and the late column", len(want.rows), len(want.bad), want.schema, n-bad, bad)
	}
	for _, tc := range []struct{ builders, batch int }{{2, 7}, {4, 1}, {3, 64}, {8, 100}} {
		t.Run(fmt.Sprintf("%d builders, batches of %d", tc.builders, tc.batch), func(t *testing.T) {
			got := run(tc.builders, tc.batch)
			if !reflect.DeepEqual(got.rows, want.rows) {
				t.Errorf("rows differ from one builder's (%d against %d)", len(got.rows), len(want.rows))
			}
			if !reflect.DeepEqual(got.bad, want.bad) {
				t.Errorf("rejects differ from one builder's (%d against %d)", len(got.bad), len(want.bad))
			}
			last := -1
			for i, r := range got.rows {
				id, err := strconv.Atoi(fmt.Sprint(r["id"]))
				if err != nil || id <= last {
					t.Fatalf("row %d: id %v after %d", i, r["id"], last)
				}
				last = id
			}
		})
	}
}
