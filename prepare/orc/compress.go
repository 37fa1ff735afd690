package orc

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// chunkHeader is the 3-byte header of each compressed chunk: its length
// shifted left once, the low bit set when the chunk is stored as it is.
const chunkHeader = 3

// decompress decodes a compressed stream (a run of chunks, each at most
// block bytes once decoded) of codec c. It never makes more than limit
// bytes: a stream that would is corrupt.
func decompress(c Compression, block uint64, b []byte, limit int64) ([]byte, error) {
	if c == None {
		return b, nil
	}
	var out []byte
	for len(b) > 0 {
		if len(b) < chunkHeader {
			return nil, fmt.Errorf("%w: chunk header cut short", ErrCorrupt)
		}
		h := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
		n, original := int(h>>1), h&1 == 1
		b = b[chunkHeader:]
		if n > len(b) {
			return nil, fmt.Errorf("%w: chunk of %d bytes past the stream's end", ErrCorrupt, n)
		}
		var err error
		if original {
			out = append(out, b[:n]...)
		} else if out, err = decodeChunk(c, out, b[:n], block); err != nil {
			return nil, err
		}
		if int64(len(out)) > limit {
			return nil, fmt.Errorf("%w: a stream decodes past %d bytes", ErrCorrupt, limit)
		}
		b = b[n:]
	}
	return out, nil
}

// zstdMaxMemory bounds what one zstd chunk may decode to: a chunk is at
// most a block (8 MiB at the most, see checkPostScript), and a frame may
// declare a larger window than it uses.
const zstdMaxMemory = 64 << 20

// zstdDecoder is one decoder for every file (DecodeAll is safe for
// concurrent use; it starts no goroutine of its own).
var zstdDecoder = sync.OnceValue(func() *zstd.Decoder {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)), zstd.WithDecoderMaxMemory(zstdMaxMemory))
	if err != nil {
		panic(err) // only for options it refuses
	}
	return d
})

// decodeChunk appends one chunk, decoded, to out.
func decodeChunk(c Compression, out, chunk []byte, block uint64) ([]byte, error) {
	var r io.Reader
	switch c {
	case Zlib:
		r = flate.NewReader(bytes.NewReader(chunk))
	case Zstd:
		n := len(out)
		out, err := zstdDecoder().DecodeAll(chunk, out)
		if err != nil {
			return nil, fmt.Errorf("%w: zstd: %v", ErrCorrupt, err)
		}
		if uint64(len(out)-n) > block {
			return nil, fmt.Errorf("%w: a zstd chunk decodes past the block size %d", ErrCorrupt, block)
		}
		return out, nil
	case Brotli:
		r = brotli.NewReader(bytes.NewReader(chunk))
	case Snappy:
		n, err := s2.DecodedLen(chunk)
		if err != nil || uint64(n) > block {
			return nil, fmt.Errorf("%w: snappy chunk: %v", ErrCorrupt, err)
		}
		dst, err := s2.Decode(make([]byte, n), chunk)
		if err != nil {
			return nil, fmt.Errorf("%w: snappy: %v", ErrCorrupt, err)
		}
		return append(out, dst...), nil
	case Lz4:
		dst := make([]byte, block)
		n, err := lz4.UncompressBlock(chunk, dst)
		if err != nil {
			return nil, fmt.Errorf("%w: lz4: %v", ErrCorrupt, err)
		}
		return append(out, dst[:n]...), nil
	default:
		return nil, fmt.Errorf("%w: compression %s is not supported (no Go decoder for it is at hand)", ErrUnsupported, c)
	}
	dst, err := io.ReadAll(io.LimitReader(r, int64(block)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, c, err)
	}
	if uint64(len(dst)) > block {
		return nil, fmt.Errorf("%w: a %s chunk decodes past the block size %d", ErrCorrupt, c, block)
	}
	return append(out, dst...), nil
}
