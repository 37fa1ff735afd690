package orc

import (
	"fmt"
	"math/big"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// maxDecimalBytes bounds one decimal's varint: 38 digits need 127 bits.
const maxDecimalBytes = 20

// decimals reads m decimals at the column's scale (see decimalShape). A
// value with more digits than the column holds, before or after the
// point, is an error: it is never rounded.
func (cr *columnReader) decimals(col, m int) (arrow.Array, error) {
	t := cr.sd.f.Footer.Types[col]
	p, s, err := decimalShape(t)
	if err != nil {
		return nil, err
	}
	var vals []*big.Int
	if cr.sd.f.decimal64(t) {
		vals, err = cr.sd.decimal64s(col, m)
	} else {
		vals, err = cr.sd.decimals(col, m, int64(s))
	}
	if err != nil {
		return nil, err
	}
	b := array.NewDecimal128Builder(cr.mem, &arrow.Decimal128Type{Precision: p, Scale: s})
	defer b.Release()
	b.Reserve(m)
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(p)), nil)
	for _, v := range vals {
		if new(big.Int).Abs(v).Cmp(limit) >= 0 {
			return nil, fmt.Errorf("%w: %s has more than the %d digits of decimal(%d, %d)", ErrUnsupported, formatDecimal(v, int(s)), p, p, s)
		}
		b.UnsafeAppend(decimal128.FromBigInt(v))
	}
	return b.NewArray(), nil
}

// decimal64 reports whether decimals of type t are stored as 64-bit
// integers at the type's scale: files of version UNSTABLE-PRE-2.0 (1.9999)
// do so for precisions up to 18.
func (f *File) decimal64(t Type) bool {
	v := f.PostScript.Version
	return len(v) == 2 && v[0] == 1 && v[1] == 9999 && t.Precision > 0 && t.Precision <= 18
}

func (sd *stripeData) decimal64s(col, m int) ([]*big.Int, error) {
	ints, err := sd.ints(col, Data, true, m)
	if err != nil {
		return nil, err
	}
	out := make([]*big.Int, m)
	for i, v := range ints {
		out[i] = big.NewInt(v)
	}
	return out, nil
}

// decimals reads m decimal values of column col: unbounded signed varints
// (DATA) and their scales (SECONDARY), rescaled to scale.
func (sd *stripeData) decimals(col, m int, scale int64) ([]*big.Int, error) {
	data, err := sd.streamBytes(col, Data, int64(m)*maxDecimalBytes+16)
	if err != nil {
		return nil, err
	}
	scales, err := sd.ints(col, Secondary, true, m)
	if err != nil {
		return nil, err
	}
	out := make([]*big.Int, m)
	for i := range out {
		var v *big.Int
		if v, data, err = bigVarint(data); err != nil {
			return nil, err
		}
		if out[i], err = rescale(v, scales[i], scale); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rescale makes unscaled v of scale from one of scale to: exactly, or an
// error.
func rescale(v *big.Int, from, to int64) (*big.Int, error) {
	if from < -38 || from > 38 {
		return nil, fmt.Errorf("%w: a decimal of scale %d", ErrCorrupt, from)
	}
	if from <= to {
		return v.Mul(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(to-from), nil)), nil
	}
	q, r := new(big.Int).QuoRem(v, new(big.Int).Exp(big.NewInt(10), big.NewInt(from-to), nil), new(big.Int))
	if r.Sign() != 0 {
		return nil, fmt.Errorf("%w: %s has more than the %d digits after the point its column holds", ErrUnsupported, formatDecimal(v, int(from)), to)
	}
	return q, nil
}

// bigVarint reads one zigzag varint of any width (at most
// maxDecimalBytes bytes).
func bigVarint(b []byte) (*big.Int, []byte, error) {
	u := new(big.Int)
	for i := 0; ; i++ {
		if i >= len(b) || i >= maxDecimalBytes {
			return nil, nil, fmt.Errorf("%w: a decimal's varint runs past %d bytes or the stream", ErrCorrupt, maxDecimalBytes)
		}
		u.Or(u, new(big.Int).Lsh(big.NewInt(int64(b[i]&0x7f)), uint(7*i)))
		if b[i]&0x80 == 0 {
			b = b[i+1:]
			break
		}
	}
	neg := u.Bit(0) == 1
	u.Rsh(u, 1)
	if neg {
		u.Add(u, big.NewInt(1)).Neg(u)
	}
	return u, b, nil
}

// formatDecimal writes unscaled v with scale digits after the point.
func formatDecimal(v *big.Int, scale int) string {
	if scale < 0 {
		return v.String() + "e" + fmt.Sprint(-scale)
	}
	neg := v.Sign() < 0
	digits := new(big.Int).Abs(v).String()
	for len(digits) <= scale {
		digits = "0" + digits
	}
	out := digits
	if scale > 0 {
		out = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	if neg {
		out = "-" + out
	}
	return out
}
