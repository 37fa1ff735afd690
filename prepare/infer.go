package prepare

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lagoon-dev/lagoon/lake"
)

// TKind is an inferred type.
type TKind uint8

const (
	TUnknown TKind = iota // only nulls seen so far
	TBool
	TInt // int64
	TFloat
	TDate
	TTimestamp   // no zone
	TTimestampTZ // with a zone: stored as UTC instants
	TString
	TStruct
	TList
	TFixed // a column the table already has: values are converted to Arrow
)

// Type is a column type being inferred. Fixed nodes (from an existing
// table) never change; structs and lists from a table can still gain new
// nested fields, which are inferred, but stay structs and lists (locked):
// a value of another shape is a bad record, not a reason to make the
// column a string the table cannot take.
type Type struct {
	Kind   TKind
	locked bool           // TStruct, TList from the table
	Arrow  arrow.DataType // TFixed
	Fields []*Column      // TStruct, in order of first appearance
	Elem   *Type          // TList
	byRaw  map[string]*Column
	byName map[string]*Column
	hints  [][]colHint // per slot: column of the field at each position, last seen
	num    numStats    // TInt, TFloat: what the literals seen need
}

// numStats sums up the number literals a column has seen, so that it can
// be written as a type that holds every one exactly: a double, unless some
// literal has more digits than a double keeps (money), then decimal(38,s).
type numStats struct {
	wide   bool // some literal needs more digits than a double keeps, or is a declared decimal
	scale  int  // most digits after the point
	intLen int  // most digits before it
}

func (n *numStats) note(v Value) {
	if !v.Exact && len(v.Str) <= doubleDigits && !hasExponent(v.Str) {
		n.notePlain(v.Str) // the usual case, read without readLiteral
		return
	}
	l, ok := readLiteral(v.Str)
	if !ok {
		return
	}
	n.wide = n.wide || v.Exact || l.sig() > doubleDigits
	n.scale = max(n.scale, l.frac)
	n.intLen = max(n.intLen, l.intLen)
}

// notePlain notes a literal of at most doubleDigits characters without
// exponent ("-12.50"): it fits a double, and its digits before and after
// the point are where they are written.
func (n *numStats) notePlain(s string) {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	for i < len(s) && s[i] == '0' {
		i++
	}
	s = s[i:]
	intLen, frac := len(s), 0
	if dot := strings.IndexByte(s, '.'); dot >= 0 {
		intLen, frac = dot, len(s)-dot-1
	}
	n.scale = max(n.scale, frac)
	n.intLen = max(n.intLen, intLen)
}

// decimal reports whether the column is best written as decimal(38,
// scale): some literal needs it, and all fit.
func (n numStats) decimal() bool {
	return n.wide && n.scale+max(n.intLen, 1) <= 38
}

// colHint remembers which column the field at a position mapped to:
// records of a file mostly list their fields in one order.
type colHint struct {
	name string
	c    *Column
}

// columnAt is column(raw, false) for the field at position i of a record,
// answered from the last record's mapping when the name is the same. The
// mappings are kept per slot (see withHints): the builders of one
// conversion, each with a slot, look columns up at once. Without a slot,
// nothing is kept.
func (t *Type) columnAt(i int, raw string, slot int) *Column {
	if slot < len(t.hints) {
		if h := t.hints[slot]; i < len(h) && h[i].name == raw {
			return h[i].c
		}
	}
	columnsMu.Lock()
	c := t.column(raw, false) // may note raw as a column's first spelling
	columnsMu.Unlock()
	if c != nil && i < 1024 && slot < len(t.hints) {
		for len(t.hints[slot]) <= i {
			t.hints[slot] = append(t.hints[slot], colHint{})
		}
		t.hints[slot][i] = colHint{name: strings.Clone(raw), c: c}
	}
	return c
}

// columnsMu guards the column maps of the types being converted into.
var columnsMu sync.Mutex

