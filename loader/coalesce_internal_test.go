package loader

import (
	"errors"
	"iter"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
)

// TestCoalesced: small batches of one schema are joined up to
// readBatchRows, in order; a large batch, another schema or an error
// ends a run; nothing is lost or repeated.
func TestCoalesced(t *testing.T) {
	other := lakefixture.Blobs(0, 3)
	defer other.Release()
	in := []arrow.RecordBatch{
		lakefixture.Ints(0, 100), lakefixture.Ints(100, 100), // joined
		lakefixture.Ints(200, coalesceRows),                                                   // large: alone
		lakefixture.Ints(200+coalesceRows, 10), other, lakefixture.Ints(300+coalesceRows, 10), // a schema between
	}
	for range readBatchRows/(coalesceRows-1) + 1 { // more than fills a batch
		in = append(in, lakefixture.Ints(0, coalesceRows-1))
	}
	other.Retain()
	var sizes []int64
	var total int64
	for rec, err := range coalesced(batches(in, nil)) {
		if err != nil {
			t.Fatal(err)
		}
		sizes, total = append(sizes, rec.NumRows()), total+rec.NumRows()
		if rec.NumRows() > readBatchRows {
			t.Fatalf("a batch of %d rows", rec.NumRows())
		}
		rec.Release()
	}
	var want int64
	for _, r := range in {
		want += r.NumRows()
	}
	if total != want || len(sizes) != 6 || sizes[0] != 200 || sizes[1] != coalesceRows || sizes[2] != 10 || sizes[3] != 3 {
		t.Fatalf("batches of %v rows (%d in all, want %d)", sizes, total, want)
	}
	boom := errors.New("boom")
	var got error
	for _, err := range coalesced(batches([]arrow.RecordBatch{lakefixture.Ints(0, 5)}, boom)) {
		got = err
	}
	if !errors.Is(got, boom) {
		t.Fatalf("error %v, want boom", got)
	}
}

// batches yields recs, then err if set.
func batches(recs []arrow.RecordBatch, err error) iter.Seq2[arrow.RecordBatch, error] {
	return func(yield func(arrow.RecordBatch, error) bool) {
		for i, r := range recs {
			if !yield(r, nil) {
				releaseRecords(recs[i+1:])
				return
			}
		}
		if err != nil {
			yield(nil, err)
		}
	}
}
