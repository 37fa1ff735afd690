package prepare

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// recordReader yields a file's records; io.EOF ends it. A record that
// cannot be parsed comes back with Err set (the reader goes on); a
// returned error stops the file.
type recordReader interface {
	next() (Record, error)
}

// rawLimit bounds the raw text kept of a bad record for the rejects file.
const rawLimit = 64 << 10

func cut(b []byte) []byte {
	if len(b) > rawLimit {
		return b[:rawLimit]
	}
	return b
}

// ndjsonReader reads one JSON object per line; blank lines are skipped.
type ndjsonReader struct {
	r       *bufio.Reader
	line    int
	num     int
	maxLine int
	buf     []byte
	jsonMode
}

func newNDJSONReader(r *bufio.Reader, maxLine int) *ndjsonReader {
	return &ndjsonReader{r: r, maxLine: maxLine}
}

func (n *ndjsonReader) next() (Record, error) {
	for {
		line, tooLong, err := n.readLine()
		if err != nil {
			return Record{}, err
		}
		n.line++
		if tooLong {
			n.num++
			return Record{Line: n.line, Num: n.num, Raw: cut(line), Err: fmt.Errorf("%w (over %d bytes)", errRecordTooLong, n.maxLine)}, nil
		}
		trimmed := bytes.TrimSpace(line)
		if len(trimmed) == 0 {
			continue
		}
		n.num++
		return n.record(trimmed, n.line, n.num), nil
	}
}

