package orc

import (
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
)

// MaxDepth bounds how deeply a file's types may nest (Parquet and Iceberg
// readers bound it too; a file of a million nested lists would exhaust
// the stack).
const MaxDepth = 64

// Decimals of a Hive 0.11 file carry no precision or scale: each value
// has its own scale. They are read as decimal(38, 18), Spark's choice; a
// value that does not fit is an error, never rounded.
const (
	hive11Precision = 38
	hive11Scale     = 18
)

// RootColumn names the one column of a file whose root type is not a
// struct (Hive's name for unnamed columns).
const RootColumn = "_col0"

// Schema is the file's rows as Arrow sees them:
//   - tinyint and smallint are int32 (Iceberg has no narrower integer);
//   - char and varchar are strings;
//   - timestamps are microseconds (Iceberg v2's unit), without a zone
//     (a wall-clock time) for timestamp and in UTC for timestamp with
//     local time zone;
//   - a union is a struct of its tag (int32) and one field per branch,
//     field0, field1, …, only the tagged one set;
//   - a root that is not a struct is one column named RootColumn.
func (f *File) Schema() (*arrow.Schema, error) {
	if len(f.Footer.Types) == 0 {
		return nil, fmt.Errorf("%w: a footer without types", ErrCorrupt)
	}
	root := f.Footer.Types[0]
	if root.Kind != Struct {
		dt, err := f.arrowType(0, 0)
		if err != nil {
			return nil, err
		}
		return arrow.NewSchema([]arrow.Field{{Name: RootColumn, Type: dt, Nullable: true}}, nil), nil
	}
	st, err := f.arrowType(0, 0)
	if err != nil {
		return nil, err
	}
	return arrow.NewSchema(st.(*arrow.StructType).Fields(), nil), nil
}

// typeOf is column col's Arrow type, made once per file (every stripe's
// nested columns ask for theirs).
func (f *File) typeOf(col int) (arrow.DataType, error) {
	if f.types == nil {
		f.types = make([]arrow.DataType, len(f.Footer.Types))
	}
	if f.types[col] != nil {
		return f.types[col], nil
	}
	dt, err := f.arrowType(col, 0)
	if err == nil {
		f.types[col] = dt
	}
	return dt, err
}

// arrowType is type col's Arrow type, at nesting depth.
func (f *File) arrowType(col, depth int) (arrow.DataType, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("%w: types nest deeper than %d", ErrUnsupported, MaxDepth)
	}
	t := f.Footer.Types[col]
	switch t.Kind {
	case Struct, Union, List, Map:
		return f.nestedType(col, depth)
	case Decimal:
		p, s, err := decimalShape(t)
		if err != nil {
			return nil, fmt.Errorf("column %d: %w", col, err)
		}
		return &arrow.Decimal128Type{Precision: p, Scale: s}, nil
	}
	if dt, ok := primitiveTypes[t.Kind]; ok {
		return dt, nil
	}
	return nil, fmt.Errorf("%w: column %d has type kind %d", ErrUnsupported, col, t.Kind)
}

var primitiveTypes = map[Kind]arrow.DataType{
	Boolean: arrow.FixedWidthTypes.Boolean,
	Byte:    arrow.PrimitiveTypes.Int32, Short: arrow.PrimitiveTypes.Int32,
	Int: arrow.PrimitiveTypes.Int32, Long: arrow.PrimitiveTypes.Int64,
	Float: arrow.PrimitiveTypes.Float32, Double: arrow.PrimitiveTypes.Float64,
	String: arrow.BinaryTypes.String, Varchar: arrow.BinaryTypes.String, Char: arrow.BinaryTypes.String,
	Binary:           arrow.BinaryTypes.Binary,
	Date:             arrow.FixedWidthTypes.Date32,
	Timestamp:        &arrow.TimestampType{Unit: arrow.Microsecond},
	TimestampInstant: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"},
}

// decimalShape is a decimal type's precision and scale.
func decimalShape(t Type) (int32, int32, error) {
	if t.Precision == 0 && t.Scale == 0 {
		return hive11Precision, hive11Scale, nil
	}
	if t.Precision > 38 || t.Scale > t.Precision {
		return 0, 0, fmt.Errorf("%w: decimal(%d, %d)", ErrCorrupt, t.Precision, t.Scale)
	}
	return int32(t.Precision), int32(t.Scale), nil
}

func (f *File) nestedType(col, depth int) (arrow.DataType, error) {
	t := f.Footer.Types[col]
	children := make([]arrow.DataType, len(t.Subtypes))
	for i, sub := range t.Subtypes {
		dt, err := f.arrowType(int(sub), depth+1)
		if err != nil {
			return nil, err
		}
		children[i] = dt
	}
	switch t.Kind {
	case List:
		if len(children) != 1 {
			return nil, fmt.Errorf("%w: list column %d has %d element types", ErrCorrupt, col, len(children))
		}
		return arrow.ListOf(children[0]), nil
	case Map:
		if len(children) != 2 {
			return nil, fmt.Errorf("%w: map column %d has %d types, not a key and a value", ErrCorrupt, col, len(children))
		}
		return arrow.MapOf(children[0], children[1]), nil
	case Union:
		return unionType(col, children)
	}
	fields := make([]arrow.Field, len(children))
	for i, dt := range children {
		fields[i] = arrow.Field{Name: t.FieldNames[i], Type: dt, Nullable: true}
	}
	return arrow.StructOf(fields...), nil
}

// unionType is the struct a union is read as (see Schema).
func unionType(col int, branches []arrow.DataType) (arrow.DataType, error) {
	if len(branches) == 0 || len(branches) > 256 {
		return nil, fmt.Errorf("%w: union column %d has %d branches", ErrCorrupt, col, len(branches))
	}
	fields := []arrow.Field{{Name: "tag", Type: arrow.PrimitiveTypes.Int32, Nullable: true}}
	for i, dt := range branches {
		fields = append(fields, arrow.Field{Name: "field" + strconv.Itoa(i), Type: dt, Nullable: true})
	}
	return arrow.StructOf(fields...), nil
}

// columnName is column col's path from the root ("middle.list.element"),
// for errors; the root struct is "row".
func (f *File) columnName(col int) string {
	if f.names == nil {
		f.names = make([]string, len(f.Footer.Types))
		f.names[0] = "row"
		if f.Footer.Types[0].Kind != Struct {
			f.names[0] = RootColumn
		}
		for i, t := range f.Footer.Types {
			for j, sub := range t.Subtypes {
				f.names[sub] = childName(f.names[i], i == 0 && t.Kind == Struct, t, j)
			}
		}
	}
	return f.names[col]
}

func childName(parent string, top bool, t Type, j int) string {
	var name string
	switch t.Kind {
	case Struct:
		name = t.FieldNames[j]
	case List:
		name = "element"
	case Map:
		name = [2]string{"key", "value"}[min(j, 1)]
	default:
		name = "field" + strconv.Itoa(j)
	}
	if top {
		return name
	}
	return parent + "." + name
}
