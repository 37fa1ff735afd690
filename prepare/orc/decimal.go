package orc

import (
	"fmt"
	"math/big"
)

// maxDecimalBytes bounds one decimal's varint: 38 digits need 127 bits.
const maxDecimalBytes = 20

// decimals reads n decimal values of column col: unbounded signed varints
// (DATA) and their scales (SECONDARY), as unscaled integers and scales.
func (sd *stripeData) decimals(col, n int) ([]*big.Int, []int64, error) {
	data, err := sd.streamBytes(col, Data, int64(n)*maxDecimalBytes+16)
	if err != nil {
		return nil, nil, err
	}
	scales, err := sd.ints(col, Secondary, true, n)
	if err != nil {
		return nil, nil, err
	}
	out := make([]*big.Int, n)
	for i := range out {
		if out[i], data, err = bigVarint(data); err != nil {
			return nil, nil, fmt.Errorf("column %d: %w", col, err)
		}
	}
	return out, scales, nil
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

// DecimalColumn reads a decimal column of stripe i as text with the
// column's scale (nil for nulls), for tests until the batch reader lands.
// A value whose own scale exceeds the column's cannot be held exactly.
func (f *File) DecimalColumn(i, col int) ([]*string, error) {
	sd, err := f.openStripe(i)
	if err != nil {
		return nil, err
	}
	pres, err := sd.present(col, int(sd.s.Rows))
	if err != nil {
		return nil, err
	}
	vals, scales, err := sd.decimals(col, nonNull(pres))
	if err != nil {
		return nil, err
	}
	want := int64(f.Footer.Types[col].Scale)
	out := make([]*string, len(pres))
	j := 0
	for k, p := range pres {
		if !p {
			continue
		}
		s := scales[j]
		if s < 0 || s > want {
			return nil, fmt.Errorf("%w: column %d: a value of scale %d in a decimal of scale %d", ErrCorrupt, col, s, want)
		}
		v := new(big.Int).Mul(vals[j], new(big.Int).Exp(big.NewInt(10), big.NewInt(want-s), nil))
		txt := formatDecimal(v, int(want))
		out[k] = &txt
		j++
	}
	return out, nil
}

// formatDecimal writes unscaled v with scale digits after the point.
func formatDecimal(v *big.Int, scale int) string {
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