// readLine returns the next line without its end. A line over maxLine is
// drained and returned cut, with tooLong set.
func (n *ndjsonReader) readLine() (line []byte, tooLong bool, err error) {
	n.buf = n.buf[:0]
	for {
		chunk, err := n.r.ReadSlice('\n')
		if len(n.buf)+len(chunk) <= n.maxLine {
			n.buf = append(n.buf, chunk...)
		} else {
			tooLong = true
			if len(n.buf) < rawLimit {
				n.buf = append(n.buf, chunk[:min(len(chunk), rawLimit-len(n.buf))]...)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(n.buf) > 0:
			return n.buf, tooLong, nil
		case err != nil:
			return nil, false, err
		}
		return bytes.TrimSuffix(n.buf, []byte{'\n'}), tooLong, nil
	}
}

// jsonMode says how JSON readers hand out records: parsed into a value
// tree (for inference), or as their text only (raw), for the decoder to
// append straight into builders. Raw texts are copied into shared slabs
// (pointer-free, so cheap for the garbage collector).
//
// The slab is reused once the records taken from it are done with (see
// release), so a conversion reads a file without allocating.
type jsonMode struct {
	raw  bool
	slab slab[byte]
}

func (m *jsonMode) record(b []byte, line, num int) Record {
	if !m.raw {
		return objectRecord(b, line, num)
	}
	return Record{Line: line, Num: num, Raw: m.slab.copy(b), Unparsed: true}
}

// release says that no record handed out so far is referred to any more.
func (m *jsonMode) release() { m.slab.reset() }

// detach hands over the records so far: they stay valid until the
// returned func is called.
func (m *jsonMode) detach() func() { return m.slab.detach() }

// objectRecord parses one record. It copies b first: readers reuse their
// buffers, and a record's values (Raw) outlive the read.
func objectRecord(b []byte, line, num int) Record {
	b = append([]byte(nil), b...)
	v, err := parseJSON(b)
	if err == nil && v.Kind != KObject {
		err = errNotObject
	}
	if err != nil {
		return Record{Line: line, Num: num, Raw: cut(b), Err: err}
	}
	return Record{Line: line, Num: num, Val: v, Raw: b}
}

// jsonStreamReader reads a JSON array of objects, or objects one after
// another in any layout (pretty-printed too), splitting top-level elements
// by scanning brackets and strings, so memory holds one element at a time.
type jsonStreamReader struct {
	r       *bufio.Reader
	line    int
	num     int
	inArray bool
	started bool
	done    bool
	maxElem int
	buf     []byte
	jsonMode
}

func newJSONStreamReader(r *bufio.Reader, maxElem int) *jsonStreamReader {
	return &jsonStreamReader{r: r, line: 1, maxElem: maxElem}
}

func (j *jsonStreamReader) next() (Record, error) {
	if j.done {
		return Record{}, io.EOF
	}
	if !j.started {
		j.started = true
		c, err := j.skipSpace()
		if err != nil {
			return Record{}, err
		}
		if c == '[' {
			j.inArray = true
		} else {
			j.r.UnreadByte()
		}
	}
	c, err := j.skipSpace()
	if err == io.EOF && !j.inArray {
		return Record{}, io.EOF
	}
	if err != nil {
		return Record{}, fmt.Errorf("line %d: unexpected end of JSON: %w", j.line, err)
	}
	if j.inArray && c == ']' {
		j.done = true
		return j.trailing()
	}
	j.r.UnreadByte()
	start := j.line
	elem, err := j.element()
	if err != nil {
		return Record{}, fmt.Errorf("line %d: %w", start, err)
	}
	j.num++
	rec := j.record(elem, start, j.num)
	if j.inArray {
		if err := j.separator(); err != nil {
			return rec, err
		}
	}
	return rec, nil
}

// trailing checks that nothing but white space follows the closing
// bracket of the array: anything else is a bad record of its own.
func (j *jsonStreamReader) trailing() (Record, error) {
	c, err := j.skipSpace()
	if err == io.EOF {
		return Record{}, io.EOF
	}
	if err != nil {
		return Record{}, err
	}
	j.r.UnreadByte()
	rest, _ := io.ReadAll(io.LimitReader(j.r, rawLimit))
	j.num++
	return Record{Line: j.line, Num: j.num, Raw: rest,
		Err: fmt.Errorf("data after the end of the JSON array (starting %q)", c)}, nil
}

// separator consumes the ',' after an array element, or sees the ']'.
func (j *jsonStreamReader) separator() error {
	c, err := j.skipSpace()
	if err != nil {
		return fmt.Errorf("line %d: array not closed", j.line)
	}
	switch c {
	case ',':
		return nil
	case ']':
		j.r.UnreadByte()
		return nil
	}
	return fmt.Errorf("line %d: expected ',' or ']' between array elements, found %q", j.line, c)
}

func (j *jsonStreamReader) skipSpace() (byte, error) {
	for {
		c, err := j.r.ReadByte()
		if err != nil {
			return 0, err
		}
		switch c {
		case '\n':
			j.line++
		case ' ', '\t', '\r':
		default:
			return c, nil
		}
	}
}

// element reads one top-level value's bytes: an object or array by
// bracket depth, or a scalar up to the next separator.
func (j *jsonStreamReader) element() ([]byte, error) {
	j.buf = j.buf[:0]
	depth, inStr, esc := 0, false, false
	for {
		c, err := j.r.ReadByte()
		if err == io.EOF && depth == 0 && len(j.buf) > 0 {
			return j.buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("unexpected end of JSON")
		}
		if len(j.buf) >= j.maxElem {
			return nil, fmt.Errorf("%w (an element over %d bytes)", errRecordTooLong, j.maxElem)
		}
		if c == '\n' {
			j.line++
		}
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
			if depth < 0 && len(j.buf) == 0 {
				return nil, fmt.Errorf("unexpected %q where a value should start", c)
			}
			if depth < 0 {
				j.r.UnreadByte()
				return j.buf, nil
			}
		case depth == 0 && (c == ',' || c == ' ' || c == '\n' || c == '\t' || c == '\r'):
			if len(j.buf) == 0 {
				return nil, fmt.Errorf("unexpected %q where a value should start", c)
			}
			j.r.UnreadByte()
			return j.buf, nil
		}
		j.buf = append(j.buf, c)
		if depth == 0 && !inStr && (c == '}' || c == ']') {
			return j.buf, nil
		}
	}
}

// csvRecords turns CSV rows into records keyed by the header row.
type csvRecords struct {
	c      *csvReader
	header []string
	num    int
	fields slab[Field] // only record writes into it, and only Name, Kind, Str, Quoted
}

