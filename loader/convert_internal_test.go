package loader

import (
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// Types no Parquet writer here can produce still get a clear error.
func TestCanonicalTypeRejects(t *testing.T) {
	for _, dt := range []arrow.DataType{
		arrow.FixedWidthTypes.Duration_s,
		arrow.FixedWidthTypes.MonthInterval,
		arrow.FixedWidthTypes.DayTimeInterval,
		&arrow.Decimal256Type{Precision: 60, Scale: 2},
	} {
		if _, err := canonicalType(dt); !errors.Is(err, errType) {
			t.Errorf("canonicalType(%s) = %v, want errType", dt, err)
		}
	}
}

func TestCanonicalNamesAreDeterministic(t *testing.T) {
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "Order ID", Type: arrow.PrimitiveTypes.Int64},
		{Name: "order_id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "ORDER-ID", Type: arrow.PrimitiveTypes.Int64},
		{Name: "€", Type: arrow.PrimitiveTypes.Int64},
	}, nil)
	out, _, err := canonicalSchema(sc)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"order_id", "order_id_2", "order_id_3", "col"}
	for i, f := range out.Fields() {
		if f.Name != want[i] {
			t.Errorf("field %d = %s, want %s", i, f.Name, want[i])
		}
	}
}
