package loader

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/pqcompat"
)

// errType classifies Arrow types that Iceberg v2 cannot hold faithfully.
var errType = errors.New("no faithful Iceberg v2 type")

// canonicalSchema maps a foreign file's Arrow schema to the schema lagoon
// stores: names normalised (collisions get _2, _3, … in order), every
// field nullable, field ids dropped (never trusted), and each type mapped
// to the nearest faithful Iceberg v2 type (see canonicalType). Top-level
// columns of the Null type hold no value and are left out; dropped lists
// their original names.
func canonicalSchema(sc *arrow.Schema) (out *arrow.Schema, dropped []string, err error) {
	fields, dropped, err := canonicalFields(sc.Fields())
	if err != nil {
		return nil, nil, err
	}
	if len(fields) == 0 {
		return nil, nil, fmt.Errorf("no column with a value: every column is all-null")
	}
	return arrow.NewSchema(fields, nil), dropped, nil
}

func canonicalFields(in []arrow.Field) (out []arrow.Field, dropped []string, err error) {
	names := newNamer()
	for _, f := range in {
		if f.Type.ID() == arrow.NULL {
			dropped = append(dropped, f.Name)
			continue
		}
		t, err := canonicalField(f)
		if err != nil {
			return nil, nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		out = append(out, arrow.Field{Name: names.next(f.Name), Type: t, Nullable: true})
	}
	return out, dropped, nil
}

// namer normalises column names and resolves collisions deterministically.
type namer map[string]bool

func newNamer() namer { return namer{} }

func (n namer) next(name string) string {
	base := lake.NormalizeColumn(name)
	if base == "" {
		base = "col"
	}
	cand := base
	for i := 2; n[cand]; i++ {
		cand = base + "_" + strconv.Itoa(i)
	}
	n[cand] = true
	return cand
}

// canonicalField is canonicalType of f's type, except for a MAP that
// pqcompat had arrow-go read as a list of key-value structs (its keys
// were optional): that is a map again; and for a Parquet INTERVAL, bytes
// to arrow-go: that is intervalType.
func canonicalField(f arrow.Field) (arrow.DataType, error) {
	id, _ := f.Metadata.GetValue("PARQUET:field_id")
	if fb, ok := f.Type.(*arrow.FixedSizeBinaryType); ok && fb.ByteWidth == 12 && id == strconv.Itoa(pqcompat.IntervalFieldID) {
		return intervalType, nil
	}
	if id == strconv.Itoa(pqcompat.MapFieldID) {
		if l, ok := f.Type.(*arrow.ListType); ok {
			if kv, ok := l.Elem().(*arrow.StructType); ok && kv.NumFields() == 2 {
				key := kv.Field(0)
				key.Nullable = false // a null key fails the conversion
				return canonicalMap(arrow.MapOfFields(key, kv.Field(1)))
			}
		}
	}
	return canonicalType(f.Type)
}

// canonicalType returns the Arrow type lagoon stores for dt: small ints and
// uint16 widen to int32, uint32 to int64, uint64 to decimal(20,0); half
// floats to float32; large and view strings/binaries to plain ones;
// dictionaries to their values; timestamps to microseconds (UTC when zoned),
// date64 to date32, time32/time64 to microsecond time; narrow decimals to
// decimal128. Conversions that would lose a value (sub-microsecond
// timestamps, date64 with a time of day) fail when the data is converted.
// Durations, intervals, decimals past precision 38 and other types without
// an Iceberg v2 equivalent return an error wrapping errType.
func canonicalType(dt arrow.DataType) (arrow.DataType, error) {
	switch t := dt.(type) {
	case *arrow.BooleanType, *arrow.Int32Type, *arrow.Int64Type, *arrow.Float32Type,
		*arrow.Float64Type, *arrow.StringType, *arrow.BinaryType, *arrow.Date32Type,
		*arrow.FixedSizeBinaryType:
		return dt, nil
	case *arrow.Int8Type, *arrow.Int16Type, *arrow.Uint8Type, *arrow.Uint16Type:
		return arrow.PrimitiveTypes.Int32, nil
	case *arrow.Uint32Type:
		return arrow.PrimitiveTypes.Int64, nil
	case *arrow.Uint64Type:
		return &arrow.Decimal128Type{Precision: 20, Scale: 0}, nil
	case *arrow.Float16Type:
		return arrow.PrimitiveTypes.Float32, nil
	case *arrow.LargeStringType, *arrow.StringViewType:
		return arrow.BinaryTypes.String, nil
	case *arrow.LargeBinaryType, *arrow.BinaryViewType:
		return arrow.BinaryTypes.Binary, nil
	case *arrow.Date64Type:
		return arrow.FixedWidthTypes.Date32, nil
	case *arrow.Time32Type, *arrow.Time64Type:
		return arrow.FixedWidthTypes.Time64us, nil
	case *arrow.TimestampType:
		return canonicalTimestamp(t), nil
	case arrow.DecimalType:
		return canonicalDecimal(t)
	case *arrow.DictionaryType:
		return canonicalType(t.ValueType)
	case arrow.ListLikeType:
		return canonicalList(t)
	case *arrow.StructType:
		return canonicalStruct(t)
	case arrow.ExtensionType:
		return canonicalExtension(t)
	}
	return nil, fmt.Errorf("%w for Arrow type %s", errType, dt)
}

// canonicalExtension keeps an extension type an Iceberg v2 table holds
// (uuid); one only v3 tables hold (variant, geometry, geography) is its
// storage (a variant's metadata and value bytes, a geometry's WKB), which
// holds every value exactly.
func canonicalExtension(t arrow.ExtensionType) (arrow.DataType, error) {
	it, err := table.ArrowTypeToIceberg(t, false)
	if err == nil && v2Type(it) {
		return t, nil
	}
	return canonicalType(t.StorageType())
}

// v2Type reports whether Iceberg v2 tables hold t.
func v2Type(t iceberg.Type) bool {
	switch t.(type) {
	case iceberg.VariantType, iceberg.GeometryType, iceberg.GeographyType,
		iceberg.TimestampNsType, iceberg.TimestampTzNsType, iceberg.UnknownType:
		return false
	}
	return true
}

func canonicalTimestamp(t *arrow.TimestampType) arrow.DataType {
	if t.TimeZone == "" {
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	}
	return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
}

func canonicalDecimal(t arrow.DecimalType) (arrow.DataType, error) {
	if t.GetPrecision() > 38 {
		return nil, fmt.Errorf("%w: decimal precision %d is over Iceberg's 38", errType, t.GetPrecision())
	}
	return &arrow.Decimal128Type{Precision: t.GetPrecision(), Scale: t.GetScale()}, nil
}

func canonicalList(t arrow.ListLikeType) (arrow.DataType, error) {
	if m, ok := t.(*arrow.MapType); ok {
		return canonicalMap(m)
	}
	et, err := canonicalElem(t.ElemField())
	if err != nil {
		return nil, err
	}
	return arrow.ListOfField(arrow.Field{Name: "element", Type: et, Nullable: true}), nil
}

// canonicalElem is the type of a list's elements or a map's values: one
// of the Null type (all null: it holds no value to type) is a string, the
// nearest type that holds only nulls faithfully.
func canonicalElem(f arrow.Field) (arrow.DataType, error) {
	if f.Type.ID() == arrow.NULL {
		return arrow.BinaryTypes.String, nil
	}
	return canonicalField(f)
}

func canonicalMap(m *arrow.MapType) (arrow.DataType, error) {
	if m.KeyType().ID() == arrow.NULL {
		return nil, fmt.Errorf("%w: a map whose keys are all null has no key type (and Iceberg map keys cannot be null)", errType)
	}
	kt, err := canonicalField(m.KeyField())
	if err != nil {
		return nil, fmt.Errorf("map key: %w", err)
	}
	it, err := canonicalElem(m.ItemField())
	if err != nil {
		return nil, fmt.Errorf("map value: %w", err)
	}
	out := arrow.MapOf(kt, it)
	out.KeysSorted = m.KeysSorted
	return out, nil
}

func canonicalStruct(t *arrow.StructType) (arrow.DataType, error) {
	fields, _, err := canonicalFields(t.Fields())
	if err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		// every field is of the Null type: keep them, as strings (see
		// canonicalElem), for the struct's own nulls
		for _, f := range t.Fields() {
			fields = append(fields, arrow.Field{Name: f.Name, Type: arrow.BinaryTypes.String})
		}
		fields, _, err = canonicalFields(fields)
	}
	return arrow.StructOf(fields...), err
}

