package prepare

// Kind is the kind of a decoded value.
type Kind uint8

const (
	KNull   Kind = iota
	KBool        // JSON true/false
	KNumber      // JSON number; Str holds its text
	KString      // JSON string (typed by its writer): only dates and times are inferred from it
	KText        // CSV field (untyped text): numbers, booleans, dates and times are inferred
	KObject
	KArray
)

// Value is one decoded value: a record (KObject) or anything inside one.
// Objects keep their fields in order; Raw holds the source text of objects
// and arrays, for columns that must fall back to JSON text.
type Value struct {
	Kind   Kind
	Bool   bool
	Quoted bool   // KText: the field was quoted (so "" is an empty string, not null)
	Exact  bool   // KNumber: a declared decimal (Avro), to be kept a decimal
	Str    string // KNumber, KString, KText
	Raw    []byte // KObject, KArray: the JSON text
	Fields []Field
	Elems  []Value
}

// Field is one member of an object.
type Field struct {
	Name string
	Val  Value
}

// Record is one record of a source file with where it came from, for
// rejects.
type Record struct {
	Line int    // 1-based line where the record starts
	Num  int    // 1-based record number in the file
	Val  Value  // a KObject
	Raw  []byte // the record's text (may be cut for huge records)
	Err  error  // non-nil: the record could not be parsed; Raw says what it was
	// Unparsed: Val is not filled in; Raw is the record's JSON text, for
	// the decoder (see jsonMode).
	Unparsed bool
}

// isNullish reports whether v carries no value for inference: null, or an
// unquoted empty CSV field.
func (v Value) isNullish() bool {
	return v.Kind == KNull || (v.Kind == KText && v.Str == "" && !v.Quoted)
}
