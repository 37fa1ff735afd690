package pqencode

import (
	"encoding/binary"
	"math/bits"
)

// rleEncoder writes Parquet's RLE/bit-packed hybrid encoding of values of
// width bits (definition and repetition levels, dictionary indices): runs
// of 8 or more equal values as RLE runs, the rest bit-packed in groups of
// 8, at most 63 groups per run. It follows parquet-cpp's RleEncoder.
type rleEncoder struct {
	width int
	out   []byte

	buf    [8]uint64 // values not yet written
	nbuf   int
	prev   uint64
	repeat int // how many times prev has been seen in a row

	literals  int // values in the open literal run
	indicator int // where the open literal run's header byte is; -1: none
}

func newRLE(width int, out []byte) rleEncoder {
	return rleEncoder{width: width, out: out, indicator: -1}
}

// bitWidth is the number of bits needed for values up to max.
func bitWidth(max uint64) int { return bits.Len64(max) }

// put adds one value.
func (e *rleEncoder) put(v uint64) {
	if v == e.prev && e.repeat > 0 {
		e.repeat++
		if e.repeat > 8 {
			return // inside an RLE run: only counted
		}
	} else {
		if e.repeat >= 8 {
			e.flushRepeated()
		}
		e.repeat = 1
		e.prev = v
	}
	e.buf[e.nbuf] = v
	e.nbuf++
	if e.nbuf == 8 {
		e.flushBuffered(false)
	}
}

// putRun adds n copies of v (n > 0): a long run costs one step.
func (e *rleEncoder) putRun(v uint64, n int) {
	for n > 0 && (e.repeat < 8 || v != e.prev) {
		e.put(v)
		n--
	}
	e.repeat += n
}

func (e *rleEncoder) flushBuffered(done bool) {
	if e.repeat >= 8 {
		e.nbuf = 0 // the buffered values start the RLE run
		if e.literals != 0 {
			e.flushLiteral(true)
		}
		return
	}
	e.literals += e.nbuf
	groups := (e.literals + 7) / 8
	e.flushLiteral(done || groups+1 >= 1<<6)
	e.repeat = 0
}

// flushLiteral bit-packs the buffered values into the open literal run,
// and closes the run (writes its header) if closing.
func (e *rleEncoder) flushLiteral(closing bool) {
	if e.indicator < 0 {
		e.indicator = len(e.out)
		e.out = append(e.out, 0)
	}
	if e.nbuf > 0 {
		e.out = packGroup(e.out, e.buf[:e.nbuf], e.width)
		e.nbuf = 0
	}
	if closing {
		groups := (e.literals + 7) / 8
		e.out[e.indicator] = byte(groups<<1 | 1)
		e.indicator = -1
		e.literals = 0
	}
}

func (e *rleEncoder) flushRepeated() {
	e.out = binary.AppendUvarint(e.out, uint64(e.repeat)<<1)
	for i := 0; i < (e.width+7)/8; i++ {
		e.out = append(e.out, byte(e.prev>>(8*i)))
	}
	e.nbuf = 0
	e.repeat = 0
}

// finish writes what is pending and returns the encoded bytes.
func (e *rleEncoder) finish() []byte {
	if e.literals == 0 && e.repeat == 0 && e.nbuf == 0 {
		return e.out
	}
	allRepeat := e.literals == 0 && (e.repeat == e.nbuf || e.nbuf == 0)
	if e.repeat > 0 && allRepeat {
		e.flushRepeated()
		return e.out
	}
	for e.nbuf != 0 && e.nbuf < 8 {
		e.buf[e.nbuf] = 0 // padding: readers stop at the page's value count
		e.nbuf++
	}
	e.literals += e.nbuf
	e.flushLiteral(true)
	e.repeat = 0
	return e.out
}

// packGroup appends vals (up to 8, zero-padded to 8) bit-packed at width
// bits each, least significant bit first: width bytes.
func packGroup(out []byte, vals []uint64, width int) []byte {
	var acc uint64
	n := 0
	for i := range 8 {
		var v uint64
		if i < len(vals) {
			v = vals[i]
		}
		acc |= v << n
		n += width
		for n >= 8 {
			out = append(out, byte(acc))
			acc >>= 8
			n -= 8
		}
	}
	return out
}
