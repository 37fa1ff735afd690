package orc

import (
	"encoding/binary"
	"fmt"
)

// widths maps RLEv2's 5-bit encoded widths to bit widths.
var widths = [32]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 26, 28, 30, 32, 40, 48, 56, 64}

// bitReader reads big-endian fixed-width values.
type bitReader struct {
	b    []byte
	pos  int // bits read
	errs bool
}

func (r *bitReader) read(w int) uint64 {
	if w == 0 {
		return 0
	}
	if r.pos+w > len(r.b)*8 {
		r.errs = true
		return 0
	}
	var v uint64
	for w > 0 {
		avail := 8 - r.pos&7
		take := min(avail, w)
		bits := uint64(r.b[r.pos>>3]>>(avail-take)) & (1<<take - 1)
		v = v<<take | bits
		w -= take
		r.pos += take
	}
	return v
}

// bytesUsed is how many bytes the values read take, padded to a byte.
func (r *bitReader) bytesUsed() int { return (r.pos + 7) / 8 }

// decodeRLEv2 decodes an integer stream in RLE version 2 (short repeat,
// direct, patched base, delta), at most limit values.
func decodeRLEv2(b []byte, signed bool, limit int) ([]int64, error) {
	out := make([]int64, 0, preallocate(len(b), limit))
	for len(b) > 0 {
		var err error
		switch b[0] >> 6 {
		case 0:
			out, b, err = shortRepeat(b, signed, out, limit)
		case 1:
			out, b, err = direct(b, signed, out, limit)
		case 2:
			out, b, err = patchedBase(b, out, limit)
		default:
			out, b, err = deltaRun(b, signed, out, limit)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func sign(u uint64, signed bool) int64 {
	if signed {
		return unzigzag(u)
	}
	return int64(u)
}

func shortRepeat(b []byte, signed bool, out []int64, limit int) ([]int64, []byte, error) {
	w, n := int(b[0]>>3&7)+1, int(b[0]&7)+3
	if len(b) < 1+w {
		return nil, nil, fmt.Errorf("%w: short repeat cut short", ErrCorrupt)
	}
	var u uint64
	for _, c := range b[1 : 1+w] {
		u = u<<8 | uint64(c)
	}
	if len(out)+n > limit {
		return nil, nil, errTooMany(limit)
	}
	v := sign(u, signed)
	for range n {
		out = append(out, v)
	}
	return out, b[1+w:], nil
}

// header2 reads a two-byte header's width code and length.
func header2(b []byte) (w, n int, ok bool) {
	if len(b) < 2 {
		return 0, 0, false
	}
	return widths[b[0]>>1&31], (int(b[0]&1)<<8 | int(b[1])) + 1, true
}

func direct(b []byte, signed bool, out []int64, limit int) ([]int64, []byte, error) {
	w, n, ok := header2(b)
	if !ok {
		return nil, nil, fmt.Errorf("%w: direct header cut short", ErrCorrupt)
	}
	if len(out)+n > limit {
		return nil, nil, errTooMany(limit)
	}
	r := bitReader{b: b[2:]}
	for range n {
		out = append(out, sign(r.read(w), signed))
	}
	if r.errs {
		return nil, nil, fmt.Errorf("%w: direct values cut short", ErrCorrupt)
	}
	return out, b[2+r.bytesUsed():], nil
}

func patchedBase(b []byte, out []int64, limit int) ([]int64, []byte, error) {
	if len(b) < 4 {
		return nil, nil, fmt.Errorf("%w: patched base header cut short", ErrCorrupt)
	}
	w, n, _ := header2(b)
	bw, pw := int(b[2]>>5)+1, widths[b[2]&31]
	pgw, pll := int(b[3]>>5)+1, int(b[3]&31)
	if pw+pgw > 64 {
		return nil, nil, fmt.Errorf("%w: patch of %d bits", ErrCorrupt, pw+pgw)
	}
	if len(out)+n > limit {
		return nil, nil, errTooMany(limit)
	}
	b = b[4:]
	if len(b) < bw {
		return nil, nil, fmt.Errorf("%w: patched base value cut short", ErrCorrupt)
	}
	var ub uint64
	for _, c := range b[:bw] {
		ub = ub<<8 | uint64(c)
	}
	base := int64(ub)
	if msb := uint64(1) << (8*bw - 1); ub&msb != 0 {
		base = -int64(ub &^ msb)
	}
	b = b[bw:]
	r := bitReader{b: b}
	vals := make([]uint64, n)
	for i := range vals {
		vals[i] = r.read(w)
	}
	if r.errs {
		return nil, nil, fmt.Errorf("%w: patched values cut short", ErrCorrupt)
	}
	b = b[r.bytesUsed():]
	pr := bitReader{b: b}
	idx := 0
	for range pll {
		gap, patch := int(pr.read(pgw)), pr.read(pw)
		idx += gap
		if idx >= n {
			return nil, nil, fmt.Errorf("%w: patch past the run", ErrCorrupt)
		}
		vals[idx] |= patch << w
	}
	if pr.errs {
		return nil, nil, fmt.Errorf("%w: patch list cut short", ErrCorrupt)
	}
	for _, v := range vals {
		out = append(out, base+int64(v))
	}
	return out, b[pr.bytesUsed():], nil
}

func deltaRun(b []byte, signed bool, out []int64, limit int) ([]int64, []byte, error) {
	w, n, ok := header2(b)
	if !ok {
		return nil, nil, fmt.Errorf("%w: delta header cut short", ErrCorrupt)
	}
	if b[0]>>1&31 == 0 {
		w = 0 // a fixed delta
	}
	b = b[2:]
	u, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, nil, fmt.Errorf("%w: delta base", ErrCorrupt)
	}
	base := sign(u, signed)
	b = b[k:]
	du, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, nil, fmt.Errorf("%w: delta base delta", ErrCorrupt)
	}
	delta := unzigzag(du)
	b = b[k:]
	if len(out)+n > limit {
		return nil, nil, errTooMany(limit)
	}
	out = append(out, base)
	if n == 1 {
		return out, b, nil
	}
	cur := base + delta
	out = append(out, cur)
	r := bitReader{b: b}
	for range n - 2 {
		if w == 0 {
			cur += delta
		} else if d := int64(r.read(w)); delta < 0 {
			cur -= d
		} else {
			cur += d
		}
		out = append(out, cur)
	}
	if r.errs {
		return nil, nil, fmt.Errorf("%w: deltas cut short", ErrCorrupt)
	}
	return out, b[r.bytesUsed():], nil
}
