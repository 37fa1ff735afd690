package prepare

import (
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// Numbers are stored exactly or not at all: a literal goes into a column
// only when the column's type holds its value to the last digit, else its
// record is bad (see appendScalar). These helpers read a number literal
// ("-12.50", "1.5e3", as JSON or a CSV field writes it) as a decimal.

// literal is a number literal read as digits × 10^exp.
type literal struct {
	neg    bool
	digits string // significant digits, no leading or trailing zeros ("" for zero)
	exp    int    // the value is digits × 10^exp
	frac   int    // digits written after the point, less the exponent (the scale it needs)
	intLen int    // digits written before the point, plus the exponent
}

// maxExp bounds the exponents read: past it no column type holds the
// value anyway, and the arithmetic stays small.
const maxExp = 10_000

// readLiteral reads s: optional sign, digits, optional fraction, optional
// exponent. ok is false for anything else.
func readLiteral(s string) (l literal, ok bool) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		l.neg = s[i] == '-'
		i++
	}
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart := s[intStart:i]
	fracPart := ""
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		fracPart = s[fs:i]
	}
	if intPart == "" && fracPart == "" {
		return literal{}, false
	}
	e := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		n, err := strconv.Atoi(s[i+1:])
		if err != nil || s[i+1:] == "" || n > maxExp || n < -maxExp {
			return literal{}, false
		}
		e, i = n, len(s)
	}
	if i != len(s) {
		return literal{}, false
	}
	all := strings.TrimLeft(intPart+fracPart, "0")
	trimmed := strings.TrimRight(all, "0")
	l.digits = trimmed
	l.exp = e - len(fracPart) + (len(all) - len(trimmed))
	l.frac = max(len(fracPart)-e, 0)
	l.intLen = len(strings.TrimLeft(intPart, "0")) + e
	return l, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func hasExponent(s string) bool {
	for i := range len(s) {
		if s[i] == 'e' || s[i] == 'E' {
			return true
		}
	}
	return false
}

// sig is the number of significant digits.
func (l literal) sig() int { return len(l.digits) }

// doubleDigits is how many significant digits a float64 always keeps
// (any decimal of 15 digits survives the round trip).
const doubleDigits = 15

// simpleFloat parses the commonest literal exactly and fast: an optional
// minus, an integer part without leading zeros, an optional fraction, no
// exponent, at most doubleDigits digits in all ("-2494.44"). Its digits
// and its power of ten are both exact doubles, so one division rounds
// correctly (strconv's own exact fast path), and a decimal of so few
// digits keeps every one. Anything else reports false, for exactFloat.
func simpleFloat(s string) (float64, bool) {
	i, neg := 0, len(s) > 0 && s[0] == '-'
	if neg {
		i++
	}
	var m uint64
	digits, frac, start := 0, -1, i
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
			digits++
		case c == '.' && frac < 0 && i > start:
			frac = i + 1
		default:
			return 0, false
		}
	}
	intDigits := digits
	if frac >= 0 {
		intDigits = frac - 1 - start
	}
	if digits == 0 || digits > doubleDigits || frac == len(s) || intDigits > 1 && s[start] == '0' {
		return 0, false
	}
	f := float64(m)
	if frac >= 0 {
		f /= pow10[len(s)-frac]
	}
	if neg {
		f = -f
	}
	return f, true
}

// pow10 holds the powers of ten a double holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// exactFloat parses s, a decimal literal (a JSON number, or text numeric
// took), into a float of bits (32 or 64) and reports whether the float is
// the literal's value to every digit written: out of range, rounded to
// zero or to fewer digits is not.
func exactFloat(s string, bits int) (float64, bool) {
	f, err := strconv.ParseFloat(s, bits)
	if err != nil {
		return 0, false // out of range (or not a number)
	}
	keep, smallest := doubleDigits, leastNormal64
	if bits == 32 {
		keep, smallest = 6, leastNormal32
	}
	if len(s) <= keep && (f != 0 && math.Abs(f) >= smallest || f == 0 && !hasExponent(s)) {
		return f, true // at most keep digits, a normal float or a plain zero: exact (the usual case)
	}
	l, ok := readLiteral(s)
	if !ok {
		return 0, false
	}
	back, _ := readLiteral(strconv.FormatFloat(f, 'e', -1, bits))
	return f, back.digits == l.digits && (l.digits == "" || back.exp == l.exp)
}

// The least normal floats: below them a float keeps fewer digits.
const (
	leastNormal64 = 0x1p-1022
	leastNormal32 = 0x1p-126
)

// exactInt parses a literal into an integer within [lo, hi]: integers,
// and numbers with no fraction ("3.0", "1e3"). Anything that would lose
// digits or does not fit is refused.
func exactInt(s string, lo, hi int64) (int64, bool) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, n >= lo && n <= hi
	}
	l, ok := readLiteral(s)
	if ok && l.digits == "" {
		return 0, lo <= 0 && hi >= 0
	}
	if !ok || l.exp < 0 || l.sig()+l.exp > 19 {
		return 0, false
	}
	text := l.digits + strings.Repeat("0", l.exp)
	if l.neg {
		text = "-" + text
	}
	n, err := strconv.ParseInt(text, 10, 64)
	return n, err == nil && n >= lo && n <= hi
}

// exactDecimal parses a literal into a decimal of precision prec and
// scale scale, refusing one that needs more digits after the point than
// scale or more in all than prec (no rounding, ever).
func exactDecimal(s string, prec, scale int32) (decimal128.Num, bool) {
	l, ok := readLiteral(s)
	if !ok {
		return decimal128.Num{}, false
	}
	if l.digits == "" {
		return decimal128.Num{}, true
	}
	shift := int(scale) + l.exp // unscaled = digits × 10^shift
	if shift < 0 || l.sig()+shift > int(prec) {
		return decimal128.Num{}, false
	}
	n, _ := new(big.Int).SetString(l.digits, 10)
	n.Mul(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(shift)), nil))
	if l.neg {
		n.Neg(n)
	}
	return decimal128.FromBigInt(n), true
}
