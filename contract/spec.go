package contract

import (
	"fmt"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// firstPartitionFieldID is where Iceberg's partition field ids start.
const firstPartitionFieldID = 1000

// Spec returns the partition spec the contract asks of a table of schema
// sc, or def when it asks for none. A column the schema lacks is an error
// naming it.
func (c *Contract) Spec(sc *iceberg.Schema, def iceberg.PartitionSpec) (iceberg.PartitionSpec, error) {
	if c == nil || len(c.Partition) == 0 {
		return def, nil
	}
	fields := make([]iceberg.PartitionField, 0, len(c.Partition))
	for i, p := range c.Partition {
		col, ok := sc.FindFieldByName(p.Column)
		if !ok {
			return iceberg.PartitionSpec{}, fmt.Errorf("partition %s: the table has no column %s", p, p.Column)
		}
		if !p.Transform.CanTransform(col.Type) {
			return iceberg.PartitionSpec{}, fmt.Errorf("partition %s: %s cannot apply to %s, a %s", p, p.Transform, p.Column, col.Type)
		}
		fields = append(fields, iceberg.PartitionField{SourceIDs: []int{col.ID}, FieldID: firstPartitionFieldID + i,
			Name: p.FieldName(), Transform: p.Transform})
	}
	return iceberg.NewPartitionSpec(fields...), nil
}

// FieldName is the partition field's name, as Spark and Iceberg's Java
// library name them: col for identity, col_day, col_bucket_16,
// col_trunc_4.
func (f Field) FieldName() string {
	switch t := f.Transform.(type) {
	case iceberg.IdentityTransform:
		return f.Column
	case iceberg.BucketTransform:
		return fmt.Sprintf("%s_bucket_%d", f.Column, t.NumBuckets)
	case iceberg.TruncateTransform:
		return fmt.Sprintf("%s_trunc_%d", f.Column, t.Width)
	}
	return f.Column + "_" + strings.ToLower(f.Transform.String())
}

// SortOrder returns the sort order the contract asks of a table of schema
// sc: unsorted when it asks for none.
func (c *Contract) Order(sc *iceberg.Schema) (table.SortOrder, error) {
	if c == nil || len(c.SortOrder) == 0 {
		return table.UnsortedSortOrder, nil
	}
	fields := make([]table.SortField, 0, len(c.SortOrder))
	for _, s := range c.SortOrder {
		col, ok := sc.FindFieldByName(s.Column)
		if !ok {
			return table.SortOrder{}, fmt.Errorf("sort_order %s: the table has no column %s", s.Field, s.Column)
		}
		f := table.SortField{SourceIDs: []int{col.ID}, Transform: s.Transform, Direction: table.SortASC, NullOrder: table.NullsLast}
		if s.Descending {
			f.Direction = table.SortDESC
		}
		if s.NullsFirst {
			f.NullOrder = table.NullsFirst
		}
		fields = append(fields, f)
	}
	return table.NewSortOrder(1, fields)
}

// String is the sort field in the contract's syntax.
func (s SortField) String() string {
	out := s.Field.String()
	if s.Descending {
		out += " desc"
	}
	if s.NullsFirst == s.Descending {
		if s.NullsFirst {
			out += " nulls first"
		} else {
			out += " nulls last"
		}
	}
	return out
}
