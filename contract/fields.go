package contract

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/apache/iceberg-go"
	"go.yaml.in/yaml/v3"

	"github.com/lagoon-dev/lagoon/lake"
)

// Field is one partition field: a transform of a source column.
type Field struct {
	Transform iceberg.Transform
	Column    string
}

// fieldSyntax is transform(column) or column; the transform may carry a
// parameter in brackets (bucket[16], truncate[4]).
var fieldSyntax = regexp.MustCompile(`^\s*(?:([a-z]+(?:\[\d+\])?)\s*\(\s*([^()\s,]+)\s*\)|([^()\s,]+))\s*$`)

// sqlSyntax is Spark SQL's form of a transform with a parameter,
// bucket(16, id) and truncate(4, region): it needs no quotes in a YAML
// list, where brackets do.
var sqlSyntax = regexp.MustCompile(`^\s*(bucket|truncate)\s*\(\s*(\d+)\s*,\s*([^()\s,]+)\s*\)\s*$`)

// ParseField reads "day(updated_at)", "bucket[16](id)", "bucket(16, id)"
// or "region".
func ParseField(s string) (Field, error) {
	if m := sqlSyntax.FindStringSubmatch(s); m != nil {
		s = m[1] + "[" + m[2] + "](" + m[3] + ")"
	}
	m := fieldSyntax.FindStringSubmatch(s)
	if m == nil {
		return Field{}, fmt.Errorf("%q: want column or transform(column)", s)
	}
	if m[3] != "" {
		return Field{Transform: iceberg.IdentityTransform{}, Column: m[3]}, checkName(m[3])
	}
	t, err := iceberg.ParseTransform(m[1])
	if err != nil {
		return Field{}, fmt.Errorf("%q: %w", s, err)
	}
	switch t.(type) {
	case iceberg.VoidTransform:
		return Field{}, fmt.Errorf("%q: the void transform partitions nothing", s)
	case iceberg.UnknownTransform:
		return Field{}, fmt.Errorf("%q: unknown transform %s: want identity, year, month, day, hour, bucket[N] or truncate[W]", s, m[1])
	}
	return Field{Transform: t, Column: m[2]}, checkName(m[2])
}

func (f Field) String() string {
	if _, ok := f.Transform.(iceberg.IdentityTransform); ok {
		return f.Column
	}
	return f.Transform.String() + "(" + f.Column + ")"
}

// UnmarshalYAML reads a field from its string form.
func (f *Field) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := ParseField(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*f = v
	return nil
}

// SortField is one field of a sort order.
type SortField struct {
	Field
	Descending bool
	NullsFirst bool
}

// ParseSortField reads "col", "col desc", "day(ts) asc nulls last". Nulls
// come first ascending and last descending unless said (Iceberg's
// defaults).
func ParseSortField(s string) (SortField, error) {
	words := strings.Fields(strings.ToLower(s))
	if len(words) == 0 {
		return SortField{}, errors.New("empty sort field")
	}
	f, err := ParseField(words[0])
	if err != nil {
		return SortField{}, err
	}
	sf := SortField{Field: f}
	rest := words[1:]
	if len(rest) > 0 && (rest[0] == "asc" || rest[0] == "desc") {
		sf.Descending = rest[0] == "desc"
		rest = rest[1:]
	}
	sf.NullsFirst = !sf.Descending
	switch strings.Join(rest, " ") {
	case "":
	case "nulls first":
		sf.NullsFirst = true
	case "nulls last":
		sf.NullsFirst = false
	default:
		return SortField{}, fmt.Errorf("%q: want column [asc|desc] [nulls first|nulls last]", s)
	}
	return sf, nil
}

// UnmarshalYAML reads a sort field from its string form.
func (f *SortField) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := ParseSortField(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*f = v
	return nil
}

