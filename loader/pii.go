package loader

import (
	"errors"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/lagoon-dev/lagoon/contract"
)

// errNoPIIKey: a contract hashes personal data, and the loader has no key.
var errNoPIIKey = errors.New("the contract hashes personal data but no key is set (--pii-key-file or $LAGOON_PII_KEY)")

// applyPII makes a Parquet file's personal-data columns what the table's
// contract says before any row of it is written to the table: hashed and
// masked columns become strings, dropped ones are left out. Files prepare
// wrote have had it done. Called at every attempt (the contract is read
// at each).
func (s *source) applyPII(c *contract.Contract, key []byte) error {
	if s.base == nil {
		s.base = s.schema
	}
	s.schema, s.pii, s.piiDrop = s.base, nil, nil
	if c == nil || len(c.PII) == 0 || s.mark != "" || s.prepared() {
		return nil
	}
	fields := s.base.Fields()
	for i, f := range fields {
		switch a := c.PII[f.Name]; a {
		case contract.Drop:
			s.piiDrop = append(s.piiDrop, f.Name)
		case contract.Hash, contract.Mask:
			if a == contract.Hash && len(key) == 0 {
				return errNoPIIKey
			}
			fields[i].Type = arrow.BinaryTypes.String
		}
	}
	s.pii, s.piiKey = c.PII, key
	s.schema = arrow.NewSchema(fields, nil)
	return nil
}

// tableSchema is the schema the file gives the table: its own, less the
// personal-data columns the contract drops.
func (s *source) tableSchema() *arrow.Schema {
	if len(s.piiDrop) == 0 {
		return s.schema
	}
	return keptColumns(s.schema, s.piiDrop).schema
}

// transformPII replaces, in arrs (of schema sc), the columns to hash or
// mask with their strings. The caller releases the new arrays (returned).
func (s *source) transformPII(sc *arrow.Schema, arrs []arrow.Array) []arrow.Array {
	var made []arrow.Array
	for i, f := range sc.Fields() {
		a := s.pii[f.Name]
		if a != contract.Hash && a != contract.Mask {
			continue
		}
		b := array.NewStringBuilder(memoryPool)
		col := arrs[i]
		for j := range col.Len() {
			if col.IsNull(j) {
				b.AppendNull()
				continue
			}
			b.Append(a.Transform(s.piiKey, col.ValueStr(j)))
		}
		arrs[i] = b.NewArray()
		b.Release()
		made = append(made, arrs[i])
	}
	return made
}
