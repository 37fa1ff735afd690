package prepare

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// convError says why a value did not go into its column. widen is set when
// the column's type was inferred and can widen to take it (the file is then
// converted again); otherwise the record is bad.
type convError struct {
	widen  bool
	syntax bool // not a JSON object at all (direct decoding finds this late)
	path   string
	msg    string
}

func (e *convError) Error() string {
	if e.syntax {
		return e.msg
	}
	return e.path + ": " + e.msg
}

func mismatch(t *Type, path, format string, args ...any) *convError {
	return &convError{widen: t.Kind != TFixed && !t.locked, path: path, msg: fmt.Sprintf(format, args...)}
}

// appendRecord appends one record (a KObject) to the builders of the top
// struct t. On error the builders may hold part of the record: the caller
// discards the batch and rebuilds it without the record.
func appendRecord(fields []array.Builder, t *Type, v Value, slot int) error {
	return appendFields(fields, t, v, "", slot)
}

func appendFields(builders []array.Builder, t *Type, v Value, prefix string, slot int) error {
	var set []bool
	if len(builders) <= 64 {
		var small [64]bool
		set = small[:len(builders)]
	} else {
		set = make([]bool, len(builders))
	}
	for i, f := range v.Fields {
		c := t.columnAt(i, f.Name, slot)
		if c == nil {
			if f.Val.isNullish() {
				continue
			}
			return &convError{widen: true, path: prefix + f.Name, msg: "a new column"}
		}
		if c.idx < 0 {
			if f.Val.isNullish() {
				continue
			}
			return &convError{widen: true, path: prefix + f.Name, msg: "first value of a column seen only empty"}
		}
		if set[c.idx] {
			return &convError{path: prefix + f.Name, msg: "field given twice in one record"}
		}
		set[c.idx] = true
		// The path is spelled out only on error (appendValue's paths are
		// relative to the one it is given).
		if err := appendValue(builders[c.idx], c.Type, f.Val, "", slot); err != nil {
			if ce, ok := err.(*convError); ok {
				ce.path = prefix + f.Name + ce.path
			}
			return err
		}
	}
	for i, b := range builders {
		if !set[i] {
			b.AppendNull()
		}
	}
	return nil
}

func appendValue(b array.Builder, t *Type, v Value, path string, slot int) error {
	if v.Kind == KNull || (v.Kind == KText && v.Str == "" && !v.Quoted) {
		if sb, ok := b.(*array.StringBuilder); ok && v.Kind == KText {
			sb.Append("") // an empty CSV field of a text column
			return nil
		}
		b.AppendNull()
		return nil
	}
	switch bb := b.(type) {
	case *array.StructBuilder:
		return appendStruct(bb, t, v, path, slot)
	case *array.ListBuilder:
		return appendList(bb, t, v, path, slot)
	case *array.MapBuilder:
		return appendMap(bb, t, v, path, slot)
	}
	return appendScalar(b, t, v, path)
}

func appendStruct(b *array.StructBuilder, t *Type, v Value, path string, slot int) error {
	if v.Kind != KObject || t.Kind != TStruct {
		return mismatch(t, path, "want an object, got %s", describe(v))
	}
	b.Append(true)
	children := make([]array.Builder, b.NumField())
	for i := range children {
		children[i] = b.FieldBuilder(i)
	}
	return appendFields(children, t, v, path+".", slot)
}

func appendList(b *array.ListBuilder, t *Type, v Value, path string, slot int) error {
	if v.Kind != KArray || t.Kind != TList {
		return mismatch(t, path, "want an array, got %s", describe(v))
	}
	b.Append(true)
	vb := b.ValueBuilder()
	for _, e := range v.Elems {
		if err := appendValue(vb, t.Elem, e, path+"[]", slot); err != nil {
			return err
		}
	}
	return nil
}

