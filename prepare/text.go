package prepare

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/transform"
)

// ErrNotText classifies files under a text format's name (JSON, CSV, …)
// whose bytes are not text.
var ErrNotText = errors.New("not text")

// textHead is how much of a text file is looked at before it is read.
const textHead = 4096

// checkTextHead refuses, before a text format's reader starts, content
// that is not text (NUL bytes, mostly control characters) and lines ended
// by CR alone (which a line reader would take for one endless line).
// Byte order marks are dealt with before (see decodeBOM), the same for
// every format.
func checkTextHead(br *bufio.Reader, f Format) error {
	head, _ := br.Peek(textHead)
	if err := checkText(head); err != nil {
		return err
	}
	if f != FormatJSON && crOnly(head) {
		return fmt.Errorf("%w: lines end in CR alone (old Mac style); lagoon reads LF or CRLF line ends", ErrNotText)
	}
	return nil
}

var (
	bomUTF8    = []byte{0xEF, 0xBB, 0xBF}
	bomUTF32LE = []byte{0xFF, 0xFE, 0x00, 0x00}
	bomUTF32BE = []byte{0x00, 0x00, 0xFE, 0xFF}
	bomUTF16LE = []byte{0xFF, 0xFE}
	bomUTF16BE = []byte{0xFE, 0xFF}
)

// decodeBOM drops a UTF-8 byte order mark, or decodes UTF-16/32 text
// that starts with one (strictly: see wideDecoder).
func decodeBOM(br *bufio.Reader) (*bufio.Reader, error) {
	head, _ := br.Peek(4)
	var dec *wideDecoder
	switch {
	case bytes.HasPrefix(head, bomUTF8):
		br.Discard(len(bomUTF8))
		return br, nil
	case bytes.HasPrefix(head, bomUTF32LE):
		dec = &wideDecoder{width: 4, order: binary.LittleEndian}
	case bytes.HasPrefix(head, bomUTF32BE):
		dec = &wideDecoder{width: 4, order: binary.BigEndian}
	case bytes.HasPrefix(head, bomUTF16LE):
		dec = &wideDecoder{width: 2, order: binary.LittleEndian}
	case bytes.HasPrefix(head, bomUTF16BE):
		dec = &wideDecoder{width: 2, order: binary.BigEndian}
	default:
		return br, nil
	}
	br.Discard(dec.width)
	dec.off = int64(dec.width)
	return bufio.NewReaderSize(transform.NewReader(br, dec), 1<<20), nil
}

// checkText refuses a head that is more than a quarter control
// characters and bytes that are not UTF-8: binary content, whatever its
// name says. (A stray bad byte or line in text is left to the record
// readers: its record is bad, the rest loads.)
func checkText(head []byte) error {
	bad := 0
	for i := 0; i < len(head); {
		c := head[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' {
				bad++
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(head[i:])
		if r == utf8.RuneError && n <= 1 && len(head)-i >= utf8.UTFMax {
			bad++
		}
		i += n
	}
	if bad*4 <= len(head) {
		return nil
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return fmt.Errorf("%w: binary content (NUL bytes; UTF-16 text needs a byte order mark)", ErrNotText)
	}
	return fmt.Errorf("%w: binary content (%d of the first %d bytes are control characters or not UTF-8)", ErrNotText, bad, len(head))
}

// crOnly reports whether the head's lines end in CR alone.
func crOnly(head []byte) bool {
	return bytes.IndexByte(head, '\n') < 0 && bytes.Contains(bytes.TrimRight(head, "\r"), []byte{'\r'})
}

// wideDecoder decodes UTF-16 (width 2) or UTF-32 (width 4) text into
// UTF-8, strictly: an unpaired surrogate, a code point past U+10FFFF or a
// file ending inside a code unit is an error (ErrNotText, with the byte
// offset), never a U+FFFD written in its place — a value is stored as
// written, or its file fails.
type wideDecoder struct {
	transform.NopResetter
	width int
	order binary.ByteOrder
	off   int64 // in the file, of the next code unit
}

func (d *wideDecoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		r, size, err := d.next(src[nSrc:], atEOF)
		if err != nil {
			return nDst, nSrc, err
		}
		if nDst+utf8.RuneLen(r) > len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		nDst += utf8.EncodeRune(dst[nDst:], r)
		nSrc += size
		d.off += int64(size)
	}
	return nDst, nSrc, nil
}

// next decodes the code point at the start of src: transform.ErrShortSrc
// when src ends inside it and more is to come.
func (d *wideDecoder) next(src []byte, atEOF bool) (rune, int, error) {
	if len(src) < d.width {
		return d.short(atEOF, "a code unit cut short")
	}
	if d.width == 4 {
		r := rune(d.order.Uint32(src))
		if r > utf8.MaxRune || utf16.IsSurrogate(r) {
			return 0, 0, d.malformed(fmt.Sprintf("U+%X is not a character", uint32(r)))
		}
		return r, 4, nil
	}
	r := rune(d.order.Uint16(src))
	switch {
	case r >= 0xDC00 && r < 0xE000:
		return 0, 0, d.malformed("a low surrogate alone")
	case r < 0xD800 || r >= 0xE000:
		return r, 2, nil
	case len(src) < 4:
		return d.short(atEOF, "a surrogate pair cut short")
	}
	low := rune(d.order.Uint16(src[2:]))
	if low < 0xDC00 || low >= 0xE000 {
		return 0, 0, d.malformed("a high surrogate alone")
	}
	return utf16.DecodeRune(r, low), 4, nil
}

func (d *wideDecoder) short(atEOF bool, what string) (rune, int, error) {
	if !atEOF {
		return 0, 0, transform.ErrShortSrc
	}
	return 0, 0, d.malformed(what + " at the end")
}

func (d *wideDecoder) malformed(what string) error {
	return fmt.Errorf("%w: malformed UTF-%d text: %s near byte %d", ErrNotText, d.width*8, what, d.off)
}
