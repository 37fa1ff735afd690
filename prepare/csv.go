package prepare

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// csvReader reads RFC 4180 CSV (or TSV): quoted fields may hold the
// separator, doubled quotes and line breaks, which are kept exactly (a
// CRLF inside quotes stays CRLF). Records end at LF or CRLF. A UTF-8 BOM at
// the start is skipped.
//
// It works a line at a time: a record is cut into spans, then copied once
// into a slab, and its fields are views of that copy (a quoted field with
// doubled quotes is unescaped into the slab), valid until release.
type csvReader struct {
	r       *bufio.Reader
	sep     byte
	line    int // lines consumed so far
	maxRec  int
	started bool

	rec    []byte     // the record being read
	spans  []csvSpan  // its fields, as spans of rec
	fields []csvField // the fields of the last record (reused)
	text   slab[byte]
}

// csvSpan is a field's place in the record: rec[start:end], quoted, and
// escaped when it holds doubled quotes.
type csvSpan struct {
	start, end      int
	quoted, escaped bool
}

// errRecordTooLong marks a record past the size limit; the reader skips to
// the end of its line and goes on.
var errRecordTooLong = errors.New("record too long")

func newCSVReader(r io.Reader, sep byte, maxRecord int) *csvReader {
	return &csvReader{r: bufio.NewReaderSize(r, 1<<20), sep: sep, maxRec: maxRecord}
}

// csvField is one field and whether it was quoted.
type csvField struct {
	text   string
	quoted bool
}

// release says that no field or raw text handed out so far is referred
// to any more.
func (c *csvReader) release() { c.text.reset() }

// next reads one record. It returns the line it started on, the fields
// (the slice is valid until the next call, the texts until release), the
// record's raw bytes (until release), and io.EOF at the end. A malformed
// record comes back with an error and its raw text; the reader stays
// usable.
func (c *csvReader) next() (line int, fields []csvField, raw []byte, err error) {
	if !c.started {
		c.started = true
		if b, _ := c.r.Peek(3); bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
			c.r.Discard(3)
		}
	}
	line = c.line + 1
	c.rec = c.rec[:0]
	tooLong, err := c.readLine(false)
	switch {
	case err == io.EOF && len(c.rec) == 0:
		return line, nil, nil, io.EOF
	case err != nil && err != io.EOF:
		return line, nil, nil, err
	case tooLong:
		return line, nil, c.text.copy(c.rec), fmt.Errorf("%w (over %d bytes)", errRecordTooLong, c.maxRec)
	}
	serr := c.split(line)
	rec := c.text.copy(c.rec)
	if serr != nil {
		return line, nil, trimEOL(rec), serr
	}
	return line, c.fieldsOf(rec), trimEOL(rec), nil
}

// readLine appends the next line (with its LF) to c.rec. When the record
// grows past the limit it keeps the first 200 bytes, skips the rest of the
// record (inQuotes says whether the line starts inside a quoted field)
// and says so.
func (c *csvReader) readLine(inQuotes bool) (tooLong bool, err error) {
	for {
		chunk, err := c.r.ReadSlice('\n')
		if bytes.Count(chunk, []byte{'"'})%2 == 1 {
			inQuotes = !inQuotes
		}
		if len(c.rec)+len(chunk) > c.maxRec && !tooLong {
			c.rec = append(c.rec[:min(len(c.rec), 200)], chunk[:min(len(chunk), max(0, 200-len(c.rec)))]...)
			tooLong = true
		} else if !tooLong {
			c.rec = append(c.rec, chunk...)
		}
		if err == nil {
			c.line++
		}
		switch {
		case err == bufio.ErrBufferFull, tooLong && err == nil && inQuotes:
			continue // the rest of the line, or of the quoted field
		case tooLong:
			return true, nil
		}
		return false, err
	}
}

// split cuts c.rec into spans, reading on while a quoted field spans lines.
func (c *csvReader) split(line int) error {
	c.spans = c.spans[:0]
	p := 0
	for {
		if p < len(c.rec) && c.rec[p] == '"' {
			next, err := c.quoted(p, line)
			if err != nil {
				return err
			}
			p = next
		} else {
			p = c.unquoted(p)
		}
		if p >= len(c.rec) || c.rec[p] == '\n' {
			return nil
		}
		p++ // the separator
	}
}

// unquoted takes the field at p; it returns where the field ended (at a
// separator, LF or the end). A CR before the LF ending the record is not
// part of the field.
func (c *csvReader) unquoted(p int) int {
	rest := c.rec[p:]
	n := 0 // a field is short: a loop beats two searches (one of them to the line's end)
	for n < len(rest) && rest[n] != c.sep && rest[n] != '\n' {
		n++
	}
	end := p + n
	if (end == len(c.rec) || c.rec[end] == '\n') && end > p && c.rec[end-1] == '\r' {
		end--
	}
	c.spans = append(c.spans, csvSpan{start: p, end: end})
	return p + n
}

// quoted takes the quoted field opening at p, reading more lines while it
// stays open; it returns the index just past the closing quote.
func (c *csvReader) quoted(p, line int) (int, error) {
	sp := csvSpan{start: p + 1, quoted: true}
	for i := p + 1; ; {
		q := bytes.IndexByte(c.rec[i:], '"')
		if q < 0 {
			i = len(c.rec)
			if err := c.more(line); err != nil {
				return 0, err
			}
			continue
		}
		i += q
		if i+1 < len(c.rec) && c.rec[i+1] == '"' { // a doubled quote
			sp.escaped = true
			i += 2
			continue
		}
		sp.end = i
		c.spans = append(c.spans, sp)
		return c.afterQuote(i+1, line)
	}
}

// more reads the next line into a record whose quoted field is open.
func (c *csvReader) more(line int) error {
	n := len(c.rec)
	tooLong, err := c.readLine(true)
	if tooLong {
		return fmt.Errorf("%w (over %d bytes)", errRecordTooLong, c.maxRec)
	}
	if err == io.EOF && len(c.rec) == n {
		return fmt.Errorf("line %d: quoted field not closed before the end of the file", line)
	}
	if err == io.EOF {
		return nil
	}
	return err
}

// afterQuote checks what follows a closing quote: a separator, the end of
// the record, or CR LF.
func (c *csvReader) afterQuote(i, line int) (int, error) {
	if i < len(c.rec) && c.rec[i] == '\r' && (i+1 == len(c.rec) || c.rec[i+1] == '\n') {
		i++
	}
	if i < len(c.rec) && c.rec[i] != c.sep && c.rec[i] != '\n' {
		return 0, fmt.Errorf("line %d: text after a closing quote", line)
	}
	return i, nil
}

// fieldsOf turns the spans into fields over rec, c.rec's copy.
func (c *csvReader) fieldsOf(rec []byte) []csvField {
	c.fields = c.fields[:0]
	for _, sp := range c.spans {
		text := rec[sp.start:sp.end]
		if sp.escaped {
			text = c.text.copy(bytes.ReplaceAll(text, []byte(`""`), []byte(`"`)))
		}
		c.fields = append(c.fields, csvField{text: bytesString(text), quoted: sp.quoted})
	}
	return c.fields
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}
