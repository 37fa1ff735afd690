package pqcopy

import (
	"bufio"
	"fmt"
	"hash/crc32"
	"io"
	"slices"

	"github.com/lagoon-dev/lagoon/pqcompat"
)

// Parquet page types and the encodings this package names (parquet.thrift).
const (
	pageData       = 0
	pageIndex      = 1
	pageDictionary = 2
	pageDataV2     = 3

	encodingPlain = 0
	encodingRLE   = 3
	encodingDict  = 8 // RLE_DICTIONARY
)

// maxHeader bounds a page header (statistics included): a larger one is
// not copied, and the file is re-encoded instead.
const maxHeader = 1 << 20

// chunkPages is what copying a column chunk learnt from its page headers.
type chunkPages struct {
	uncompressed int64 // headers plus uncompressed page bodies
	values       int64 // the data pages' values (levels), nulls included
	firstData    int64 // the first data page's offset from the chunk's start
	dictionary   bool  // the chunk starts with a dictionary page
	encodings    []int32
	pageStats    map[PageKind]int32 // pages per (type, encoding)
}

// PageKind is a page type and its encoding.
type PageKind struct{ Page, Encoding int32 }

// copyChunk copies the length bytes of a column chunk from r to w, page
// by page, checking every page header on the way: known page types only
// (a dictionary page first, if at all, then data pages), sizes within the
// chunk, a page's CRC where the header has one, and the pages filling the
// chunk exactly. Anything else wraps ErrUnfit.
func copyChunk(w io.Writer, r io.Reader, length int64) (chunkPages, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, length), 256<<10)
	cp := chunkPages{firstData: -1, pageStats: map[PageKind]int32{}}
	for pos := int64(0); pos < length; {
		hdr, n, err := readHeader(br, length-pos)
		if err != nil {
			return cp, err
		}
		body, err := cp.note(hdr, pos, length-pos-int64(n))
		if err != nil {
			return cp, err
		}
		if err := copyPage(w, br, n, body, hdr.Get(4)); err != nil {
			return cp, err
		}
		pos += int64(n) + body
		cp.uncompressed += int64(n)
	}
	if cp.firstData < 0 {
		return cp, fmt.Errorf("%w: a column chunk without a data page", ErrUnfit)
	}
	slices.Sort(cp.encodings)
	return cp, nil
}

// readHeader decodes the page header at the reader's position without
// consuming it: the header and its length.
func readHeader(br *bufio.Reader, left int64) (pqcompat.Value, int, error) {
	for size := 4 << 10; ; size *= 4 {
		peek, err := br.Peek(int(min(int64(size), left, maxHeader)))
		if err != nil && len(peek) == 0 {
			return pqcompat.Value{}, 0, fmt.Errorf("read page header: %w", noEOF(err))
		}
		hdr, n, derr := pqcompat.DecodeStruct(peek, 0)
		if derr == nil {
			return hdr, n, nil
		}
		if len(peek) < size || size >= maxHeader {
			return pqcompat.Value{}, 0, fmt.Errorf("%w: page header: %v", ErrUnfit, derr)
		}
	}
}

// noEOF is err, a chunk cut short reading as ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// note checks one page header and records it; it returns the page body's
// length. left is what the chunk holds after the header.
func (cp *chunkPages) note(hdr pqcompat.Value, pos, left int64) (int64, error) {
	typ, ok1 := intField(&hdr, 1)
	unc, ok2 := intField(&hdr, 2)
	body, ok3 := intField(&hdr, 3)
	if !ok1 || !ok2 || !ok3 || unc < 0 || body < 0 || body > left {
		return 0, fmt.Errorf("%w: page header at %d: sizes %d/%d of %d bytes left", ErrUnfit, pos, body, unc, left)
	}
	cp.uncompressed += unc
	switch typ {
	case pageDictionary:
		return body, cp.dictionaryPage(hdr.Get(7), pos)
	case pageData, pageDataV2:
		return body, cp.dataPage(&hdr, int32(typ), pos)
	}
	return 0, fmt.Errorf("%w: page type %d at %d", ErrUnfit, typ, pos)
}

func (cp *chunkPages) dictionaryPage(h *pqcompat.Value, pos int64) error {
	enc, ok := intField(h, 2)
	if pos != 0 || !ok {
		return fmt.Errorf("%w: a dictionary page at %d, not first in the chunk", ErrUnfit, pos)
	}
	cp.dictionary = true
	cp.count(pageDictionary, int32(enc))
	return nil
}

// dataPage records a data page (v1: field 5; v2: field 8): its values, its
// encoding, and for v1 its level encodings.
func (cp *chunkPages) dataPage(hdr *pqcompat.Value, typ int32, pos int64) error {
	h, encField := hdr.Get(5), int16(2)
	if typ == pageDataV2 {
		h, encField = hdr.Get(8), 4
	}
	n, ok1 := intField(h, 1)
	enc, ok2 := intField(h, encField)
	if !ok1 || !ok2 || n < 0 {
		return fmt.Errorf("%w: data page header at %d", ErrUnfit, pos)
	}
	if cp.firstData < 0 {
		cp.firstData = pos
	}
	cp.values += n
	cp.count(pageData, int32(enc))
	levels := []int32{encodingRLE}
	if typ == pageData {
		def, _ := intField(h, 3)
		rep, _ := intField(h, 4)
		levels = []int32{int32(def), int32(rep)}
	}
	for _, e := range levels {
		cp.addEncoding(e)
	}
	return nil
}

func (cp *chunkPages) count(page, enc int32) {
	cp.pageStats[PageKind{Page: page, Encoding: enc}]++
	cp.addEncoding(enc)
}

func (cp *chunkPages) addEncoding(enc int32) {
	if !slices.Contains(cp.encodings, enc) {
		cp.encodings = append(cp.encodings, enc)
	}
}

// copyPage writes the header (n bytes, still buffered in br) and the body
// that follows it to w, checking the body against the header's CRC.
func copyPage(w io.Writer, br *bufio.Reader, n int, body int64, crc *pqcompat.Value) error {
	hdr, _ := br.Peek(n)
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	br.Discard(n)
	sum := crc32.NewIEEE()
	dst := w
	if crc != nil {
		dst = io.MultiWriter(w, sum)
	}
	if _, err := io.CopyN(dst, br, body); err != nil {
		return fmt.Errorf("copy page: %w", noEOF(err))
	}
	if crc != nil && sum.Sum32() != uint32(crc.Int) {
		return fmt.Errorf("%w: a page's CRC does not match its bytes", ErrUnfit)
	}
	return nil
}

// intField is the integer field id of a struct (false when absent, not
// an integer, or v is nil).
func intField(v *pqcompat.Value, id int16) (int64, bool) {
	if v == nil {
		return 0, false
	}
	f := v.Get(id)
	if f == nil || (f.Type != pqcompat.TypeI32 && f.Type != pqcompat.TypeI64 && f.Type != pqcompat.TypeI16 && f.Type != pqcompat.TypeI8) {
		return 0, false
	}
	return f.Int, true
}