// conform converts arr to the canonical type target (which canonicalType
// derived from arr's type). Casts are safe: a value that would change
// (overflow, truncated precision) is an error. The caller owns the result.
func conform(ctx context.Context, arr arrow.Array, target arrow.DataType) (arrow.Array, error) {
	if arrow.TypeEqual(arr.DataType(), target) {
		arr.Retain()
		return arr, nil
	}
	if ext, ok := arr.(array.ExtensionArray); ok {
		return conform(ctx, ext.Storage(), target) // see canonicalExtension
	}
	switch src := arr.DataType().(type) {
	case *arrow.DictionaryType:
		dense, err := compute.CastArray(ctx, arr, compute.SafeCastOptions(src.ValueType))
		if err != nil {
			return nil, err
		}
		defer dense.Release()
		return conform(ctx, dense, target)
	case *arrow.StructType:
		return conformStruct(ctx, arr.Data(), src, target.(*arrow.StructType))
	case *arrow.ListType:
		return conformList(ctx, arr.Data(), target)
	case *arrow.MapType:
		return conformList(ctx, arr.Data(), target)
	case *arrow.FixedSizeListType:
		return conformFixedList(ctx, arr.Data(), src, target)
	case arrow.ListLikeType:
		// large and view lists: re-offset as a plain list first.
		plain := arrow.ListOfField(src.ElemField())
		l, err := compute.CastArray(ctx, arr, compute.SafeCastOptions(plain))
		if err != nil {
			return nil, err
		}
		defer l.Release()
		return conformList(ctx, l.Data(), target)
	case *arrow.Float16Type:
		return halfToFloat(arr.(*array.Float16)), nil
	case *arrow.NullType:
		return array.MakeArrayOfNull(memoryPool, target, arr.Len()), nil
	case *arrow.FixedSizeBinaryType:
		if arrow.TypeEqual(target, intervalType) {
			return intervalToStruct(arr.(*array.FixedSizeBinary))
		}
	}
	return compute.CastArray(ctx, arr, compute.SafeCastOptions(target))
}

