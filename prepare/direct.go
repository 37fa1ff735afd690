package prepare

import (
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// decoder appends JSON records straight into Arrow builders, guided by the
// inferred type, without building a value tree: objects and arrays are
// walked in place and only scalars become (stack) Values, which go through
// appendValue, so every conversion is the tree path's. It is the hot path
// of JSON conversion; inference still parses into trees.
type decoder struct {
	p        jsonParser
	children map[*array.StructBuilder][]array.Builder
	slot     int // the builder's slot in the types' column hints
}

func newDecoder(slot int) *decoder {
	return &decoder{children: map[*array.StructBuilder][]array.Builder{}, slot: slot}
}

// colPath is a lazily built column path, spelled out only for errors.
type colPath struct {
	parent *colPath
	name   string
	suffix string // "." after a struct, "[]" for list elements
}

func (p *colPath) String() string {
	if p == nil {
		return ""
	}
	return p.parent.String() + p.name + p.suffix
}

// record appends one record (a JSON object's text) to the top struct's
// builders. A syntax error comes back as a *convError with syntax set
// (the same text the tree parser gives); otherwise as appendRecord's.
func (d *decoder) record(builders []array.Builder, t *Type, raw []byte) error {
	d.p = jsonParser{b: raw}
	d.p.skipSpace()
	if d.p.i >= len(raw) || raw[d.p.i] != '{' {
		return syntaxError(raw)
	}
	if err := d.object(builders, t, nil, 0); err != nil {
		if _, perr := parseJSON(raw); perr != nil {
			return &convError{syntax: true, msg: perr.Error()} // bad JSON, whatever the builders met first
		}
		return err
	}
	d.p.skipSpace()
	if d.p.i != len(raw) {
		return syntaxError(raw)
	}
	return nil
}

// syntaxError is the tree parser's verdict on a record that is not one
// JSON object.
func syntaxError(raw []byte) error {
	v, err := parseJSON(raw)
	if err == nil && v.Kind != KObject {
		err = errNotObject
	}
	if err == nil {
		err = errNotObject
	}
	return &convError{syntax: true, msg: err.Error()}
}

// object walks an object at d.p.i into the builders of struct t.
func (d *decoder) object(builders []array.Builder, t *Type, at *colPath, depth int) error {
	var small [64]bool
	set := small[:0]
	if len(builders) <= len(small) {
		set = small[:len(builders)]
	} else {
		set = make([]bool, len(builders))
	}
	p := &d.p
	p.i++ // {
	p.skipSpace()
	for pos := 0; p.i < len(p.b) && p.b[p.i] != '}'; pos++ {
		if p.b[p.i] != '"' {
			return p.errf("expected a field name")
		}
		name, err := p.str()
		if err != nil {
			return err
		}
		p.skipSpace()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return p.errf("expected ':' after field %q", name)
		}
		p.i++
		p.skipSpace()
		if err := d.field(builders, set, t, pos, name, at, depth); err != nil {
			return err
		}
		if err := p.member('}'); err != nil {
			return err
		}
	}
	if p.i >= len(p.b) {
		return p.errf("unterminated object")
	}
	p.i++ // }
	for i, b := range builders {
		if !set[i] {
			b.AppendNull()
		}
	}
	return nil
}

// field appends one member's value to its column (as appendFields does).
func (d *decoder) field(builders []array.Builder, set []bool, t *Type, pos int, name string, at *colPath, depth int) error {
	if d.p.i >= len(d.p.b) {
		return d.p.errf("unexpected end of input")
	}
	c := t.columnAt(pos, name, d.slot)
	if c == nil || c.idx < 0 {
		if d.p.b[d.p.i] == 'n' { // null: nothing to add
			return d.p.literal("null")
		}
		msg := "a new column"
		if c != nil {
			msg = "first value of a column seen only empty"
		}
		return &convError{widen: true, path: (&colPath{parent: at, name: name}).String(), msg: msg}
	}
	if set[c.idx] {
		return &convError{path: (&colPath{parent: at, name: name}).String(), msg: "field given twice in one record"}
	}
	set[c.idx] = true
	return d.value(builders[c.idx], c.Type, &colPath{parent: at, name: name}, depth+1)
}

// value appends the JSON value at d.p.i to b.
func (d *decoder) value(b array.Builder, t *Type, at *colPath, depth int) error {
	p := &d.p
	if p.i >= len(p.b) {
		return p.errf("unexpected end of input")
	}
	if depth > maxDepth {
		return p.errf("nested deeper than %d", maxDepth)
	}
	switch p.b[p.i] {
	case '{':
		if sb, ok := b.(*array.StructBuilder); ok && t.Kind == TStruct {
			sb.Append(true)
			return d.object(d.fields(sb), t, &colPath{parent: at, suffix: "."}, depth)
		}
	case '[':
		if lb, ok := b.(*array.ListBuilder); ok && t.Kind == TList {
			return d.list(lb, t, at, depth)
		}
	case '"':
		if sb, ok := b.(*array.StringBuilder); ok {
			return d.text(sb, at)
		}
	}
	// A scalar, or a shape the column does not take as is (JSON text, a
	// map, a mismatch): the tree path decides, on this value alone.
	v, err := p.value(depth)
	if err != nil {
		return err
	}
	// The path is spelled out only on error: appendValue's paths are
	// relative to the one it is given.
	err = appendValue(b, t, v, "", d.slot)
	if ce, ok := err.(*convError); ok {
		ce.path = at.String() + ce.path
	}
	return err
}

// text appends the JSON string at d.p.i to a string column: what
// appendValue does with it (its UTF-8 checked, unless it is plain ASCII),
// without a Value. Strings are most of a feed's values.
func (d *decoder) text(b *array.StringBuilder, at *colPath) error {
	s, ascii, err := d.p.strASCII()
	if err != nil {
		return err
	}
	if !ascii && !utf8.ValidString(s) {
		return &convError{path: at.String(), msg: invalidUTF8(s).Error()}
	}
	b.Append(s)
	return nil
}

func (d *decoder) list(b *array.ListBuilder, t *Type, at *colPath, depth int) error {
	p := &d.p
	b.Append(true)
	vb := b.ValueBuilder()
	elem := &colPath{parent: at, suffix: "[]"}
	p.i++ // [
	p.skipSpace()
	for p.i < len(p.b) && p.b[p.i] != ']' {
		if err := d.value(vb, t.Elem, elem, depth+1); err != nil {
			return err
		}
		if err := p.member(']'); err != nil {
			return err
		}
	}
	if p.i >= len(p.b) {
		return p.errf("unterminated array")
	}
	p.i++ // ]
	return nil
}

// fields returns a struct builder's field builders (cached: builders live
// as long as the conversion).
func (d *decoder) fields(b *array.StructBuilder) []array.Builder {
	if fs, ok := d.children[b]; ok {
		return fs
	}
	fs := make([]array.Builder, b.NumField())
	for i := range fs {
		fs[i] = b.FieldBuilder(i)
	}
	d.children[b] = fs
	return fs
}

// member moves past what follows a member of an object or array: a comma
// and the next member's start, or (left in place) the closing bracket.
// The decoder's syntax errors are worded again by the tree parser.
func (p *jsonParser) member(closing byte) error {
	p.skipSpace()
	switch {
	case p.i < len(p.b) && p.b[p.i] == ',':
		p.i++
		p.skipSpace()
		if p.i < len(p.b) && p.b[p.i] == closing {
			return p.errf("a comma before %q", closing)
		}
	case p.i >= len(p.b) || p.b[p.i] != closing:
		return p.errf("expected ',' or %q", closing)
	}
	return nil
}
