package loader

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/schema"
	"github.com/apache/iceberg-go"

	"github.com/lagoon-dev/lagoon/contract"
	"github.com/lagoon-dev/lagoon/pqcopy"
)

// copiedBy is the created_by of files written by copying chunks: a
// writer whose statistics readers trust (they are computed afresh).
const copiedBy = "lagoon version 1.0.0 (column chunks copied)"

// copyPlan is the plan that writes the file anew for the table schema
// target without re-encoding its pages (see package pqcopy): its columns'
// chunks copied under the table's names and field ids, its path columns,
// lineage and _etl_loaded_at added as constants. It is false when a
// column must be re-encoded: a type the table holds otherwise (a widened
// one, say), a Parquet form not every Iceberg reader reads as the table
// says (legacy lists, INT96, nanoseconds, …), a footer lagoon repaired, or
// a personal-data action on a column.
func (s *source) copyPlan(target *iceberg.Schema, loadedAt time.Time) (pqcopy.Plan, bool) {
	if len(s.int96) > 0 || s.repairs.Changed() || s.transformsPII() {
		return pqcopy.Plan{}, false
	}
	b := planBuilder{target: target}
	root := s.pf.MetaData().Schema.Root()
	canon := 0
	for i := range root.NumFields() {
		n := root.Field(i)
		if i >= s.raw.NumFields() || s.raw.Field(i).Type.ID() == arrow.NULL {
			b.leaf += leaves(n) // a marked file's own _etl_loaded_at, or all-null
			continue
		}
		f := s.canon.Field(canon)
		canon++
		if slices.Contains(s.discarded, f.Name) || slices.Contains(s.piiDrop, f.Name) {
			b.leaf += leaves(n)
			continue
		}
		if !b.top(n, f) {
			return pqcopy.Plan{}, false
		}
	}
	for _, p := range s.consts {
		if !b.constant(p.Name, iceberg.PrimitiveTypes.String, []byte(p.Value)) {
			return pqcopy.Plan{}, false
		}
	}
	at := binary.LittleEndian.AppendUint64(nil, uint64(loadedAt.UnixMicro()))
	if !b.constant(LoadedAtColumn, iceberg.PrimitiveTypes.TimestampTz, at) {
		return pqcopy.Plan{}, false
	}
	return b.plan()
}

// transformsPII reports whether the contract hashes or masks a column of
// the file (values change: they are re-encoded).
func (s *source) transformsPII() bool {
	if len(s.pii) == 0 {
		return false
	}
	for _, f := range s.base.Fields() {
		if a, ok := s.pii[f.Name]; ok && a != contract.Drop {
			return true
		}
	}
	return false
}

// leaves counts the leaf columns under n.
func leaves(n schema.Node) int {
	g, ok := n.(*schema.GroupNode)
	if !ok {
		return 1
	}
	total := 0
	for i := range g.NumFields() {
		total += leaves(g.Field(i))
	}
	return total
}

// planBuilder builds a copy plan, top-level field by field.
type planBuilder struct {
	target *iceberg.Schema
	fields schema.FieldList
	cols   []pqcopy.Column
	leaf   int // the next source leaf
}

// top adds the source's top-level node n, whose canonical field is f.
func (b *planBuilder) top(n schema.Node, f arrow.Field) bool {
	tf, ok := b.target.FindFieldByName(f.Name)
	if !ok {
		return false
	}
	out, ok := b.node(n, f.Name, tf, f.Type)
	b.fields = append(b.fields, out)
	return ok
}

// constant adds a column of one value, of type t in the table.
func (b *planBuilder) constant(name string, t iceberg.Type, value []byte) bool {
	tf, ok := b.target.FindFieldByName(name)
	if !ok || !tf.Type.Equals(t) {
		return false
	}
	phys := parquet.Types.ByteArray
	if t.Equals(iceberg.PrimitiveTypes.TimestampTz) {
		phys = parquet.Types.Int64
	}
	n, err := schema.NewPrimitiveNodeLogical(name, repetition(tf), logicalFor(t), phys, -1, int32(tf.ID))
	if err != nil {
		return false
	}
	b.fields = append(b.fields, n)
	b.cols = append(b.cols, pqcopy.Column{Source: -1, Value: value})
	return true
}

func (b *planBuilder) plan() (pqcopy.Plan, bool) {
	root, err := schema.NewGroupNode("schema", parquet.Repetitions.Required, b.fields, -1)
	if err != nil {
		return pqcopy.Plan{}, false
	}
	return pqcopy.Plan{Schema: schema.NewSchema(root), Columns: b.cols, CreatedBy: copiedBy}, true
}

func repetition(f iceberg.NestedField) parquet.Repetition {
	if f.Required {
		return parquet.Repetitions.Required
	}
	return parquet.Repetitions.Optional
}