// appendMap fills a table's map column from a JSON object.
func appendMap(b *array.MapBuilder, t *Type, v Value, path string, slot int) error {
	if v.Kind != KObject {
		return mismatch(t, path, "want an object for a map, got %s", describe(v))
	}
	mt := t.Arrow.(*arrow.MapType)
	b.Append(true)
	keyT, itemT := &Type{Kind: TFixed, Arrow: mt.KeyType()}, &Type{Kind: TFixed, Arrow: mt.ItemType()}
	for _, f := range v.Fields {
		if err := appendScalar(b.KeyBuilder(), keyT, Value{Kind: KString, Str: f.Name}, path+".key"); err != nil {
			return err
		}
		if err := appendValue(b.ItemBuilder(), itemT, f.Val, path+"."+f.Name, slot); err != nil {
			return err
		}
	}
	return nil
}

func describe(v Value) string {
	switch v.Kind {
	case KObject:
		return "an object"
	case KArray:
		return "an array"
	case KBool:
		return "a boolean"
	case KNumber:
		return "number " + v.Str
	}
	s := v.Str
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strconv.Quote(s)
}

func appendScalar(b array.Builder, t *Type, v Value, path string) error {
	if v.Kind == KObject || v.Kind == KArray {
		if sb, ok := b.(*array.StringBuilder); ok {
			if !utf8.Valid(v.Raw) {
				return &convError{path: path, msg: invalidUTF8(string(v.Raw)).Error()}
			}
			sb.Append(string(v.Raw)) // objects fall back to their JSON text
			return nil
		}
		return mismatch(t, path, "want a scalar, got %s", describe(v))
	}
	ok := false
	switch bb := b.(type) {
	case *array.StringBuilder:
		text := scalarText(v)
		if v.Kind != KText && !utf8.ValidString(text) { // CSV fields (KText): their row was checked
			return &convError{path: path, msg: invalidUTF8(text).Error()}
		}
		bb.Append(text)
		ok = true
	case *array.Int64Builder:
		var n int64
		if n, ok = toInt(v, math.MinInt64, math.MaxInt64); ok {
			bb.Append(n)
		}
	case *array.Int32Builder:
		var n int64
		if n, ok = toInt(v, math.MinInt32, math.MaxInt32); ok {
			bb.Append(int32(n))
		}
	case *array.Float64Builder:
		var f float64
		if f, ok = toFloat(v, 64); ok {
			bb.Append(f)
		}
	case *array.Float32Builder:
		var f float64
		if f, ok = toFloat(v, 32); ok {
			bb.Append(float32(f))
		}
	case *array.BooleanBuilder:
		var x bool
		if x, ok = toBool(v); ok {
			bb.Append(x)
		}
	default:
		return appendTemporal(b, t, v, path)
	}
	if !ok {
		return mismatch(t, path, "%s is not a %s (or would not be stored exactly)", describe(v), b.Type())
	}
	return nil
}

func appendTemporal(b array.Builder, t *Type, v Value, path string) error {
	s, ok := v.Str, v.Kind == KString || v.Kind == KText
	switch bb := b.(type) {
	case *array.Date32Builder:
		var d time.Time
		if d, ok = parseDate(s, ok); ok {
			bb.Append(arrow.Date32FromTime(d))
		}
	case *array.TimestampBuilder:
		var us int64
		if us, ok = parseTimestamp(s, ok); ok {
			bb.Append(arrow.Timestamp(us))
		}
	case *array.Time64Builder:
		var d time.Time
		if ok {
			d, ok = parseTime(s)
		}
		if ok {
			bb.Append(arrow.Time64(d.Sub(d.Truncate(24 * time.Hour)).Microseconds()))
		}
	case *array.BinaryBuilder:
		if ok {
			bb.Append([]byte(s))
		}
	case *array.Decimal128Builder:
		dt := bb.Type().(*arrow.Decimal128Type)
		var n decimal128.Num
		ok = numeric(v) || v.Kind == KString && (isInteger(v.Str) || isDecimal(v.Str))
		if ok {
			n, ok = exactDecimal(v.Str, dt.Precision, dt.Scale)
		}
		if ok {
			bb.Append(n)
		}
	default:
		return mismatch(t, path, "cannot convert to %s", b.Type())
	}
	if !ok {
		return mismatch(t, path, "%s is not a %s", describe(v), b.Type())
	}
	return nil
}

func scalarText(v Value) string {
	if v.Kind == KBool {
		return strconv.FormatBool(v.Bool)
	}
	return v.Str
}

