package pqcompat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/pierrec/lz4/v4"
)

// Importing pqcompat registers, in arrow-go's codec registry (which is
// global to the process):
//   - LZ4, the codec Parquet deprecated, that Hadoop, Spark and parquet-mr
//     wrote for years and arrow-go lacks (see DecodeLZ4);
//   - around every codec, a guard for an empty compressed body: a Data
//     Page V2 whose values are all null has none, and parquet-mr writes
//     it under its column's codec without compressing it (0 bytes are no
//     valid Snappy stream, so arrow-go failed on it).
func init() {
	compress.RegisterCodec(compress.Codecs.Lz4, lz4Codec{})
	for _, c := range []compress.Compression{compress.Codecs.Snappy, compress.Codecs.Gzip,
		compress.Codecs.Brotli, compress.Codecs.Zstd, compress.Codecs.Lz4Raw, compress.Codecs.Lz4} {
		if base, err := compress.GetCodec(c); err == nil {
			compress.RegisterCodec(c, guard(base))
		}
	}
}

// guard wraps a codec so that an empty body decodes to nothing.
func guard(base compress.Codec) compress.Codec {
	g := emptyGuard{base}
	if s, ok := base.(compress.StreamingCodec); ok {
		return streamingGuard{g, s}
	}
	return g
}

type emptyGuard struct{ compress.Codec }

type streamingGuard struct {
	emptyGuard
	stream compress.StreamingCodec
}

var (
	_ compress.ErrorCodec     = emptyGuard{}
	_ compress.StreamingCodec = streamingGuard{}
)

func (g emptyGuard) Decode(dst, src []byte) []byte {
	out, err := g.DecodeWithError(dst, src)
	if err != nil {
		panic(err)
	}
	return out
}

func (g emptyGuard) DecodeWithError(dst, src []byte) ([]byte, error) {
	if len(src) == 0 {
		return dst[:0], nil
	}
	return compress.Decode(g.Codec, dst, src)
}

func (s streamingGuard) NewReader(r io.Reader) io.ReadCloser  { return s.stream.NewReader(r) }
func (s streamingGuard) NewWriter(w io.Writer) io.WriteCloser { return s.stream.NewWriter(w) }
func (s streamingGuard) NewWriterLevel(w io.Writer, level int) (io.WriteCloser, error) {
	return s.stream.NewWriterLevel(w, level)
}

// lz4Codec is Parquet's deprecated LZ4 codec. It encodes in the Hadoop
// framing and decodes all three framings writers used (DecodeLZ4).
type lz4Codec struct{}

var _ compress.ErrorCodec = lz4Codec{}

func (lz4Codec) Decode(dst, src []byte) []byte {
	out, err := DecodeLZ4(dst, src)
	if err != nil {
		panic(err)
	}
	return out
}

func (lz4Codec) DecodeWithError(dst, src []byte) ([]byte, error) { return DecodeLZ4(dst, src) }

// Encode writes one Hadoop chunk: the uncompressed and the compressed
// length (4 bytes big-endian each), then an LZ4 block.
func (c lz4Codec) Encode(dst, src []byte) []byte {
	out := make([]byte, 8+lz4.CompressBlockBound(len(src)))
	var lc lz4.Compressor
	n, err := lc.CompressBlock(src, out[8:])
	if err != nil {
		panic(err)
	}
	binary.BigEndian.PutUint32(out, uint32(len(src)))
	binary.BigEndian.PutUint32(out[4:], uint32(n))
	return append(dst[:0], out[:8+n]...)
}

func (c lz4Codec) EncodeLevel(dst, src []byte, _ int) []byte { return c.Encode(dst, src) }

func (lz4Codec) CompressBound(n int64) int64 { return 8 + int64(lz4.CompressBlockBound(int(n))) }

var errLZ4 = errors.New("corrupt LZ4 data")

// lz4FrameMagic opens an LZ4 frame (the LZ4 frame format).
var lz4FrameMagic = []byte{0x04, 0x22, 0x4d, 0x18}

// DecodeLZ4 decodes a page body of Parquet's LZ4 codec into dst, whose
// length is the page's uncompressed size. Writers framed it three ways,
// tried in this order (as Arrow C++ does, plus the frame format):
//   - Hadoop's: chunks of the uncompressed length, then blocks each
//     prefixed by its compressed length (4 bytes big-endian each) —
//     parquet-mr, Spark, Hadoop;
//   - the LZ4 frame format — early parquet-rs;
//   - a bare LZ4 block — parquet-cpp before 1.6.
//
// The output must be exactly len(dst) bytes.
func DecodeLZ4(dst, src []byte) ([]byte, error) {
	want := len(dst)
	if out, ok := decodeHadoop(dst[:cap(dst)], src, want); ok {
		return out, nil
	}
	if bytes.HasPrefix(src, lz4FrameMagic) {
		return decodeFrame(dst[:cap(dst)], src, want)
	}
	n, err := lz4.UncompressBlock(src, dst[:cap(dst)])
	if err != nil || n != want {
		return nil, fmt.Errorf("%w: none of the Hadoop, frame or block framings fits", errLZ4)
	}
	return dst[:n], nil
}

// decodeHadoop decodes the Hadoop framing, which must account for every
// input byte and exactly want output bytes.
func decodeHadoop(dst, src []byte, want int) ([]byte, bool) {
	out := 0
	for len(src) > 0 {
		if len(src) < 8 {
			return nil, false
		}
		chunk := int(binary.BigEndian.Uint32(src))
		src = src[4:]
		if chunk > want-out {
			return nil, false
		}
		end := out + chunk
		for out < end {
			n, rest, ok := hadoopBlock(dst[out:end], src)
			if !ok {
				return nil, false
			}
			out, src = out+n, rest
		}
	}
	return dst[:out], out == want
}

// hadoopBlock decodes one length-prefixed block of a Hadoop chunk.
func hadoopBlock(dst, src []byte) (int, []byte, bool) {
	if len(src) < 4 {
		return 0, nil, false
	}
	size := int(binary.BigEndian.Uint32(src))
	src = src[4:]
	if size == 0 || size > len(src) {
		return 0, nil, false
	}
	n, err := lz4.UncompressBlock(src[:size], dst)
	if err != nil || n == 0 {
		return 0, nil, false
	}
	return n, src[size:], true
}

func decodeFrame(dst, src []byte, want int) ([]byte, error) {
	r := lz4.NewReader(bytes.NewReader(src))
	n, err := io.ReadFull(r, dst[:want])
	if err != nil {
		return nil, fmt.Errorf("%w: frame: %w", errLZ4, err)
	}
	var extra [1]byte
	if k, _ := r.Read(extra[:]); k != 0 {
		return nil, fmt.Errorf("%w: frame holds more than the page's %d bytes", errLZ4, want)
	}
	return dst[:n], nil
}