// release says that no record handed out so far is referred to any more.
func (cr *csvRecords) release() {
	cr.c.release()
	cr.fields.reset()
}

// detach hands over the records so far: they stay valid until the
// returned func is called.
func (cr *csvRecords) detach() func() {
	text, fields := cr.c.text.detach(), cr.fields.detach()
	return func() {
		text()
		fields()
	}
}

func newCSVRecords(c *csvReader) (*csvRecords, error) {
	_, fields, _, err := c.next()
	if err == io.EOF {
		return nil, fmt.Errorf("no header row: the file is empty")
	}
	if err != nil {
		return nil, fmt.Errorf("header row: %w", err)
	}
	cr := &csvRecords{c: c, header: headerNames(fields)}
	return cr, nil
}

// headerNames names the columns of a CSV header row: an empty name
// becomes col_<position> and a repeated one gets _2, _3, … (in order), so
// every column has a name of its own, the same for every file.
func headerNames(fields []csvField) []string {
	out := make([]string, len(fields))
	taken := map[string]bool{}
	for _, f := range fields {
		taken[f.text] = true
	}
	seen := map[string]bool{}
	for i, f := range fields {
		name := strings.Clone(f.text)
		if strings.TrimSpace(name) == "" {
			name = "col_" + strconv.Itoa(i+1)
		}
		if seen[name] {
			base := name
			for n := 2; seen[name] || taken[name] && name != base; n++ {
				name = base + "_" + strconv.Itoa(n)
			}
		}
		seen[name] = true
		out[i] = name
	}
	return out
}

func (cr *csvRecords) next() (Record, error) {
	for {
		rec, blank, err := cr.record()
		if !blank {
			return rec, err
		}
	}
}

// record reads one row; blank is set for a blank line (skipped).
func (cr *csvRecords) record() (rec Record, blank bool, err error) {
	line, fields, raw, err := cr.c.next()
	if err == io.EOF {
		return Record{}, false, io.EOF
	}
	if err == nil && len(fields) == 1 && fields[0].text == "" && !fields[0].quoted {
		return Record{}, true, nil
	}
	cr.num++
	rec = Record{Line: line, Num: cr.num, Raw: cut(raw)}
	switch {
	case err != nil && (errors.Is(err, errRecordTooLong) || raw != nil):
		rec.Err = err
		return rec, false, nil
	case err != nil:
		return Record{}, false, err
	case len(fields) != len(cr.header):
		rec.Err = fmt.Errorf("ragged row: %d fields, the header has %d", len(fields), len(cr.header))
		return rec, false, nil
	case !utf8.Valid(raw):
		// Checked once for the whole row (cheaper than field by field):
		// its fields (KText) need no check of their own.
		rec.Err = invalidUTF8(string(raw))
		return rec, false, nil
	}
	v := Value{Kind: KObject, Fields: cr.fields.take(len(fields))}
	for i, f := range fields {
		// Only what a CSV field sets: the slab is this reader's alone, so
		// the other members of every item are still zero (writing them
		// again costs a write barrier per pointer while the GC marks).
		fv := &v.Fields[i]
		fv.Name, fv.Val.Kind, fv.Val.Str, fv.Val.Quoted = cr.header[i], KText, f.text, f.quoted
	}
	rec.Val = v
	return rec, false, nil
}

// invalidUTF8 is the reason a value with bytes that are not UTF-8 is bad.
// CSV rows are checked whole by their reader; JSON strings only when they
// go into string columns (numbers, dates and the like are parsed from
// ASCII), so valid text costs one pass over its strings and nothing more.
func invalidUTF8(b string) error {
	at := 0
	for at < len(b) {
		r, n := utf8.DecodeRuneInString(b[at:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		at += n
	}
	return fmt.Errorf("%w: byte %d (0x%02X) is not UTF-8; lagoon reads UTF-8 text only: convert the file (e.g. iconv -f latin1 -t utf-8)", errNotUTF8, at, b[min(at, len(b)-1)])
}

// errNotUTF8 classifies records with bytes that are not UTF-8.
var errNotUTF8 = errors.New("invalid UTF-8")
