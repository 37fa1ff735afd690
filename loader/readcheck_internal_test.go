package loader

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lagoon-dev/lagoon/internal/pqcraft"
	"github.com/lagoon-dev/lagoon/pqcompat"
)

// TestCheckOffsets: offsets that go backwards anywhere in a batch — a
// string column, or one inside a list inside a struct — are arrow-go's
// 32-bit overflow, and an error.
func TestCheckOffsets(t *testing.T) {
	good := stringsWithOffsets([]int32{0, 1, 3})
	bad := stringsWithOffsets([]int32{0, 1 << 30, -(1 << 31)})
	for _, tc := range []struct {
		name string
		arr  arrow.Array
		ok   bool
	}{
		{"good", good, true},
		{"wrapped", bad, false},
		{"wrapped in a list in a struct", structOf(listOf(bad)), false},
		{"good in a list in a struct", structOf(listOf(good)), true},
	} {
		sc := arrow.NewSchema([]arrow.Field{{Name: "c", Type: tc.arr.DataType(), Nullable: true}}, nil)
		rec := array.NewRecordBatch(sc, []arrow.Array{tc.arr}, int64(tc.arr.Len()))
		err := checkOffsets(rec)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, errOffsets)) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func stringsWithOffsets(offs []int32) arrow.Array {
	ob := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs))
	data := memory.NewBufferBytes(make([]byte, 3))
	return array.MakeFromData(array.NewData(arrow.BinaryTypes.String, len(offs)-1, []*memory.Buffer{nil, ob, data}, nil, 0, 0))
}

func listOf(a arrow.Array) arrow.Array {
	ob := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes([]int32{0, int32(a.Len())}))
	return array.MakeFromData(array.NewData(arrow.ListOf(a.DataType()), 1, []*memory.Buffer{nil, ob}, []arrow.ArrayData{a.Data()}, 0, 0))
}

func structOf(a arrow.Array) arrow.Array {
	st, err := array.NewStructArray([]arrow.Array{a}, []string{"x"})
	if err != nil {
		panic(err)
	}
	return st
}

// TestBatchRowsFollowValueSizes: batches of a file with large values hold
// fewer rows, so that no column of a batch passes the budget; small
// values keep the usual batch.
func TestBatchRowsFollowValueSizes(t *testing.T) {
	vals := make([]any, 10)
	for i := range vals {
		vals[i] = strings.Repeat("x", 96) // 100 bytes a value, with its length
	}
	f := pqcraft.File{NumRows: 10, Schema: []pqcraft.Node{pqcraft.Leaf("s", pqcraft.ByteArray, pqcraft.Required)},
		Columns: []pqcraft.Column{{Pages: []pqcraft.Page{{Values: vals}}}}}
	body, err := pqcraft.Write(f)
	if err != nil {
		t.Fatal(err)
	}
	pf, _, err := pqcompat.NewReader(bytes.NewReader(body), int64(len(body)), nil)
	if err != nil {
		t.Fatal(err)
	}
	// the chunk's size counts its page header too: a little over 100 a row
	if got := batchRowsWithin(pf.MetaData(), 350); got != 3 {
		t.Errorf("rows within 350 bytes = %d, want 3", got)
	}
	if got := batchRowsWithin(pf.MetaData(), 10); got != 1 {
		t.Errorf("rows within 10 bytes = %d, want 1 (never 0)", got)
	}
	if got := batchRows(pf.MetaData()); got != readBatchRows {
		t.Errorf("rows = %d, want %d", got, readBatchRows)
	}
}
