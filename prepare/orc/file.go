package orc

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// ErrUnsupported is wrapped by errors about files this reader cannot read
// though they may be sound (LZO, a future file version).
var ErrUnsupported = errors.New("unsupported ORC file")

// maxTail bounds the footer and metadata a file may declare: what lagoon
// reads whole before any row.
const maxTail = 64 << 20

// File is an open ORC file: its tail decoded.
type File struct {
	r          io.ReaderAt
	size       int64
	PostScript PostScript
	Footer     Footer
	zones      map[string]*time.Location // writers' time zones, by name
	names      []string                  // columns' paths, by column (see columnName)
	types      []arrow.DataType          // columns' Arrow types, by column (see typeOf)
}

// Open reads the tail of the ORC file r of size bytes.
func Open(r io.ReaderAt, size int64) (*File, error) {
	ps, psLen, err := readPostScript(r, size)
	if errors.Is(err, ErrCorrupt) {
		return nil, fmt.Errorf("no PostScript at the file's end (is it cut short, or not ORC?): %w", err)
	}
	if err != nil {
		return nil, err
	}
	if err := checkPostScript(ps); err != nil {
		return nil, err
	}
	if ps.FooterLength > maxTail || int64(ps.FooterLength)+psLen > size-3 {
		return nil, fmt.Errorf("%w: a footer of %d bytes in a file of %d", ErrCorrupt, ps.FooterLength, size)
	}
	raw := make([]byte, ps.FooterLength)
	if _, err := r.ReadAt(raw, size-psLen-int64(ps.FooterLength)); err != nil {
		return nil, fmt.Errorf("read footer: %w", err)
	}
	b, err := decompress(ps.Compression, ps.BlockSize, raw, maxTail)
	if err != nil {
		return nil, fmt.Errorf("footer: %w", err)
	}
	ft, err := parseFooter(b)
	if err != nil {
		return nil, fmt.Errorf("footer: %w", err)
	}
	f := &File{r: r, size: size, PostScript: ps, Footer: ft}
	return f, f.checkFooter()
}

func checkPostScript(ps PostScript) error {
	if ps.Compression < None || ps.Compression > Brotli {
		return fmt.Errorf("%w: compression kind %d", ErrCorrupt, ps.Compression)
	}
	if ps.Compression != None && (ps.BlockSize == 0 || ps.BlockSize > 1<<23) {
		return fmt.Errorf("%w: compression block of %d bytes", ErrCorrupt, ps.BlockSize)
	}
	return nil
}

// checkFooter refuses a footer whose stripes lie outside the file or
// whose types do not form a tree.
func (f *File) checkFooter() error {
	for i, s := range f.Footer.Stripes {
		end := s.Offset + s.IndexLength + s.DataLength + s.FooterLength
		if end < s.Offset || end > uint64(f.size) {
			return fmt.Errorf("%w: stripe %d ends at %d, past the file's %d bytes", ErrCorrupt, i, end, f.size)
		}
	}
	parents := make([]int, len(f.Footer.Types))
	for i, t := range f.Footer.Types {
		for _, sub := range t.Subtypes {
			if sub <= uint64(i) || sub >= uint64(len(f.Footer.Types)) {
				return fmt.Errorf("%w: type %d has subtype %d", ErrCorrupt, i, sub)
			}
			// one parent each: a type shared by two would be read twice
			// (and a chain of them, exponentially many times)
			if parents[sub]++; parents[sub] > 1 {
				return fmt.Errorf("%w: type %d is a subtype of two types", ErrCorrupt, sub)
			}
		}
		if t.Kind == Struct && len(t.FieldNames) != len(t.Subtypes) {
			return fmt.Errorf("%w: struct type %d: %d names for %d fields", ErrCorrupt, i, len(t.FieldNames), len(t.Subtypes))
		}
	}
	return nil
}