// toInt accepts integers, and numbers with no fraction ("3.0") into a
// table's integer column, when they fit it exactly. CSV text must be
// written as a number: "007" is not 7.
func toInt(v Value, lo, hi int64) (int64, bool) {
	if v.Kind != KNumber && v.Kind != KText {
		return 0, false
	}
	if n, err := strconv.ParseInt(v.Str, 10, 64); err == nil { // the usual case: one parse
		return n, n >= lo && n <= hi && (v.Kind == KNumber || !leadingZero(v.Str))
	}
	return exactIntOf(v, lo, hi)
}

// leadingZero reports whether an integer ParseInt took ([+-]digits) is
// written with a leading zero ("007", "-01"), which a number would lose.
func leadingZero(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	return len(s) > 1 && s[0] == '0'
}

// exactIntOf is toInt for what is not a plain integer ("3.0", "1e3").
func exactIntOf(v Value, lo, hi int64) (int64, bool) {
	if !numeric(v) {
		return 0, false
	}
	return exactInt(v.Str, lo, hi)
}

// toFloat accepts numbers a float of bits holds exactly (see exactFloat).
func toFloat(v Value, bits int) (float64, bool) {
	if bits == 64 && (v.Kind == KNumber || v.Kind == KText) {
		if f, ok := simpleFloat(v.Str); ok {
			return f, true // the usual case
		}
	}
	if !numeric(v) {
		return 0, false
	}
	return exactFloat(v.Str, bits)
}

// numeric reports whether v is a number literal: a JSON number, or CSV
// text written as one (no leading zeros, which would be lost).
func numeric(v Value) bool {
	switch v.Kind {
	case KNumber:
		return true
	case KText:
		return isInteger(v.Str) || isDecimal(v.Str)
	}
	return false
}

func toBool(v Value) (bool, bool) {
	switch {
	case v.Kind == KBool:
		return v.Bool, true
	case v.Kind == KText && strings.EqualFold(v.Str, "true"):
		return true, true
	case v.Kind == KText && strings.EqualFold(v.Str, "false"):
		return false, true
	}
	return false, false
}

func parseDate(s string, ok bool) (time.Time, bool) {
	if !ok || len(s) != 10 {
		return time.Time{}, false
	}
	if d, ok := simpleDate(s); ok {
		return d, true // the usual case
	}
	d, err := time.Parse(time.DateOnly, s)
	return d, err == nil
}

// simpleDate reads a valid YYYY-MM-DD as time.Parse(time.DateOnly) does,
// a few times faster; anything else reports false, for time.Parse.
func simpleDate(s string) (time.Time, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	y, ok1 := digitsValue(s[:4])
	m, ok2 := digitsValue(s[5:7])
	d, ok3 := digitsValue(s[8:])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(time.Month(m), y) {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), true
}

// digitsValue is the value of s if s is all ASCII digits.
func digitsValue(s string) (int, bool) {
	n := 0
	for i := range len(s) {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// daysIn is the number of days of month m of year y.
func daysIn(m time.Month, y int) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// parseTimestamp returns microseconds since the epoch. Into a zoned column
// a value without zone is taken as UTC; into a column without zone a zoned
// value is converted to UTC wall time. Sub-microsecond digits are refused.
func parseTimestamp(s string, ok bool) (int64, bool) {
	if !ok || len(s) < 10 || fractionDigits(s) > 6 {
		return 0, false
	}
	if len(s) == 10 {
		d, ok := parseDate(s, true)
		return d.UnixMicro(), ok
	}
	parse := parseNaive // without a zone, no zoned layout can match: skip them
	if hasZone(s) {
		parse = parseZoned
	}
	if t, ok := parse(s); ok {
		return t.UnixMicro(), true
	}
	return 0, false
}

// hasZone reports whether a timestamp (past its date) names a zone: Z,
// an offset, or a zone abbreviation.
func hasZone(s string) bool {
	last := s[len(s)-1]
	return last >= 'A' && last <= 'Z' || strings.ContainsAny(s[10:], "+-")
}

func parseTime(s string) (time.Time, bool) {
	for _, l := range []string{"15:04:05", "15:04"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
