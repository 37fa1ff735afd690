package loader_test

import (
	"bytes"
	"encoding/binary"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/pierrec/lz4/v4"
)

// hadoopTwoBlocks frames b as one Hadoop chunk of two LZ4 blocks.
func hadoopTwoBlocks(b []byte) []byte {
	half := len(b) / 2
	out := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
	for _, part := range [][]byte{b[:half], b[half:]} {
		blk := lz4Block(part)
		out = append(binary.BigEndian.AppendUint32(out, uint32(len(blk))), blk...)
	}
	return out
}

func lz4Block(b []byte) []byte {
	out := make([]byte, lz4.CompressBlockBound(len(b)))
	var c lz4.Compressor
	n, err := c.CompressBlock(b, out)
	if err != nil {
		panic(err)
	}
	if n == 0 { // incompressible: LZ4 wants a literal-only block
		return literalBlock(b)
	}
	return out[:n]
}

// literalBlock is an LZ4 block of one literal run.
func literalBlock(b []byte) []byte {
	var out []byte
	if len(b) < 15 {
		out = append(out, byte(len(b))<<4)
	} else {
		out = append(out, 0xf0)
		n := len(b) - 15
		for ; n >= 255; n -= 255 {
			out = append(out, 255)
		}
		out = append(out, byte(n))
	}
	return append(out, b...)
}

func lz4Frame(b []byte) []byte {
	var buf bytes.Buffer
	w := lz4.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// emptyStaysEmpty compresses with c, but leaves an empty body empty (as
// parquet-mr does for a V2 page of nulls).
func emptyStaysEmpty(c compress.Compression) func([]byte) []byte {
	codec, err := compress.GetCodec(c)
	if err != nil {
		panic(err)
	}
	return func(b []byte) []byte {
		if len(b) == 0 {
			return nil
		}
		return codec.Encode(nil, b)
	}
}
