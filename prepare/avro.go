package prepare

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"time"

	"github.com/twmb/avro"
	"github.com/twmb/avro/ocf"
)

// avroReader reads an Avro object container file. Values follow the
// file's schema: records keep field order, logical dates and timestamps
// become date/timestamp text (so they are inferred as such), decimals and
// maps become exact text, bytes and fixed become base64.
type avroReader struct {
	r    *ocf.Reader
	root avro.SchemaNode
	num  int
}

func newAvroReader(r io.Reader) (*avroReader, error) {
	or, err := ocf.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("avro: %w", err)
	}
	root := *or.Schema().Root()
	if root.Type != "record" {
		return nil, fmt.Errorf("avro: top-level schema is %s, want a record", root.Type)
	}
	return &avroReader{r: or, root: root}, nil
}

func (a *avroReader) next() (Record, error) {
	var x any
	if err := a.r.Decode(&x); err != nil {
		if err == io.EOF {
			return Record{}, io.EOF
		}
		return Record{}, fmt.Errorf("avro record %d: %w", a.num+1, err)
	}
	a.num++
	v := avroValue(&a.root, x)
	raw, _ := json.Marshal(x)
	return Record{Line: a.num, Num: a.num, Val: v, Raw: cut(raw)}, nil
}

func avroValue(n *avro.SchemaNode, x any) Value {
	if x == nil {
		return Value{}
	}
	switch n.Type {
	case "record":
		return avroRecord(n, x)
	case "array":
		return avroArray(n, x)
	case "union":
		return avroUnion(n, x)
	case "map":
		b, _ := json.Marshal(x)
		return Value{Kind: KString, Str: string(b)}
	}
	return avroScalar(n, x)
}

func avroRecord(n *avro.SchemaNode, x any) Value {
	m, ok := x.(map[string]any)
	if !ok {
		return avroScalar(n, x)
	}
	v := Value{Kind: KObject, Fields: make([]Field, 0, len(n.Fields))}
	for i := range n.Fields {
		f := &n.Fields[i]
		v.Fields = append(v.Fields, Field{Name: f.Name, Val: avroValue(&f.Type, m[f.Name])})
	}
	v.Raw, _ = json.Marshal(m)
	return v
}

func avroArray(n *avro.SchemaNode, x any) Value {
	items, ok := x.([]any)
	if !ok || n.Items == nil {
		return avroScalar(n, x)
	}
	v := Value{Kind: KArray, Elems: make([]Value, len(items))}
	for i, it := range items {
		v.Elems[i] = avroValue(n.Items, it)
	}
	v.Raw, _ = json.Marshal(items)
	return v
}

// avroUnion picks the branch a decoded value belongs to: the only
// non-null branch, or the first whose kind matches.
func avroUnion(n *avro.SchemaNode, x any) Value {
	var nonNull []*avro.SchemaNode
	for i := range n.Branches {
		if n.Branches[i].Type != "null" {
			nonNull = append(nonNull, &n.Branches[i])
		}
	}
	if len(nonNull) == 1 {
		return avroValue(nonNull[0], x)
	}
	if m, ok := x.(map[string]any); ok {
		for _, b := range nonNull {
			if b.Type == "record" && len(b.Fields) == len(m) {
				return avroValue(b, x)
			}
		}
	}
	return avroScalar(&avro.SchemaNode{}, x)
}

func avroScalar(n *avro.SchemaNode, x any) Value {
	switch t := x.(type) {
	case bool:
		return Value{Kind: KBool, Bool: t}
	case int32:
		return Value{Kind: KNumber, Str: strconv.FormatInt(int64(t), 10)}
	case int64:
		return Value{Kind: KNumber, Str: strconv.FormatInt(t, 10)}
	case float32:
		return floatValue(float64(t), 32)
	case float64:
		return floatValue(t, 64)
	case string:
		return Value{Kind: KString, Str: t}
	case []byte:
		return Value{Kind: KString, Str: base64.StdEncoding.EncodeToString(t)}
	case time.Time:
		return Value{Kind: KString, Str: avroTime(n.LogicalType, t)}
	case time.Duration:
		return Value{Kind: KString, Str: time.Time{}.Add(t).Format("15:04:05.999999")}
	case *big.Rat:
		return Value{Kind: KNumber, Str: t.FloatString(n.Scale), Exact: true}
	case [16]byte:
		return Value{Kind: KString, Str: base64.StdEncoding.EncodeToString(t[:])}
	}
	b, _ := json.Marshal(x)
	return Value{Kind: KString, Str: string(b)}
}

// floatValue keeps a float's shortest exact text; NaN and infinities, which
// JSON numbers cannot hold, become text.
func floatValue(f float64, bits int) Value {
	s := strconv.FormatFloat(f, 'g', -1, bits)
	if _, err := strconv.ParseFloat(s, 64); err != nil || s == "NaN" || s == "+Inf" || s == "-Inf" {
		return Value{Kind: KString, Str: s}
	}
	if !isDecimal(s) && !isInteger(s) {
		return Value{Kind: KString, Str: s}
	}
	if isInteger(s) {
		s += ".0" // keep floats floats
	}
	return Value{Kind: KNumber, Str: s}
}

func avroTime(logical string, t time.Time) string {
	switch logical {
	case "date":
		return t.Format(time.DateOnly)
	case "local-timestamp-millis", "local-timestamp-micros", "local-timestamp-nanos":
		return t.Format("2006-01-02T15:04:05.999999999")
	}
	return t.UTC().Format(time.RFC3339Nano)
}
