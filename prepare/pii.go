package prepare

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lagoon-dev/lagoon/contract"
)

// ErrNoPIIKey says a contract asks to hash personal data and no key was
// given: the table stops (nothing is written in the clear, nor hashed with
// a key anyone could guess).
var ErrNoPIIKey = errors.New("the contract hashes personal data but no key is set (--pii-key-file or $LAGOON_PII_KEY)")

// WithheldRaw stands in a bad record's raw text when its table has
// personal data: the text could hold it in the clear.
const WithheldRaw = "(withheld: the table's contract marks personal data)"

// piiPlan applies a contract's PII actions to output records: hashed and
// masked columns become strings, dropped ones go.
type piiPlan struct {
	actions map[string]contract.PIIAction
	key     []byte
	in, out *arrow.Schema
}

// newPIIPlan plans the actions for records of schema in; nil when there
// are none.
func newPIIPlan(in *arrow.Schema, actions map[string]contract.PIIAction, key []byte) (*piiPlan, error) {
	if len(actions) == 0 {
		return nil, nil
	}
	var fields []arrow.Field
	for _, f := range in.Fields() {
		switch actions[f.Name] {
		case contract.Drop:
			continue
		case contract.Hash:
			if len(key) == 0 {
				return nil, ErrNoPIIKey
			}
			f.Type = arrow.BinaryTypes.String
		case contract.Mask:
			f.Type = arrow.BinaryTypes.String
		}
		fields = append(fields, f)
	}
	return &piiPlan{actions: actions, key: key, in: in, out: arrow.NewSchema(fields, nil)}, nil
}

// schema is the output schema (p nil: in).
func (p *piiPlan) schema(in *arrow.Schema) *arrow.Schema {
	if p == nil {
		return in
	}
	return p.out
}

// apply returns rec with the actions applied; it releases rec.
func (p *piiPlan) apply(rec arrow.RecordBatch, mem memory.Allocator) arrow.RecordBatch {
	if p == nil {
		return rec
	}
	defer rec.Release()
	cols := make([]arrow.Array, 0, len(p.out.Fields()))
	for i, f := range p.in.Fields() {
		col := rec.Column(i)
		switch a := p.actions[f.Name]; a {
		case contract.Drop:
			continue
		case contract.Hash, contract.Mask:
			cols = append(cols, p.transform(col, a, mem))
		default:
			col.Retain()
			cols = append(cols, col)
		}
	}
	out := array.NewRecordBatch(p.out, cols, rec.NumRows())
	for _, c := range cols {
		c.Release()
	}
	return out
}

func (p *piiPlan) transform(col arrow.Array, a contract.PIIAction, mem memory.Allocator) arrow.Array {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.Reserve(col.Len())
	for i := range col.Len() {
		if col.IsNull(i) {
			b.AppendNull()
			continue
		}
		b.Append(a.Transform(p.key, col.ValueStr(i)))
	}
	return b.NewArray()
}

// checkPII refuses actions on columns of types lagoon cannot treat as text.
func checkPII(in *arrow.Schema, actions map[string]contract.PIIAction) error {
	for name, a := range actions {
		if a == contract.Drop {
			continue
		}
		for _, f := range in.Fields() {
			if f.Name == name && !arrow.IsPrimitive(f.Type.ID()) && !arrow.IsBinaryLike(f.Type.ID()) {
				return fmt.Errorf("pii: %s: cannot %s a %s column", name, a, f.Type)
			}
		}
	}
	return nil
}
