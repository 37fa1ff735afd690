package orc

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Value is one column value as these first readers give it (nil: null):
// bool, float64, string or []byte.
type Value = any

// nonNull counts the true values of pres.
func nonNull(pres []bool) int {
	n := 0
	for _, p := range pres {
		if p {
			n++
		}
	}
	return n
}

// spread places vals (one per non-null row) at the rows pres says.
func spread[T any](pres []bool, vals []T) []Value {
	out := make([]Value, len(pres))
	j := 0
	for i, p := range pres {
		if p {
			out[i] = vals[j]
			j++
		}
	}
	return out
}

// Column reads one column of stripe i: booleans, floats and doubles,
// strings (direct or dictionary), binary. A first reader, for tests,
// until the batch reader lands.
func (f *File) Column(i, col int) ([]Value, error) {
	sd, err := f.openStripe(i)
	if err != nil {
		return nil, err
	}
	if col < 0 || col >= len(f.Footer.Types) {
		return nil, fmt.Errorf("column %d of %d", col, len(f.Footer.Types))
	}
	pres, err := sd.present(col, int(sd.s.Rows))
	if err != nil {
		return nil, err
	}
	n := nonNull(pres)
	switch f.Footer.Types[col].Kind {
	case Boolean:
		b, err := sd.streamBytes(col, Data, int64(n/8+16))
		if err != nil {
			return nil, err
		}
		vals, err := decodeBooleans(b, n)
		return spread(pres, vals), err
	case Float, Double:
		vals, err := sd.floats(col, n, f.Footer.Types[col].Kind == Float)
		return spread(pres, vals), err
	case String, Varchar, Char:
		vals, err := sd.strings(col, n)
		return spread(pres, vals), err
	case Binary:
		vals, err := sd.strings(col, n)
		bs := make([][]byte, len(vals))
		for k, v := range vals {
			bs[k] = []byte(v)
		}
		return spread(pres, bs), err
	}
	return nil, fmt.Errorf("%w: column %d: kind %d not read yet", ErrUnsupported, col, f.Footer.Types[col].Kind)
}

func (sd *stripeData) floats(col, n int, single bool) ([]float64, error) {
	w := 8
	if single {
		w = 4
	}
	b, err := sd.streamBytes(col, Data, int64(n*w))
	if err != nil {
		return nil, err
	}
	if len(b) < n*w {
		return nil, fmt.Errorf("%w: column %d: %d bytes for %d values", ErrCorrupt, col, len(b), n)
	}
	out := make([]float64, n)
	for i := range out {
		if single {
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[i*4:])))
		} else {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[i*8:]))
		}
	}
	return out, nil
}

// strings reads n string values: DIRECT (the bytes, then their lengths)
// or DICTIONARY (indexes into a dictionary of bytes and lengths).
func (sd *stripeData) strings(col, n int) ([]string, error) {
	enc := sd.foot.encoding[col]
	if enc.kind == Dictionary || enc.kind == DictionaryV2 {
		return sd.dictStrings(col, n, enc.dictSize)
	}
	lens, err := sd.ints(col, Length, false, n)
	if err != nil {
		return nil, err
	}
	data, err := sd.streamBytes(col, Data, sum(lens))
	if err != nil {
		return nil, err
	}
	return cut(data, lens, col)
}

func (sd *stripeData) dictStrings(col, n int, size uint64) ([]string, error) {
	if size > uint64(sd.f.size) {
		return nil, fmt.Errorf("%w: column %d: a dictionary of %d entries", ErrCorrupt, col, size)
	}
	lens, err := sd.ints(col, Length, false, int(size))
	if err != nil {
		return nil, err
	}
	data, err := sd.streamBytes(col, DictionaryData, sum(lens))
	if err != nil {
		return nil, err
	}
	dict, err := cut(data, lens, col)
	if err != nil {
		return nil, err
	}
	idx, err := sd.ints(col, Data, false, n)
	if err != nil {
		return nil, err
	}
	out := make([]string, n)
	for i, k := range idx {
		if k < 0 || k >= int64(len(dict)) {
			return nil, fmt.Errorf("%w: column %d: dictionary index %d of %d", ErrCorrupt, col, k, len(dict))
		}
		out[i] = dict[k]
	}
	return out, nil
}

func sum(lens []int64) int64 {
	var s int64
	for _, l := range lens {
		s += l
	}
	return s
}

// cut splits data into values of the given lengths, which must use it
// exactly.
func cut(data []byte, lens []int64, col int) ([]string, error) {
	out := make([]string, len(lens))
	for i, l := range lens {
		if l < 0 || l > int64(len(data)) {
			return nil, fmt.Errorf("%w: column %d: a value of %d bytes, %d left", ErrCorrupt, col, l, len(data))
		}
		out[i], data = string(data[:l]), data[l:]
	}
	return out, nil
}
