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
type csvReader struct {
	r       *bufio.Reader
	sep     byte
	line    int // lines consumed so far
	maxRec  int
	started bool
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

// next reads one record. It returns the line it started on, the fields,
// the record's raw bytes, and io.EOF at the end. A malformed record comes
// back with an error and its raw text; the reader stays usable.
func (c *csvReader) next() (line int, fields []csvField, raw []byte, err error) {
	if !c.started {
		c.started = true
		if b, _ := c.r.Peek(3); bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
			c.r.Discard(3)
		}
	}
	line = c.line + 1
	var field []byte
	quoted, inQuotes, afterQuote := false, false, false
	for {
		b, rerr := c.r.ReadByte()
		if rerr == io.EOF {
			if len(raw) == 0 {
				return line, nil, nil, io.EOF
			}
			c.line++
			if inQuotes {
				return line, nil, raw, fmt.Errorf("line %d: quoted field not closed before the end of the file", line)
			}
			return line, append(fields, csvField{string(field), quoted}), raw, nil
		}
		if rerr != nil {
			return line, nil, raw, rerr
		}
		raw = append(raw, b)
		if len(raw) > c.maxRec {
			c.skipLine(inQuotes)
			return line, nil, raw[:min(len(raw), 200)], fmt.Errorf("%w (over %d bytes)", errRecordTooLong, c.maxRec)
		}
		switch {
		case inQuotes:
			if b == '"' {
				inQuotes, afterQuote = false, true
			} else {
				if b == '\n' {
					c.line++
				}
				field = append(field, b)
			}
		case b == '"' && afterQuote: // doubled quote inside a quoted field
			field = append(field, '"')
			inQuotes, afterQuote = true, false
		case b == '"' && len(field) == 0 && !quoted:
			quoted, inQuotes = true, true
		case b == c.sep:
			fields = append(fields, csvField{string(field), quoted})
			field, quoted, afterQuote = field[:0], false, false
		case b == '\n':
			c.line++
			field = bytes.TrimSuffix(field, []byte{'\r'})
			return line, append(fields, csvField{string(field), quoted}), trimEOL(raw), nil
		case afterQuote && b == '\r':
			// CRLF after a closing quote: the LF ends the record.
		case afterQuote:
			c.skipLine(false)
			return line, nil, trimEOL(raw), fmt.Errorf("line %d: text after a closing quote", line)
		default:
			field = append(field, b)
		}
	}
}

// skipLine discards input up to the end of the current line (or of the
// quoted field and its line).
func (c *csvReader) skipLine(inQuotes bool) {
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			return
		}
		if b == '"' {
			inQuotes = !inQuotes
		}
		if b == '\n' {
			c.line++
			if !inQuotes {
				return
			}
		}
	}
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}
