package prepare

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// maxDepth bounds nesting, so hostile input cannot exhaust the stack.
const maxDepth = 512

// parseJSON parses one JSON value that spans all of b (surrounding
// whitespace allowed). Object fields keep their order.
func parseJSON(b []byte) (Value, error) {
	p := jsonParser{b: b}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return Value{}, err
	}
	p.skipSpace()
	if p.i != len(p.b) {
		return Value{}, p.errf("unexpected %q after the value", p.b[p.i])
	}
	return v, nil
}

type jsonParser struct {
	b []byte
	i int
}

// errLoneSurrogate: a \uD800–\uDFFF escape not in a pair, which no UTF-8
// string can hold (encoding/json replaces it with U+FFFD; lagoon makes its
// record bad).
var errLoneSurrogate = errors.New("half a UTF-16 surrogate pair: not a character, cannot be stored as UTF-8")

func (p *jsonParser) errf(format string, args ...any) error {
	return fmt.Errorf("offset %d: %s", p.i, fmt.Sprintf(format, args...))
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (Value, error) {
	if p.i >= len(p.b) {
		return Value{}, p.errf("unexpected end of input")
	}
	if depth > maxDepth {
		return Value{}, p.errf("nested deeper than %d", maxDepth)
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		return Value{Kind: KString, Str: s}, err
	case c == 't':
		return Value{Kind: KBool, Bool: true}, p.literal("true")
	case c == 'f':
		return Value{Kind: KBool}, p.literal("false")
	case c == 'n':
		return Value{}, p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return Value{}, p.errf("unexpected %q", c)
	}
}

func (p *jsonParser) literal(word string) error {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return p.errf("invalid literal")
	}
	p.i += len(word)
	return nil
}

func (p *jsonParser) object(depth int) (Value, error) {
	start := p.i
	p.i++ // {
	v := Value{Kind: KObject, Fields: make([]Field, 0, 8)}
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		v.Raw = p.b[start:p.i]
		return v, nil
	}
	for {
		p.skipSpace()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return Value{}, p.errf("expected a field name")
		}
		name, err := p.str()
		if err != nil {
			return Value{}, err
		}
		p.skipSpace()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return Value{}, p.errf("expected ':' after field %q", name)
		}
		p.i++
		p.skipSpace()
		val, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		v.Fields = append(v.Fields, Field{Name: name, Val: val})
		p.skipSpace()
		if p.i >= len(p.b) {
			return Value{}, p.errf("unterminated object")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			v.Raw = p.b[start:p.i]
			return v, nil
		default:
			return Value{}, p.errf("expected ',' or '}' in object")
		}
	}
}

func (p *jsonParser) array(depth int) (Value, error) {
	start := p.i
	p.i++ // [
	v := Value{Kind: KArray}
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		v.Raw = p.b[start:p.i]
		return v, nil
	}
	for {
		p.skipSpace()
		e, err := p.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		v.Elems = append(v.Elems, e)
		p.skipSpace()
		if p.i >= len(p.b) {
			return Value{}, p.errf("unterminated array")
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			v.Raw = p.b[start:p.i]
			return v, nil
		default:
			return Value{}, p.errf("expected ',' or ']' in array")
		}
	}
}

func (p *jsonParser) number() (Value, error) {
	start := p.i
	if p.b[p.i] == '-' {
		p.i++
	}
	digits := p.digits()
	if digits == 0 {
		return Value{}, p.errf("invalid number")
	}
	if digits > 1 && p.b[start] == '0' || digits > 1 && p.b[start] == '-' && p.b[start+1] == '0' {
		return Value{}, p.errf("number with a leading zero")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if p.digits() == 0 {
			return Value{}, p.errf("invalid number")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			return Value{}, p.errf("invalid number")
		}
	}
	return Value{Kind: KNumber, Str: bytesString(p.b[start:p.i])}, nil
}

func (p *jsonParser) digits() int {
	n := 0
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}

// str parses a string at p.i (which holds the opening quote).
func (p *jsonParser) str() (string, error) {
	s, _, err := p.strASCII()
	return s, err
}

// strASCII is str, also reporting whether the string is plain ASCII (so
// valid UTF-8 without a check). A string with escapes reports false.
func (p *jsonParser) strASCII() (string, bool, error) {
	p.i++
	start := p.i
	var seen uint64 // every byte scanned, or-ed: its high bits say non-ASCII
	for p.i+8 <= len(p.b) {
		w := binary.LittleEndian.Uint64(p.b[p.i:])
		if special8(w) {
			break
		}
		seen |= w
		p.i += 8 // eight plain bytes at a time
	}
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := bytesString(p.b[start:p.i])
			p.i++
			return s, seen&0x8080808080808080 == 0, nil
		case c == '\\':
			s, err := p.strSlow(start)
			return s, false, err
		case c < 0x20:
			return "", false, p.errf("control character in string")
		}
		seen |= uint64(c)
		p.i++
	}
	return "", false, p.errf("unterminated string")
}

// special8 reports whether any of the eight bytes in w is a quote, a
// backslash or a control character (SWAR: no branch per byte). It may
// also flag plain bytes after a special one, never before.
func special8(w uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q, b := w^(0x22*lo), w^(0x5c*lo)
	return ((q-lo)&^q|(b-lo)&^b|(w-0x20*lo)&^w)&hi != 0
}

// strSlow finishes a string that holds escapes.
func (p *jsonParser) strSlow(start int) (string, error) {
	buf := append([]byte(nil), p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(buf), nil
		case c == '\\':
			var err error
			buf, err = p.escape(buf)
			if err != nil {
				return "", err
			}
		case c < 0x20:
			return "", p.errf("control character in string")
		default:
			buf = append(buf, c)
			p.i++
		}
	}
	return "", p.errf("unterminated string")
}

var simpleEscapes = map[byte]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

func (p *jsonParser) escape(buf []byte) ([]byte, error) {
	if p.i+1 >= len(p.b) {
		return nil, p.errf("unterminated escape")
	}
	e := p.b[p.i+1]
	if r, ok := simpleEscapes[e]; ok {
		p.i += 2
		return append(buf, r), nil
	}
	if e != 'u' {
		return nil, p.errf("invalid escape \\%c", e)
	}
	r, err := p.hex4(p.i + 2)
	if err != nil {
		return nil, err
	}
	p.i += 6
	if utf16.IsSurrogate(r) {
		if p.i+6 <= len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
			if r2, err := p.hex4(p.i + 2); err == nil {
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					p.i += 6
					return utf8.AppendRune(buf, dec), nil
				}
			}
		}
		// encoding/json writes U+FFFD for it; a value never changes silently.
		p.i -= 6
		return nil, fmt.Errorf("offset %d: \\u%04X is %w", p.i, r, errLoneSurrogate)
	}
	return utf8.AppendRune(buf, r), nil
}

func (p *jsonParser) hex4(at int) (rune, error) {
	if at+4 > len(p.b) {
		return 0, p.errf("short \\u escape")
	}
	n, err := strconv.ParseUint(string(p.b[at:at+4]), 16, 16)
	if err != nil {
		return 0, p.errf("invalid \\u escape")
	}
	return rune(n), nil
}

// bytesString views b as a string without copying. The parser's input is
// a record's own copy (see objectRecord), never reused, so the strings stay
// valid for as long as the record; whatever outlives it is cloned.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

var errNotObject = errors.New("record is not a JSON object")