// conformStruct rebuilds a struct with its non-null children conformed,
// keeping the validity buffer and offset (children stay unsliced).
func conformStruct(ctx context.Context, data arrow.ArrayData, src, dst *arrow.StructType) (arrow.Array, error) {
	children := make([]arrow.ArrayData, 0, dst.NumFields())
	defer func() {
		for _, c := range children {
			c.Release()
		}
	}()
	// canonicalFields left out the fields of the Null type, unless they
	// are a map's values (canonicalElem)
	dropNull := src.NumFields() != dst.NumFields()
	j := 0
	for i, f := range src.Fields() {
		if dropNull && f.Type.ID() == arrow.NULL {
			continue
		}
		child := array.MakeFromData(data.Children()[i])
		c, err := conform(ctx, child, dst.Field(j).Type)
		child.Release()
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", f.Name, err)
		}
		children = append(children, c.Data())
		c.Data().Retain()
		c.Release()
		j++
	}
	out := array.NewData(dst, data.Len(), data.Buffers()[:1], children, data.NullN(), data.Offset())
	defer out.Release()
	return array.MakeFromData(out), nil
}

// conformList rebuilds a list or map (same offsets) around its conformed
// child.
func conformList(ctx context.Context, data arrow.ArrayData, target arrow.DataType) (arrow.Array, error) {
	child := array.MakeFromData(data.Children()[0])
	defer child.Release()
	var elem arrow.DataType
	switch t := target.(type) {
	case *arrow.MapType:
		elem = t.Elem()
	case *arrow.ListType:
		elem = t.Elem()
	}
	c, err := conform(ctx, child, elem)
	if err != nil {
		return nil, err
	}
	defer c.Release()
	if _, ok := target.(*arrow.MapType); ok && c.(*array.Struct).Field(0).NullN() > 0 {
		return nil, errors.New("a map key is null: Iceberg map keys cannot be null")
	}
	out := array.NewData(target, data.Len(), data.Buffers()[:2], []arrow.ArrayData{c.Data()}, data.NullN(), data.Offset())
	defer out.Release()
	return array.MakeFromData(out), nil
}

