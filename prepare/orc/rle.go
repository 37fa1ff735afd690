package orc

import (
	"encoding/binary"
	"fmt"
)

// decodeByteRLE decodes a byte run-length stream (runs of 3 to 130
// identical bytes, literal lists of 1 to 128), at most limit values.
func decodeByteRLE(b []byte, limit int) ([]byte, error) {
	out := make([]byte, 0, preallocate(len(b), limit))
	for len(b) > 0 {
		h := int8(b[0])
		b = b[1:]
		if h >= 0 {
			n := int(h) + 3
			if len(b) < 1 {
				return nil, fmt.Errorf("%w: byte run cut short", ErrCorrupt)
			}
			if len(out)+n > limit {
				return nil, errTooMany(limit)
			}
			for range n {
				out = append(out, b[0])
			}
			b = b[1:]
			continue
		}
		n := -int(h)
		if n > len(b) {
			return nil, fmt.Errorf("%w: byte literals cut short", ErrCorrupt)
		}
		if len(out)+n > limit {
			return nil, errTooMany(limit)
		}
		out, b = append(out, b[:n]...), b[n:]
	}
	return out, nil
}

// preallocate is the capacity for the values of an n-byte stream of at
// most limit values: limit, unless the stream is too short to hold that
// many (a corrupt count must not allocate what it claims).
func preallocate(n, limit int) int {
	return max(0, min(limit, n*64+512))
}

func errTooMany(limit int) error {
	return fmt.Errorf("%w: a stream holds more than the %d values its column can", ErrCorrupt, limit)
}

// decodeBooleans decodes a boolean stream (byte RLE of bits, most
// significant first): n values.
func decodeBooleans(b []byte, n int) ([]bool, error) {
	bytes, err := decodeByteRLE(b, (n+7)/8)
	if err != nil {
		return nil, err
	}
	if len(bytes)*8 < n {
		return nil, fmt.Errorf("%w: %d booleans in a stream of %d", ErrCorrupt, n, len(bytes)*8)
	}
	out := make([]bool, n)
	for i := range out {
		out[i] = bytes[i/8]&(0x80>>(i%8)) != 0
	}
	return out, nil
}

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// decodeRLEv1 decodes an integer stream in RLE version 1: runs (3 to 130
// values of a fixed delta) and literal lists of varints, at most limit.
func decodeRLEv1(b []byte, signed bool, limit int) ([]int64, error) {
	out := make([]int64, 0, preallocate(len(b), limit))
	val := func() (int64, error) {
		u, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, fmt.Errorf("%w: bad varint", ErrCorrupt)
		}
		b = b[n:]
		if signed {
			return unzigzag(u), nil
		}
		return int64(u), nil
	}
	for len(b) > 0 {
		h := int8(b[0])
		b = b[1:]
		if h >= 0 {
			if len(b) < 1 {
				return nil, fmt.Errorf("%w: integer run cut short", ErrCorrupt)
			}
			n, delta := int(h)+3, int64(int8(b[0]))
			b = b[1:]
			base, err := val()
			if err != nil {
				return nil, err
			}
			if len(out)+n > limit {
				return nil, errTooMany(limit)
			}
			for i := range int64(n) {
				out = append(out, base+i*delta)
			}
			continue
		}
		n := -int(h)
		if len(out)+n > limit {
			return nil, errTooMany(limit)
		}
		for range n {
			v, err := val()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
	return out, nil
}
