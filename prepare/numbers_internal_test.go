package prepare

import (
	"math"
	"testing"
	"time"
)

// TestExactNumbers: a literal is taken only when the type holds its value
// to the last digit written.
func TestExactNumbers(t *testing.T) {
	floats := []struct {
		s    string
		bits int
		ok   bool
	}{
		{"0.1", 64, true}, {"-0", 64, true}, {"0.0", 64, true}, {"1e308", 64, true}, {"5e-324", 64, true},
		{"0.30000000000000004", 64, true}, {"12345678901234567.89", 64, false}, {"1e400", 64, false},
		{"1e-400", 64, false}, {"9007199254740993", 64, false}, {"0.1", 32, true}, {"16777217", 32, false},
	}
	for _, c := range floats {
		if _, ok := exactFloat(c.s, c.bits); ok != c.ok {
			t.Errorf("exactFloat(%s, %d) = %v", c.s, c.bits, ok)
		}
	}
	for _, s := range []string{"NaN", "inf", "0x1p3", "007", "1_000"} { // what ParseFloat takes, but no CSV number is
		if _, ok := toFloat(Value{Kind: KText, Str: s}, 64); ok {
			t.Errorf("toFloat(%q) took it", s)
		}
		if _, ok := toInt(Value{Kind: KText, Str: s}, -1<<63, 1<<63-1); ok {
			t.Errorf("toInt(%q) took it", s)
		}
	}
	ints := []struct {
		s  string
		n  int64
		ok bool
	}{
		{"9223372036854775807", 9223372036854775807, true}, {"9223372036854775808", 0, false},
		{"-9223372036854775809", 0, false}, {"3.0", 3, true}, {"1e3", 1000, true}, {"1.5", 0, false},
		{"0.0", 0, true}, {"-1e18", -1e18, true}, {"1e19", 0, false},
	}
	for _, c := range ints {
		if n, ok := exactInt(c.s, -1<<63, 1<<63-1); ok != c.ok || ok && n != c.n {
			t.Errorf("exactInt(%s) = %d, %v", c.s, n, ok)
		}
	}
	decimals := []struct {
		s  string
		ok bool
	}{{"12.34", true}, {"12.340", true}, {"1.234", false}, {"12345678.9", true}, {"123456789.5", false}, {"1e1", true}, {"1e-3", false}, {"-0.01", true}}
	for _, c := range decimals {
		if _, ok := exactDecimal(c.s, 10, 2); ok != c.ok {
			t.Errorf("exactDecimal(%s, 10, 2) = %v", c.s, ok)
		}
	}
}

// TestNoteFastPath: the short-literal path of numStats.note reads the same
// scale and integer digits as readLiteral.
func TestNoteFastPath(t *testing.T) {
	for _, s := range []string{"0", "-0.5", "12.50", "+007.25", "123456789012345", "0.000001", "-999"} {
		var fast, slow numStats
		fast.notePlain(s)
		l, _ := readLiteral(s)
		slow.scale, slow.intLen = l.frac, l.intLen
		if fast != slow {
			t.Errorf("%s: fast %+v, readLiteral %+v", s, fast, slow)
		}
	}
}

// TestSimpleFloat: the fast path takes only literals numeric takes, and
// gives exactFloat's value to the bit (negative zero included).
func TestSimpleFloat(t *testing.T) {
	cases := []struct {
		s  string
		ok bool
	}{
		{"0", true}, {"-0", true}, {"2494.44", true}, {"-0.5", true}, {"123456789012345", true},
		{"0.00000000000001", true}, {"12345678901234.5", true},
		{"1234567890123456", false}, {"00.5", false}, {"01", false}, {".5", false}, {"5.", false},
		{"+1", false}, {"1e3", false}, {"-", false}, {"", false}, {"1.2.3", false}, {"1_0", false}, {"--1", false},
	}
	for _, c := range cases {
		f, ok := simpleFloat(c.s)
		if ok != c.ok {
			t.Errorf("simpleFloat(%q) took it: %v, want %v", c.s, ok, c.ok)
		}
		if ok {
			agreesWithExact(t, c.s, f)
		}
	}
}

// FuzzSimpleFloat checks simpleFloat against numeric and exactFloat on
// any text (CSV fields and JSON numbers reach it).
func FuzzSimpleFloat(f *testing.F) {
	for _, s := range []string{"0", "-0", "2494.44", "1e3", "00.5", "123456789012345", "0.1234567890123456"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, ok := simpleFloat(s); ok {
			agreesWithExact(t, s, v)
		}
	})
}

func agreesWithExact(tb testing.TB, s string, f float64) {
	tb.Helper()
	if !numeric(Value{Kind: KText, Str: s}) {
		tb.Fatalf("simpleFloat took %q, which numeric does not", s)
	}
	want, ok := exactFloat(s, 64)
	if !ok || math.Float64bits(want) != math.Float64bits(f) {
		tb.Fatalf("simpleFloat(%q) = %v (%x), exactFloat = %v (%x), %v", s, f, math.Float64bits(f), want, math.Float64bits(want), ok)
	}
}

// FuzzSimpleDate checks simpleDate against time.Parse(time.DateOnly).
func FuzzSimpleDate(f *testing.F) {
	for _, s := range []string{"2023-07-22", "2024-02-29", "2023-02-29", "0000-01-01", "9999-12-31", "2023-00-10", "2023-13-01", "2023-04-31", "2023-7-22x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := simpleDate(s)
		want, err := time.Parse(time.DateOnly, s)
		if ok && (err != nil || !got.Equal(want) || got.Location() != want.Location()) {
			t.Fatalf("simpleDate(%q) = %v, time.Parse = %v, %v", s, got, want, err)
		}
		if !ok && err == nil && len(s) == 10 && s[4] == '-' && s[7] == '-' && isDigits(s[:4]+s[5:7]+s[8:]) {
			t.Fatalf("simpleDate refused %q, which time.Parse takes", s)
		}
	})
}
