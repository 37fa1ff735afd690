package orc

import (
	"fmt"
	"io"
)

// Compression is a file's compression kind (PostScript.compression).
type Compression int

// The compression kinds.
const (
	None Compression = iota
	Zlib
	Snappy
	Lzo
	Lz4
	Zstd
	Brotli
)

func (c Compression) String() string {
	names := []string{"none", "zlib", "snappy", "lzo", "lz4", "zstd", "brotli"}
	if c >= 0 && int(c) < len(names) {
		return names[c]
	}
	return fmt.Sprintf("compression(%d)", int(c))
}

// PostScript is the file's last message: how to read the footer.
type PostScript struct {
	FooterLength   uint64
	Compression    Compression
	BlockSize      uint64
	Version        []uint64
	MetadataLength uint64
	WriterVersion  uint64
}

// Kind is a column type's kind (Type.kind).
type Kind int

// The kinds.
const (
	Boolean Kind = iota
	Byte
	Short
	Int
	Long
	Float
	Double
	String
	Binary
	Timestamp
	List
	Map
	Struct
	Union
	Decimal
	Date
	Varchar
	Char
	TimestampInstant
)

// Type is one node of the file's type tree; types are numbered in
// preorder, 0 being the root struct.
type Type struct {
	Kind       Kind
	Subtypes   []uint64
	FieldNames []string
	MaxLength  uint64
	Precision  uint64
	Scale      uint64
}

// Stripe says where a stripe is.
type Stripe struct {
	Offset, IndexLength, DataLength, FooterLength, Rows uint64
}

// Footer is the file's footer.
type Footer struct {
	HeaderLength, ContentLength uint64
	Stripes                     []Stripe
	Types                       []Type
	Rows                        uint64
	RowIndexStride              uint64
	Writer                      uint64
}

// maxPostScript is the longest PostScript: its length is one byte.
const maxPostScript = 255

// readPostScript reads the file's PostScript from its last bytes.
func readPostScript(r io.ReaderAt, size int64) (PostScript, int64, error) {
	if size < 4 {
		return PostScript{}, 0, fmt.Errorf("%w: %d bytes", ErrCorrupt, size)
	}
	tail := make([]byte, min(size, maxPostScript+1))
	if _, err := r.ReadAt(tail, size-int64(len(tail))); err != nil {
		return PostScript{}, 0, fmt.Errorf("read tail: %w", err)
	}
	n := int(tail[len(tail)-1])
	if n == 0 || n > len(tail)-1 {
		return PostScript{}, 0, fmt.Errorf("%w: PostScript of %d bytes", ErrCorrupt, n)
	}
	ps, magic, err := parsePostScript(tail[len(tail)-1-n : len(tail)-1])
	if err == nil && !magic {
		err = checkHeader(r)
	}
	return ps, int64(n) + 1, err
}

// checkHeader looks for the magic at the file's start, where the first
// writers (Hive 0.11) put it instead of in the PostScript.
func checkHeader(r io.ReaderAt) error {
	head := make([]byte, 3)
	if _, err := r.ReadAt(head, 0); err != nil || string(head) != "ORC" {
		return fmt.Errorf("%w: no ORC magic in the PostScript or at the start", ErrCorrupt)
	}
	return nil
}

// defaultBlockSize is the compression block size of files that do not
// say (the writers' default).
const defaultBlockSize = 256 << 10

func parsePostScript(b []byte) (PostScript, bool, error) {
	ps := PostScript{BlockSize: defaultBlockSize}
	m := msg{b: b}
	magic := false
	for f, ok := m.next(); ok; f, ok = m.next() {
		var err error
		switch f.num {
		case 1:
			ps.FooterLength = f.v
		case 2:
			ps.Compression = Compression(f.v)
		case 3:
			ps.BlockSize = f.v
		case 4:
			ps.Version, err = f.uints(ps.Version)
		case 5:
			ps.MetadataLength = f.v
		case 6:
			ps.WriterVersion = f.v
		case 8000:
			magic = string(f.data) == "ORC"
		}
		if err != nil {
			return ps, false, err
		}
	}
	return ps, magic, m.err
}

func parseFooter(b []byte) (Footer, error) {
	var ft Footer
	m := msg{b: b}
	for f, ok := m.next(); ok; f, ok = m.next() {
		var err error
		switch f.num {
		case 1:
			ft.HeaderLength = f.v
		case 2:
			ft.ContentLength = f.v
		case 3:
			var s Stripe
			s, err = parseStripe(f.data)
			ft.Stripes = append(ft.Stripes, s)
		case 4:
			var t Type
			t, err = parseType(f.data)
			ft.Types = append(ft.Types, t)
		case 6:
			ft.Rows = f.v
		case 8:
			ft.RowIndexStride = f.v
		case 9:
			ft.Writer = f.v
		}
		if err != nil {
			return ft, err
		}
	}
	return ft, m.err
}

func parseStripe(b []byte) (Stripe, error) {
	var s Stripe
	m := msg{b: b}
	for f, ok := m.next(); ok; f, ok = m.next() {
		switch f.num {
		case 1:
			s.Offset = f.v
		case 2:
			s.IndexLength = f.v
		case 3:
			s.DataLength = f.v
		case 4:
			s.FooterLength = f.v
		case 5:
			s.Rows = f.v
		}
	}
	return s, m.err
}

func parseType(b []byte) (Type, error) {
	var t Type
	m := msg{b: b}
	for f, ok := m.next(); ok; f, ok = m.next() {
		var err error
		switch f.num {
		case 1:
			t.Kind = Kind(f.v)
		case 2:
			t.Subtypes, err = f.uints(t.Subtypes)
		case 3:
			t.FieldNames = append(t.FieldNames, string(f.data))
		case 4:
			t.MaxLength = f.v
		case 5:
			t.Precision = f.v
		case 6:
			t.Scale = f.v
		}
		if err != nil {
			return t, err
		}
	}
	return t, m.err
}
