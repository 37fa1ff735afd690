package prepare

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// OriginalNameKey is the Arrow field metadata key (kept in the Parquet
// file's stored Arrow schema) holding a column's name before it was
// normalised.
const OriginalNameKey = "lagoon.original_name"

// fixedType turns a table's Arrow type into a Type: primitives are fixed,
// structs and lists stay open for new nested fields.
func fixedType(dt arrow.DataType) *Type {
	switch t := dt.(type) {
	case *arrow.StructType:
		st := newStruct()
		for _, f := range t.Fields() {
			st.addColumn(&Column{Name: f.Name, Type: fixedType(f.Type)})
		}
		st.locked = true
		return st
	case *arrow.ListType:
		return &Type{Kind: TList, Elem: fixedType(t.Elem()), locked: true}
	}
	return &Type{Kind: TFixed, Arrow: dt}
}

// arrowType is the Arrow type t is written as, or nil for a type with no
// value seen yet (such columns are left out: they hold only nulls). It
// numbers the struct's present columns (Column.idx) as it goes.
func (t *Type) arrowType() arrow.DataType {
	switch t.Kind {
	case TUnknown:
		return nil
	case TBool:
		return arrow.FixedWidthTypes.Boolean
	case TInt:
		return arrow.PrimitiveTypes.Int64
	case TFloat:
		if t.num.decimal() {
			return &arrow.Decimal128Type{Precision: 38, Scale: int32(t.num.scale)}
		}
		return arrow.PrimitiveTypes.Float64
	case TDate:
		return arrow.FixedWidthTypes.Date32
	case TTimestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond}
	case TTimestampTZ:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	case TString:
		return arrow.BinaryTypes.String
	case TFixed:
		return t.Arrow
	case TList:
		et := t.Elem.arrowType()
		if et == nil {
			et = arrow.BinaryTypes.String // only empty lists seen
		}
		return arrow.ListOfField(arrow.Field{Name: "element", Type: et, Nullable: true})
	case TStruct:
		fields := t.arrowFields()
		if len(fields) == 0 {
			return nil
		}
		return arrow.StructOf(fields...)
	}
	return nil
}

// arrowFields lists the struct's present columns, numbering them.
func (t *Type) arrowFields() []arrow.Field {
	var out []arrow.Field
	for _, c := range t.Fields {
		at := c.Type.arrowType()
		if at == nil {
			c.idx = -1
			continue
		}
		c.idx = len(out)
		f := arrow.Field{Name: c.Name, Type: at, Nullable: true}
		if c.Orig != "" && c.Orig != c.Name {
			f.Metadata = arrow.NewMetadata([]string{OriginalNameKey}, []string{c.Orig})
		}
		out = append(out, f)
	}
	return out
}

// clone deep-copies a type, so a failed attempt's widening can be kept
// apart from the table's starting point.
func (t *Type) clone() *Type {
	c := &Type{Kind: t.Kind, Arrow: t.Arrow, num: t.num, locked: t.locked}
	if t.Elem != nil {
		c.Elem = t.Elem.clone()
	}
	if t.Kind == TStruct {
		c.byRaw, c.byName = map[string]*Column{}, map[string]*Column{}
		for _, col := range t.Fields {
			nc := &Column{Name: col.Name, Orig: col.Orig, Type: col.Type.clone()}
			c.addColumn(nc)
			if col.Orig != "" {
				c.byRaw[col.Orig] = nc
			}
		}
		for raw, col := range t.byRaw {
			c.byRaw[raw] = c.byName[col.Name]
		}
		for name, col := range t.byName {
			if col.Orig == reservedOrig {
				c.byName[name] = col // see reserve
			}
		}
	}
	return c
}
