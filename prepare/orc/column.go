package orc

import (
	"fmt"
)

// stripeData is one stripe: its footer and its index and data bytes,
// read at once (one read per stripe, on S3 one request).
type stripeData struct {
	f    *File
	s    Stripe
	foot stripeFooter
	raw  []byte // the stripe's index and data streams
}

// openStripe reads stripe i.
func (f *File) openStripe(i int) (*stripeData, error) {
	if i < 0 || i >= len(f.Footer.Stripes) {
		return nil, fmt.Errorf("stripe %d of %d", i, len(f.Footer.Stripes))
	}
	s := f.Footer.Stripes[i]
	foot, err := f.readStripeFooter(s)
	if err != nil {
		return nil, err
	}
	raw := make([]byte, s.IndexLength+s.DataLength) // within the file (checkFooter)
	if _, err := f.r.ReadAt(raw, int64(s.Offset)); err != nil {
		return nil, fmt.Errorf("read stripe: %w", err)
	}
	return &stripeData{f: f, s: s, foot: foot, raw: raw}, nil
}

// streamBytes returns the decompressed bytes of column col's stream of
// kind k (nil when the stripe has none), at most limit bytes.
func (sd *stripeData) streamBytes(col int, k StreamKind, limit int64) ([]byte, error) {
	for _, st := range sd.foot.streams {
		if st.column != col || st.kind != k {
			continue
		}
		start := st.offset - sd.s.Offset // placeStreams keeps it within raw
		return decompress(sd.f.PostScript.Compression, sd.f.PostScript.BlockSize, sd.raw[start:start+st.length], limit)
	}
	return nil, nil
}

// present reads column col's PRESENT stream: which of its n values are
// not null (nil when it has none: all are).
func (sd *stripeData) present(col, n int) ([]bool, error) {
	b, err := sd.streamBytes(col, Present, byteRLESize((n+7)/8))
	if err != nil || b == nil {
		return nil, err
	}
	return decodeBooleans(b, n)
}

// bytes reads column col's DATA stream of n bytes in byte RLE.
func (sd *stripeData) bytes(col, n int) ([]byte, error) {
	b, err := sd.streamBytes(col, Data, byteRLESize(n))
	if err != nil {
		return nil, err
	}
	out, err := decodeByteRLE(b, n)
	if err == nil && len(out) != n {
		err = fmt.Errorf("%w: %d bytes for %d values", ErrCorrupt, len(out), n)
	}
	return out, err
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
		err = fmt.Errorf("%w: %s stream: %d values for %d", ErrCorrupt, k, len(vals), count)
	}
	return vals, err
}

// byteRLESize is the most bytes n bytes take in byte RLE: a header byte
// per 128 literals.
func byteRLESize(n int) int64 { return int64(n) + int64(n)/128 + 16 }