// ParseType reads an Iceberg primitive type as Iceberg writes it: int,
// long, decimal(18,4), timestamptz, fixed[16], …
func ParseType(s string) (iceberg.Type, error) {
	var f iceberg.NestedField
	raw, _ := json.Marshal(map[string]any{"id": 1, "name": "c", "required": false, "type": strings.TrimSpace(s)})
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("type %q: %w", s, err)
	}
	if _, ok := f.Type.(iceberg.PrimitiveType); !ok {
		return nil, fmt.Errorf("type %q: want a primitive type", s)
	}
	switch f.Type.(type) {
	case iceberg.TimestampNsType, iceberg.TimestampTzNsType, iceberg.UnknownType,
		iceberg.VariantType, iceberg.GeometryType, iceberg.GeographyType:
		return nil, fmt.Errorf("type %q: Iceberg v3 only; lagoon's tables are v2", s)
	}
	if d, ok := f.Type.(iceberg.DecimalType); ok && (d.Precision() < 1 || d.Precision() > 38 || d.Scale() > d.Precision()) {
		return nil, fmt.Errorf("type %q: precision 1 to 38, scale at most the precision", s)
	}
	return f.Type, nil
}

// checkName refuses a column name lagoon would not give a column: names
// are normalised (lowercase a-z, 0-9, _), and the contract must say the
// name the table has.
func checkName(name string) error {
	if n := lake.NormalizeColumn(name); n != name || n == "" {
		return fmt.Errorf("column %q: the table's column is named %q", name, n)
	}
	return nil
}

func (c *Contract) check() error {
	for _, check := range []func() error{c.checkKeys, c.checkMode, c.checkColumns, c.checkSchema, c.checkPII} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c *Contract) checkKeys() error {
	seen := map[string]bool{}
	for _, k := range c.Keys {
		if err := checkName(k); err != nil {
			return fmt.Errorf("keys: %w", err)
		}
		if seen[k] {
			return fmt.Errorf("keys: %q twice", k)
		}
		seen[k] = true
		if c.PII[k] == Drop {
			return fmt.Errorf("keys: %q is dropped as PII", k)
		}
	}
	if c.OrderBy == "" {
		return nil
	}
	if len(c.Keys) == 0 {
		return errors.New("order_by: needs keys (it orders the rows of one key)")
	}
	if err := checkName(c.OrderBy); err != nil {
		return fmt.Errorf("order_by: %w", err)
	}
	return nil
}

func (c *Contract) checkMode() error {
	switch c.Mode {
	case "", Evolve, Freeze, DiscardColumns, DiscardRows:
		return nil
	}
	return fmt.Errorf("mode: %q: want evolve, freeze, discard_columns or discard_rows", c.Mode)
}

func (c *Contract) checkColumns() error {
	for name, typ := range c.Columns {
		if err := checkName(name); err != nil {
			return fmt.Errorf("columns: %w", err)
		}
		if _, err := ParseType(typ); err != nil {
			return fmt.Errorf("columns: %s: %w", name, err)
		}
	}
	return nil
}

// checkSchema: a path under assets/lagoon/, relative, not leaving it.
func (c *Contract) checkSchema() error {
	if c.Schema == "" {
		return nil
	}
	clean := path.Clean(c.Schema)
	if path.IsAbs(c.Schema) || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(c.Schema, "\\") {
		return fmt.Errorf("schema: %q: want a path relative to assets/lagoon/, inside it", c.Schema)
	}
	return nil
}

func (c *Contract) checkPII() error {
	for name, a := range c.PII {
		if err := checkName(name); err != nil {
			return fmt.Errorf("pii: %w", err)
		}
		switch a {
		case Hash, Mask, Drop:
		default:
			return fmt.Errorf("pii: %s: %q: want hash, mask or drop", name, a)
		}
	}
	return nil
}

// SchemaKey is the store key of the contract's JSON Schema.
func (c *Contract) SchemaKey() string {
	return lake.PrefixAssets + "lagoon/" + path.Clean(c.Schema)
}