// conformFixedList gives a fixed-size list the offsets of a plain list
// (arrow has no cast for it) and conforms the shared child.
func conformFixedList(ctx context.Context, data arrow.ArrayData, src *arrow.FixedSizeListType, target arrow.DataType) (arrow.Array, error) {
	n, k := data.Offset()+data.Len(), int32(src.Len())
	b := array.NewInt32Builder(memoryPool)
	defer b.Release()
	b.Reserve(n + 1)
	for j := range n + 1 {
		b.Append(int32(j) * k)
	}
	offsets := b.NewArray()
	defer offsets.Release()
	buffers := []*memory.Buffer{data.Buffers()[0], offsets.Data().Buffers()[1]}
	plain := array.NewData(arrow.ListOfField(src.ElemField()), data.Len(), buffers, data.Children(), data.NullN(), data.Offset())
	defer plain.Release()
	return conformList(ctx, plain, target)
}

func halfToFloat(a *array.Float16) arrow.Array {
	b := array.NewFloat32Builder(memoryPool)
	defer b.Release()
	b.Reserve(a.Len())
	for i := range a.Len() {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		b.Append(a.Value(i).Float32())
	}
	return b.NewArray()
}

var memoryPool = memory.DefaultAllocator

// intervalType holds a Parquet INTERVAL, which Iceberg v2 has no type for,
// exactly: its months, days and milliseconds (as microseconds, the fields
// DuckDB shows an INTERVAL as).
var intervalType = arrow.StructOf(
	arrow.Field{Name: "months", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	arrow.Field{Name: "days", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	arrow.Field{Name: "micros", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
)

// intervalToStruct decodes INTERVAL values (three little-endian uint32);
// months or days past int32 are an error, not a wrapped value.
func intervalToStruct(a *array.FixedSizeBinary) (arrow.Array, error) {
	b := array.NewStructBuilder(memoryPool, intervalType)
	defer b.Release()
	months := b.FieldBuilder(0).(*array.Int32Builder)
	days := b.FieldBuilder(1).(*array.Int32Builder)
	micros := b.FieldBuilder(2).(*array.Int64Builder)
	for i := range a.Len() {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		v := a.Value(i)
		m, d := binary.LittleEndian.Uint32(v), binary.LittleEndian.Uint32(v[4:])
		if m > math.MaxInt32 || d > math.MaxInt32 {
			return nil, fmt.Errorf("interval of %d months, %d days: past what Iceberg's int holds", m, d)
		}
		b.Append(true)
		months.Append(int32(m))
		days.Append(int32(d))
		micros.Append(int64(binary.LittleEndian.Uint32(v[8:])) * 1000)
	}
	return b.NewArray(), nil
}