// node is the output node for source node n, the table's field tf, of
// canonical Arrow type at (for nested names); it keeps n's repetition,
// which its levels were written with.
func (b *planBuilder) node(n schema.Node, name string, tf iceberg.NestedField, at arrow.DataType) (schema.Node, bool) {
	rep := n.RepetitionType()
	if rep == parquet.Repetitions.Repeated || (tf.Required && rep != parquet.Repetitions.Required) {
		return nil, false
	}
	switch t := tf.Type.(type) {
	case *iceberg.StructType:
		return b.structNode(n, name, tf, t, at)
	case *iceberg.ListType:
		return b.listNode(n, name, tf, t, at)
	case *iceberg.MapType:
		return b.mapNode(n, name, tf, t, at)
	}
	p, ok := n.(*schema.PrimitiveNode)
	if !ok || !fits(p, tf.Type) {
		return nil, false
	}
	out, err := schema.NewPrimitiveNodeLogical(name, rep, logicalFor(tf.Type), p.PhysicalType(), p.TypeLength(), int32(tf.ID))
	b.cols = append(b.cols, pqcopy.Column{Source: b.leaf})
	b.leaf++
	return out, err == nil
}

func (b *planBuilder) structNode(n schema.Node, name string, tf iceberg.NestedField, t *iceberg.StructType, at arrow.DataType) (schema.Node, bool) {
	g, ok := n.(*schema.GroupNode)
	st, ok2 := at.(*arrow.StructType)
	if !ok || !ok2 || !noLogical(g.LogicalType()) || g.NumFields() != st.NumFields() {
		return nil, false
	}
	var kids schema.FieldList
	for i := range g.NumFields() {
		k := st.Field(i)
		kf, ok := fieldNamed(t.FieldList, k.Name)
		if !ok {
			return nil, false
		}
		out, ok := b.node(g.Field(i), k.Name, kf, k.Type)
		if !ok {
			return nil, false
		}
		kids = append(kids, out)
	}
	out, err := schema.NewGroupNode(name, n.RepetitionType(), kids, int32(tf.ID))
	return out, err == nil
}

// listNode takes the standard three-level list only: a LIST group whose
// one repeated child group holds the element (and is not named as the
// legacy two-level forms are).
func (b *planBuilder) listNode(n schema.Node, name string, tf iceberg.NestedField, t *iceberg.ListType, at arrow.DataType) (schema.Node, bool) {
	mid, ok := wrapper(n, schema.ListLogicalType{}, 1)
	lt, ok2 := at.(*arrow.ListType)
	if !ok || !ok2 || mid.Name() == "array" || mid.Name() == n.Name()+"_tuple" {
		return nil, false
	}
	ef := iceberg.NestedField{ID: t.ElementID, Type: t.Element, Required: t.ElementRequired}
	elem, ok := b.node(mid.Field(0), "element", ef, lt.Elem())
	if !ok {
		return nil, false
	}
	return group(name, n.RepetitionType(), "list", schema.ListLogicalType{}, tf.ID, elem)
}

func (b *planBuilder) mapNode(n schema.Node, name string, tf iceberg.NestedField, t *iceberg.MapType, at arrow.DataType) (schema.Node, bool) {
	kv, ok := wrapper(n, schema.MapLogicalType{}, 2)
	mt, ok2 := at.(*arrow.MapType)
	if !ok || !ok2 {
		return nil, false
	}
	key, ok := b.node(kv.Field(0), "key", iceberg.NestedField{ID: t.KeyID, Type: t.KeyType, Required: true}, mt.KeyType())
	if !ok {
		return nil, false
	}
	vf := iceberg.NestedField{ID: t.ValueID, Type: t.ValueType, Required: t.ValueRequired}
	val, ok := b.node(kv.Field(1), "value", vf, mt.ItemType())
	if !ok {
		return nil, false
	}
	return group(name, n.RepetitionType(), "key_value", schema.MapLogicalType{}, tf.ID, key, val)
}

// wrapper is the one repeated group of children fields inside n, a group
// of logical type lt.
func wrapper(n schema.Node, lt schema.LogicalType, fields int) (*schema.GroupNode, bool) {
	g, ok := n.(*schema.GroupNode)
	if !ok || g.LogicalType() == nil || !g.LogicalType().Equals(lt) || g.NumFields() != 1 {
		return nil, false
	}
	mid, ok := g.Field(0).(*schema.GroupNode)
	if !ok || mid.RepetitionType() != parquet.Repetitions.Repeated || mid.NumFields() != fields || !noLogical(mid.LogicalType()) {
		return nil, false
	}
	return mid, true
}

// group is a LIST or MAP group: name, of logical type lt and field id,
// holding one repeated group mid of kids.
func group(name string, rep parquet.Repetition, mid string, lt schema.LogicalType, id int, kids ...schema.Node) (schema.Node, bool) {
	inner, err := schema.NewGroupNode(mid, parquet.Repetitions.Repeated, kids, -1)
	if err != nil {
		return nil, false
	}
	out, err := schema.NewGroupNodeLogical(name, rep, schema.FieldList{inner}, lt, int32(id))
	return out, err == nil
}

func fieldNamed(fields []iceberg.NestedField, name string) (iceberg.NestedField, bool) {
	for _, f := range fields {
		if f.Name == name {
			return f, true
		}
	}
	return iceberg.NestedField{}, false
}

func noLogical(lt schema.LogicalType) bool { return lt == nil || lt.IsNone() }
