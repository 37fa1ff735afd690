package orc

import (
	"fmt"
)

// StreamKind is a stream's kind (Stream.kind).
type StreamKind int

// The stream kinds a reader of rows needs (index kinds are skipped).
const (
	Present StreamKind = iota
	Data
	Length
	DictionaryData
	DictionaryCount
	Secondary
	RowIndex
	BloomFilter
	BloomFilterUTF8
)

var streamNames = [...]string{"PRESENT", "DATA", "LENGTH", "DICTIONARY_DATA", "DICTIONARY_COUNT", "SECONDARY", "ROW_INDEX", "BLOOM_FILTER", "BLOOM_FILTER_UTF8"}

func (k StreamKind) String() string {
	if k >= 0 && int(k) < len(streamNames) {
		return streamNames[k]
	}
	return fmt.Sprintf("stream kind %d", int(k))
}

// Encoding is a column's encoding in a stripe (ColumnEncoding.kind).
type Encoding int

// The encodings.
const (
	Direct Encoding = iota
	Dictionary
	DirectV2
	DictionaryV2
)

// stream is one stream of a stripe: where its bytes are.
type stream struct {
	kind   StreamKind
	column int
	offset uint64 // in the file
	length uint64
}

// stripeFooter is a stripe's footer: its streams, in file order, and
// each column's encoding.
type stripeFooter struct {
	streams  []stream
	encoding []columnEncoding
	timezone string
}

type columnEncoding struct {
	kind     Encoding
	dictSize uint64
}

// readStripeFooter reads stripe s's footer and places its streams.
func (f *File) readStripeFooter(s Stripe) (stripeFooter, error) {
	raw := make([]byte, s.FooterLength)
	if _, err := f.r.ReadAt(raw, int64(s.Offset+s.IndexLength+s.DataLength)); err != nil {
		return stripeFooter{}, fmt.Errorf("read stripe footer: %w", err)
	}
	b, err := decompress(f.PostScript.Compression, f.PostScript.BlockSize, raw, maxTail)
	if err != nil {
		return stripeFooter{}, fmt.Errorf("stripe footer: %w", err)
	}
	sf, err := parseStripeFooter(b)
	if err != nil {
		return sf, fmt.Errorf("stripe footer: %w", err)
	}
	return sf, placeStreams(&sf, s, len(f.Footer.Types))
}

// placeStreams gives each stream its offset: streams follow each other
// from the stripe's start; all of them must lie within the stripe's index
// and data, and name a column of the file.
func placeStreams(sf *stripeFooter, s Stripe, columns int) error {
	off, end := s.Offset, s.Offset+s.IndexLength+s.DataLength
	for i := range sf.streams {
		st := &sf.streams[i]
		if st.column < 0 || st.column >= columns {
			return fmt.Errorf("%w: a stream of column %d, of %d", ErrCorrupt, st.column, columns)
		}
		st.offset = off
		off += st.length
		if off < st.offset || off > end {
			return fmt.Errorf("%w: streams run past the stripe (%d of %d bytes)", ErrCorrupt, off-s.Offset, end-s.Offset)
		}
	}
	if len(sf.encoding) != columns {
		return fmt.Errorf("%w: %d column encodings for %d columns", ErrCorrupt, len(sf.encoding), columns)
	}
	return nil
}

func parseStripeFooter(b []byte) (stripeFooter, error) {
	var sf stripeFooter
	m := msg{b: b}
	for f, ok := m.next(); ok; f, ok = m.next() {
		var err error
		switch f.num {
		case 1:
			var st stream
			st, err = parseStream(f.data)
			sf.streams = append(sf.streams, st)
		case 2:
			var ce columnEncoding
			ce, err = parseEncoding(f.data)
			sf.encoding = append(sf.encoding, ce)
		case 3:
			sf.timezone = string(f.data)
		}
		if err != nil {
			return sf, err
		}
	}
	return sf, m.err
}

func parseStream(b []byte) (stream, error) {
	var st stream
	m := msg{b: b}
	for f, ok := m.next(); ok; f, ok = m.next() {
		switch f.num {
		case 1:
			st.kind = StreamKind(f.v)
		case 2:
			if f.v > 1<<31 {
				return st, fmt.Errorf("%w: stream column %d", ErrCorrupt, f.v)
			}
			st.column = int(f.v)
		case 3:
			st.length = f.v
		}
	}
	return st, m.err
}

func parseEncoding(b []byte) (columnEncoding, error) {
	var ce columnEncoding
	m := msg{b: b}
	for f, ok := m.next(); ok; f, ok = m.next() {
		switch f.num {
		case 1:
			ce.kind = Encoding(f.v)
		case 2:
			ce.dictSize = f.v
		}
	}
	if ce.kind < Direct || ce.kind > DictionaryV2 {
		return ce, fmt.Errorf("%w: column encoding %d", ErrCorrupt, ce.kind)
	}
	return ce, m.err
}
