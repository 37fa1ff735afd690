package prepare

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// dictMaxRatio: a column whose distinct values exceed this share of its
// values in the first batch is written without a dictionary. Hashing
// every value of ids, amounts and timestamps into a dictionary that is
// then thrown away (the writer falls back to plain once it grows) was a
// third of the Parquet writer's time.
const dictMaxRatio = 0.4

// dictionaryProps returns writer properties turning the dictionary off
// for the leaf columns of rec where it does not pay.
func dictionaryProps(rec arrow.RecordBatch, props *parquet.WriterProperties) []parquet.WriterProperty {
	sc, err := pqarrow.ToParquet(rec.Schema(), props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil // the writer will report it
	}
	plain := plainLeaves(rec)
	if len(plain) != sc.NumColumns() {
		return nil // a shape this walk does not know: keep the defaults
	}
	var out []parquet.WriterProperty
	for i, p := range plain {
		if p {
			out = append(out, parquet.WithDictionaryPath(sc.Column(i).ColumnPath(), false))
		}
	}
	return out
}

// plainLeaves reports, for each leaf column of rec in Parquet column
// order, whether it is better written without a dictionary.
func plainLeaves(rec arrow.RecordBatch) []bool {
	var leaves []arrow.Array
	for _, col := range rec.Columns() {
		leaves = appendLeaves(leaves, col)
	}
	out := make([]bool, len(leaves))
	for i, leaf := range leaves {
		out[i] = highCardinality(leaf)
	}
	return out
}

// appendLeaves adds a's leaf arrays in Parquet column order.
func appendLeaves(out []arrow.Array, a arrow.Array) []arrow.Array {
	switch a := a.(type) {
	case *array.Struct:
		for i := range a.NumField() {
			out = appendLeaves(out, a.Field(i))
		}
		return out
	case *array.Map:
		return appendLeaves(appendLeaves(out, a.Keys()), a.Items())
	case *array.List:
		return appendLeaves(out, a.ListValues())
	}
	return append(out, a)
}

// highCardinality reports whether most of a's values are distinct.
func highCardinality(a arrow.Array) bool {
	n := a.Len() - a.NullN()
	if n < 64 {
		return false
	}
	distinct := 0
	switch a := a.(type) {
	case *array.String:
		distinct = countDistinct(a, func(i int) string { return a.Value(i) })
	case *array.Binary:
		distinct = countDistinct(a, func(i int) string { return unsafe.String(unsafe.SliceData(a.Value(i)), len(a.Value(i))) })
	case *array.Int64:
		distinct = countDistinct(a, a.Value)
	case *array.Int32:
		distinct = countDistinct(a, a.Value)
	case *array.Float64:
		distinct = countDistinct(a, a.Value)
	case *array.Float32:
		distinct = countDistinct(a, a.Value)
	case *array.Timestamp:
		distinct = countDistinct(a, a.Value)
	case *array.Decimal128:
		distinct = countDistinct(a, a.Value)
	default:
		return false
	}
	return float64(distinct) > dictMaxRatio*float64(n)
}

func countDistinct[T comparable](a arrow.Array, value func(int) T) int {
	seen := make(map[T]struct{}, 1024)
	for i := range a.Len() {
		if a.IsValid(i) {
			seen[value(i)] = struct{}{}
		}
	}
	return len(seen)
}
