package orc

import (
	"slices"
	"testing"
)

// TestRLEExamples decodes every example of the ORC specification's
// run-length encodings to the values the specification gives.
func TestRLEExamples(t *testing.T) {
	hundred := func(v int64) []int64 {
		out := make([]int64, 100)
		for i := range out {
			out[i] = v
		}
		return out
	}
	down := make([]int64, 100)
	for i := range down {
		down[i] = int64(100 - i)
	}
	cases := []struct {
		name string
		v2   bool
		in   []byte
		want []int64
	}{
		{"v1 run of 7s", false, []byte{0x61, 0x00, 0x07}, hundred(7)},
		{"v1 run down from 100", false, []byte{0x61, 0xff, 0x64}, down},
		{"v1 literals", false, []byte{0xfb, 0x02, 0x03, 0x06, 0x07, 0xb}, []int64{2, 3, 6, 7, 11}},
		{"v2 short repeat", true, []byte{0x0a, 0x27, 0x10}, []int64{10000, 10000, 10000, 10000, 10000}},
		{"v2 direct", true, []byte{0x5e, 0x03, 0x5c, 0xa1, 0xab, 0x1e, 0xde, 0xad, 0xbe, 0xef}, []int64{23713, 43806, 57005, 48879}},
		{"v2 patched base", true, []byte{0x8e, 0x13, 0x2b, 0x21, 0x07, 0xd0, 0x1e, 0x00, 0x14, 0x70, 0x28, 0x32, 0x3c, 0x46, 0x50, 0x5a, 0x64, 0x6e,
			0x78, 0x82, 0x8c, 0x96, 0xa0, 0xaa, 0xb4, 0xbe, 0xfc, 0xe8}, []int64{2030, 2000, 2020, 1000000, 2040, 2050, 2060, 2070,
			2080, 2090, 2100, 2110, 2120, 2130, 2140, 2150, 2160, 2170, 2180, 2190}},
		{"v2 delta", true, []byte{0xc6, 0x09, 0x02, 0x02, 0x22, 0x42, 0x42, 0x46}, []int64{2, 3, 5, 7, 11, 13, 17, 19, 23, 29}},
	}
	for _, tc := range cases {
		decode := decodeRLEv1
		if tc.v2 {
			decode = decodeRLEv2
		}
		got, err := decode(tc.in, false, 1000)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.name, got, err, tc.want)
		}
		if _, err := decode(tc.in, false, len(tc.want)-1); err == nil {
			t.Errorf("%s: decoded past its limit", tc.name)
		}
		if len(tc.in) > 2 {
			if _, err := decode(tc.in[:len(tc.in)-1], false, 1000); err == nil && tc.name != "v1 literals" {
				t.Errorf("%s: decoded a stream cut short", tc.name)
			}
		}
	}
}

func TestByteAndBooleanRLE(t *testing.T) {
	got, err := decodeByteRLE([]byte{0x61, 0x00}, 1000)
	if err != nil || len(got) != 100 || slices.ContainsFunc(got, func(b byte) bool { return b != 0 }) {
		t.Errorf("a hundred 0s: %v %v", got, err)
	}
	got, err = decodeByteRLE([]byte{0xfe, 0x44, 0x45}, 1000)
	if err != nil || !slices.Equal(got, []byte{0x44, 0x45}) {
		t.Errorf("literals: %v %v", got, err)
	}
	bools, err := decodeBooleans([]byte{0xff, 0x80}, 8)
	if err != nil || !slices.Equal(bools, []bool{true, false, false, false, false, false, false, false}) {
		t.Errorf("booleans: %v %v", bools, err)
	}
}

// FuzzRLE: any bytes decode or fail, never past the limit.
func FuzzRLE(f *testing.F) {
	f.Add([]byte{0x8e, 0x13, 0x2b, 0x21, 0x07, 0xd0, 0x1e, 0x00, 0x14, 0x70}, uint8(0))
	f.Add([]byte{0xc6, 0x09, 0x02, 0x02, 0x22, 0x42, 0x42, 0x46}, uint8(1))
	f.Add([]byte{0x61, 0xff, 0x64}, uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		const limit = 4096
		var n int
		var err error
		switch which % 3 {
		case 0:
			var v []int64
			v, err = decodeRLEv2(b, which&4 != 0, limit)
			n = len(v)
		case 1:
			var v []int64
			v, err = decodeRLEv1(b, which&4 != 0, limit)
			n = len(v)
		default:
			var v []byte
			v, err = decodeByteRLE(b, limit)
			n = len(v)
		}
		if err == nil && n > limit {
			t.Fatalf("%d values past the limit %d", n, limit)
		}
	})
}
