package orc

import (
	"fmt"
)

// stripeData is one stripe's footer and a way to read its streams.
type stripeData struct {
	f    *File
	s    Stripe
	foot stripeFooter
}

// openStripe reads stripe i's footer.
func (f *File) openStripe(i int) (*stripeData, error) {
	if i < 0 || i >= len(f.Footer.Stripes) {
		return nil, fmt.Errorf("stripe %d of %d", i, len(f.Footer.Stripes))
	}
	s := f.Footer.Stripes[i]
	foot, err := f.readStripeFooter(s)
	if err != nil {
		return nil, err
	}
	return &stripeData{f: f, s: s, foot: foot}, nil
}

// streamBytes returns the decompressed bytes of column col's stream of
// kind k (nil when the stripe has none), at most limit bytes.
func (sd *stripeData) streamBytes(col int, k StreamKind, limit int64) ([]byte, error) {
	for _, st := range sd.foot.streams {
		if st.column != col || st.kind != k {
			continue
		}
		if st.length > uint64(sd.f.size) {
			return nil, fmt.Errorf("%w: stream of %d bytes", ErrCorrupt, st.length)
		}
		raw := make([]byte, st.length)
		if _, err := sd.f.r.ReadAt(raw, int64(st.offset)); err != nil {
			return nil, fmt.Errorf("read stream: %w", err)
		}
		return decompress(sd.f.PostScript.Compression, sd.f.PostScript.BlockSize, raw, limit)
	}
	return nil, nil
}

// present reads column col's PRESENT stream: which of its n values are
// not null (all, when it has none).
func (sd *stripeData) present(col, n int) ([]bool, error) {
	b, err := sd.streamBytes(col, Present, int64(n/8+1))
	if err != nil || b == nil {
		all := make([]bool, n)
		for i := range all {
			all[i] = true
		}
		return all, err
	}
	return decodeBooleans(b, n)
}

// ints reads an integer stream of column col (RLE v1 or v2, by the
// column's encoding): count values.
func (sd *stripeData) ints(col int, k StreamKind, signed bool, count int) ([]int64, error) {
	b, err := sd.streamBytes(col, k, int64(count)*10+16)
	if err != nil {
		return nil, err
	}
	var vals []int64
	switch sd.foot.encoding[col].kind {
	case DirectV2, DictionaryV2:
		vals, err = decodeRLEv2(b, signed, count)
	default:
		vals, err = decodeRLEv1(b, signed, count)
	}
	if err == nil && len(vals) != count {
		err = fmt.Errorf("%w: column %d: %d values for %d", ErrCorrupt, col, len(vals), count)
	}
	return vals, err
}

// IntColumn reads an integer column (byte, short, int, long, date) of
// stripe i: its values, nil for nulls. A first reader, for tests, until
// the batch reader lands.
func (f *File) IntColumn(i, col int) ([]*int64, error) {
	sd, err := f.openStripe(i)
	if err != nil {
		return nil, err
	}
	n := int(sd.s.Rows)
	pres, err := sd.present(col, n)
	if err != nil {
		return nil, err
	}
	nonNull := 0
	for _, p := range pres {
		if p {
			nonNull++
		}
	}
	var vals []int64
	if f.Footer.Types[col].Kind == Byte {
		var bs []byte
		b, err := sd.streamBytes(col, Data, int64(n)+16)
		if err == nil {
			bs, err = decodeByteRLE(b, nonNull)
		}
		if err != nil {
			return nil, err
		}
		for _, c := range bs {
			vals = append(vals, int64(int8(c)))
		}
	} else if vals, err = sd.ints(col, Data, true, nonNull); err != nil {
		return nil, err
	}
	if len(vals) != nonNull {
		return nil, fmt.Errorf("%w: column %d: %d values for %d", ErrCorrupt, col, len(vals), nonNull)
	}
	out := make([]*int64, n)
	j := 0
	for k, p := range pres {
		if p {
			out[k] = &vals[j]
			j++
		}
	}
	return out, nil
}
