package prepare

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
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
// that starts with one.
func decodeBOM(br *bufio.Reader) (*bufio.Reader, error) {
	head, _ := br.Peek(4)
	var dec transform.Transformer
	switch {
	case bytes.HasPrefix(head, bomUTF8):
		br.Discard(len(bomUTF8))
		return br, nil
	case bytes.HasPrefix(head, bomUTF32LE):
		dec = utf32.UTF32(utf32.LittleEndian, utf32.ExpectBOM).NewDecoder()
	case bytes.HasPrefix(head, bomUTF32BE):
		dec = utf32.UTF32(utf32.BigEndian, utf32.ExpectBOM).NewDecoder()
	case bytes.HasPrefix(head, bomUTF16LE):
		dec = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
	case bytes.HasPrefix(head, bomUTF16BE):
		dec = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder()
	default:
		return br, nil
	}
	return bufio.NewReaderSize(transform.NewReader(br, strictUTF(dec)), 1<<20), nil
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

// strictUTF makes a UTF-16/32 decoder fail on malformed input instead of
// writing U+FFFD for it: a value is stored as written, or its file fails.
func strictUTF(dec transform.Transformer) transform.Transformer {
	return &strictDecoder{dec: dec}
}

type strictDecoder struct{ dec transform.Transformer }

func (s *strictDecoder) Reset() { s.dec.Reset() }

func (s *strictDecoder) Transform(dst, src []byte, atEOF bool) (int, int, error) {
	nDst, nSrc, err := s.dec.Transform(dst, src, atEOF)
	if bytes.Contains(dst[:nDst], []byte("\uFFFD")) && !bytes.Contains(src[:nSrc], []byte{0xFD, 0xFF}) && !bytes.Contains(src[:nSrc], []byte{0xFF, 0xFD}) {
		return nDst, nSrc, fmt.Errorf("%w: malformed UTF-16/UTF-32 text", ErrNotText)
	}
	return nDst, nSrc, err
}