// withHints gives t and the struct types within it n slots of column
// hints, before n builders convert into it.
func (t *Type) withHints(n int) {
	if t == nil {
		return
	}
	if t.Kind == TStruct && len(t.hints) < n {
		t.hints = append(t.hints, make([][]colHint, n-len(t.hints))...)
	}
	for _, c := range t.Fields {
		c.Type.withHints(n)
	}
	t.Elem.withHints(n)
}

// Column is a named member of a struct (a record is the top struct).
type Column struct {
	Name string // normalised
	Orig string // as first seen
	Type *Type
	idx  int // position among the struct's present columns; -1: left out
}

func newStruct() *Type {
	return &Type{Kind: TStruct, byRaw: map[string]*Column{}, byName: map[string]*Column{}}
}

// column returns the column a raw field name maps to, adding it when
// create is set. Names are normalised; a second raw name that normalises
// to a name another raw name took gets _2, _3, … (order of appearance),
// while a column that came from the table is taken by the first raw name
// that normalises to it.
func (t *Type) column(raw string, create bool) *Column {
	if c, ok := t.byRaw[raw]; ok {
		return c
	}
	base := lake.NormalizeColumn(raw)
	if base == "" {
		base = "col"
	}
	raw = strings.Clone(raw) // it outlives the record it came from
	if c, ok := t.byName[base]; ok && c.Orig == "" {
		c.Orig = raw
		t.byRaw[raw] = c
		return c
	}
	if !create {
		return nil
	}
	name := base
	for i := 2; t.byName[name] != nil; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	c := &Column{Name: name, Orig: raw, Type: &Type{}}
	t.addColumn(c)
	t.byRaw[raw] = c
	return c
}

// reservedOrig marks a name no record may take (see reserve): no raw
// field name is this.
const reservedOrig = "\x00reserved"

// reserve keeps names (top-level columns lagoon fills itself:
// _etl_loaded_at, the lineage and path columns) from the records' fields:
// a record field of such a name becomes name_2, as any second field of
// one name does, instead of clashing with lagoon's column (the loader
// refused the whole output, and the user's file was gone by then).
func (t *Type) reserve(names ...string) {
	for _, n := range names {
		if t.byName[n] == nil {
			t.byName[n] = &Column{Name: n, Orig: reservedOrig}
		}
	}
}

func (t *Type) addColumn(c *Column) {
	t.Fields = append(t.Fields, c)
	t.byName[c.Name] = c
}

// observe widens t so that v fits it.
func (t *Type) observe(v Value) {
	if v.isNullish() || t.Kind == TFixed {
		return
	}
	if t.Kind == TUnknown {
		t.become(v)
		return
	}
	switch {
	case t.Kind == TStruct && v.Kind == KObject:
		t.observeObject(v)
	case t.Kind == TList && v.Kind == KArray:
		for _, e := range v.Elems {
			t.Elem.observe(e)
		}
	case t.locked:
		// another shape for a table's struct or list: a bad record at build time
	case t.Kind == TStruct || t.Kind == TList || v.Kind == KObject || v.Kind == KArray:
		t.toString()
	default:
		t.Kind = join(t.Kind, scalarKind(v))
		t.noteNumber(v)
	}
}

func (t *Type) noteNumber(v Value) {
	if (t.Kind == TInt || t.Kind == TFloat) && (v.Kind == KNumber || v.Kind == KText) {
		t.num.note(v)
	}
}

func (t *Type) observeObject(v Value) {
	for _, f := range v.Fields {
		t.column(f.Name, true).Type.observe(f.Val)
	}
}

// become sets an unknown type from its first value.
func (t *Type) become(v Value) {
	switch v.Kind {
	case KObject:
		*t = *newStruct()
		t.observeObject(v)
	case KArray:
		*t = Type{Kind: TList, Elem: &Type{}}
		for _, e := range v.Elems {
			t.Elem.observe(e)
		}
	default:
		t.Kind = scalarKind(v)
		t.noteNumber(v)
	}
}

func (t *Type) toString() { *t = Type{Kind: TString} }

// join is the narrowest kind holding both a and b.
func join(a, b TKind) TKind {
	switch {
	case a == b:
		return a
	case a == TInt && b == TFloat, a == TFloat && b == TInt:
		return TFloat
	case a == TDate && b == TTimestamp, a == TTimestamp && b == TDate:
		return TTimestamp
	}
	return TString
}

// scalarKind infers the kind of a non-null scalar.
func scalarKind(v Value) TKind {
	switch v.Kind {
	case KBool:
		return TBool
	case KNumber:
		if v.Exact {
			return TFloat // a declared decimal (Avro): numStats keeps it one
		}
		return numberKind(v.Str)
	case KString:
		if k := temporalKind(v.Str); k != TUnknown {
			return k
		}
		return TString
	case KText:
		return textKind(v)
	}
	return TString
}

func numberKind(s string) TKind {
	if strings.ContainsAny(s, ".eE") {
		return TFloat
	}
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return TInt
	}
	return TString // past int64: kept exactly as text
}

// textKind infers a CSV field: booleans, integers without leading zeros,
// decimals, dates, timestamps; anything else (and a quoted "") is text.
func textKind(v Value) TKind {
	s := v.Str
	switch {
	case s == "":
		return TString
	case strings.EqualFold(s, "true") || strings.EqualFold(s, "false"):
		return TBool
	case isInteger(s):
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			return TInt
		}
		return TString
	case isDecimal(s):
		return TFloat
	}
	if k := temporalKind(s); k != TUnknown {
		return k
	}
	return TString
}

// isInteger: optional sign, digits, no leading zero (so "00123" stays text).
func isInteger(s string) bool {
	d := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	if d == "" || (len(d) > 1 && d[0] == '0') {
		return false
	}
	for i := range len(d) {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}

// isDecimal: an integer part without leading zeros, a fraction, an
// optional exponent ("12.5", "-0.25", "1.5e3"). One pass, no allocation:
// it runs on every CSV number.
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	intStart := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intDigits := i - intStart
	if intDigits == 0 || intDigits > 1 && s[intStart] == '0' {
		return false
	}
	hasDot := i < len(s) && s[i] == '.'
	if hasDot {
		i++
		fracStart := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == fracStart {
			return false
		}
	}
	if i == len(s) {
		return hasDot
	}
	if s[i] != 'e' && s[i] != 'E' {
		return false
	}
	return validExponent(s[i+1:])
}

// validExponent: digits after an optional sign; leading zeros allowed.
func validExponent(e string) bool {
	if e != "" && (e[0] == '+' || e[0] == '-') {
		e = e[1:]
	}
	if e == "" {
		return false
	}
	for i := range len(e) {
		if e[i] < '0' || e[i] > '9' {
			return false
		}
	}
	return true
}

// Timestamp layouts, tried in order (fractions of a second are accepted
// after the seconds by time.Parse even when the layout has none).
var (
	zonedLayouts = []string{time.RFC3339, "2006-01-02 15:04:05Z07:00", "2006-01-02T15:04:05Z0700", "2006-01-02 15:04:05Z0700", "2006-01-02 15:04:05 Z07:00", "2006-01-02 15:04:05 MST"}
	naiveLayouts = []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04"}
)

// temporalKind recognises dates and timestamps (RFC 3339 and common
// variants). A timestamp finer than a microsecond is not recognised: it
// would lose digits, so it stays text.
func temporalKind(s string) TKind {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' || !isDigits(s[:4]) {
		return TUnknown
	}
	if len(s) == 10 {
		if _, ok := parseDate(s, true); ok {
			return TDate
		}
		return TUnknown
	}
	if fractionDigits(s) > 6 {
		return TUnknown
	}
	if _, ok := parseZoned(s); ok {
		return TTimestampTZ
	}
	if _, ok := parseNaive(s); ok {
		return TTimestamp
	}
	return TUnknown
}

func parseZoned(s string) (time.Time, bool) {
	for _, l := range zonedLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func parseNaive(s string) (time.Time, bool) {
	for _, l := range naiveLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func fractionDigits(s string) int {
	i := strings.IndexByte(s, '.')
	if i < 0 {
		return 0
	}
	n := 0
	for j := i + 1; j < len(s) && s[j] >= '0' && s[j] <= '9'; j++ {
		n++
	}
	return n
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
