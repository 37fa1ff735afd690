package prepare

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/lagoon-dev/lagoon/internal/fuzzing"
)

// The fuzz targets of the prepare engine: every parser of the bytes users
// drop. Seeds: testdata/fuzz/<target>/ (crashers found are kept there)
// and the project's own fixtures. `go test` runs the seeds; .ci/run fuzzes
// each target for a short while.

var jsonSeeds = []string{`{"a":1,"b":"x"}`, `{"broken": `, `[{"a":1},{"a":2}]`, `{"a":[1,{"b":null}],"c":1e400}`,
	"\xEF\xBB\x7B\x7D", `]`, `}`, `{"a":"\ud800"}`, `{"a":-0.0e+5}`, `{"a":01}`, `[1,]`, `{"a" 1}`, `"\u00e9"`}

// FuzzParseJSON: the parser accepts what encoding/json accepts, and
// yields the same values (numbers compared by their text).
func FuzzParseJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzing.MaxInput || !utf8.Valid(b) || bytes.Count(b, []byte("["))+bytes.Count(b, []byte("{")) > maxDepth {
			return // invalid UTF-8 is refused before parsing; encoding/json nests deeper
		}
		var v Value
		var err error
		fuzzing.Within(t, "parseJSON", func() { v, err = parseJSON(b) })
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var want any
		jerr := dec.Decode(&want)
		if jerr == nil && dec.More() || jerr == nil && trailingData(dec) {
			jerr = errors.New("trailing data")
		}
		if errors.Is(err, errLoneSurrogate) {
			return // encoding/json takes it as U+FFFD; lagoon never changes a value
		}
		if (err == nil) != (jerr == nil) {
			t.Fatalf("%q: lagoon says %v, encoding/json %v", b, err, jerr)
		}
		if err == nil && !reflect.DeepEqual(plain(v), want) {
			t.Fatalf("%q: lagoon reads %#v, encoding/json %#v", b, plain(v), want)
		}
	})
}

func trailingData(dec *json.Decoder) bool {
	_, err := dec.Token()
	return err != io.EOF
}

// plain turns a Value into what encoding/json decodes (UseNumber); a
// repeated field keeps its last value, as encoding/json does.
func plain(v Value) any {
	switch v.Kind {
	case KBool:
		return v.Bool
	case KNumber:
		return json.Number(v.Str)
	case KString:
		return v.Str
	case KObject:
		m := map[string]any{}
		for _, f := range v.Fields {
			m[f.Name] = plain(f.Val)
		}
		return m
	case KArray:
		out := make([]any, len(v.Elems))
		for i, e := range v.Elems {
			out[i] = plain(e)
		}
		return out
	}
	return nil
}

// FuzzDecodeRecord: the decoder, which appends straight into builders,
// agrees with the parser on which records are JSON objects, and never
// panics whatever the bytes and the inferred type.
func FuzzDecodeRecord(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(`{"a":1,"b":[1,2],"c":{"d":"x"}}`), []byte(s))
	}
	f.Fuzz(func(t *testing.T, first, b []byte) {
		if len(b) > fuzzing.MaxInput {
			return
		}
		typ := newStruct()
		if v, err := parseJSON(first); err == nil && v.Kind == KObject {
			typ.observe(v)
		}
		rb := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(typ.arrowFields(), nil))
		defer rb.Release()
		var err error
		fuzzing.Within(t, "decoder", func() { err = newDecoder(0).record(rb.Fields(), typ, b) })
		v, perr := parseJSON(b)
		isObject := perr == nil && v.Kind == KObject
		var ce *convError
		syntax := errors.As(err, &ce) && ce.syntax
		if syntax == isObject {
			t.Fatalf("%q: decoder says %v, parser %v (object %v)", b, err, perr, isObject)
		}
	})
}

// FuzzRecords: every format's reader, from sniffing and decompression on,
// ends on any bytes — records, bad records or the file's error — within
// the budget, under every name the bytes may come with.
func FuzzRecords(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add("x.json", []byte(s))
	}
	f.Add("x.csv", []byte("a,b\n1,2\n\"x\"\"y\",3\n"))
	f.Add("x.tsv", []byte("a\tb\n1\t2\n"))
	f.Add("x.ndjson", []byte("{\"a\":1}\n{\"a\":\n"))
	f.Add("x.gz", []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"))
	f.Add("x.zst", []byte("\x28\xb5\x2f\xfd\x00\x00"))
	f.Add("x.avro", []byte("Obj\x01\x00\x00"))
	f.Fuzz(func(t *testing.T, name string, b []byte) {
		if len(b) > fuzzing.MaxInput {
			return
		}
		for _, raw := range []bool{false, true} {
			fuzzing.Within(t, "records of "+name, func() { readAll(t, name, b, raw) })
		}
	})
}

// readAll reads a file's records to the end, as a conversion does.
func readAll(t *testing.T, name string, b []byte, raw bool) {
	rr, closer, err := openRecords(name, bytes.NewReader(b), 1<<16, raw)
	if err != nil {
		return // refused whole: fine, with its reason
	}
	defer closer.Close()
	for n := 0; ; n++ {
		rec, err := rr.next()
		if err != nil {
			return
		}
		if n > len(b)+1 {
			t.Fatalf("%s: more records (%d) than bytes (%d): the reader does not advance", name, n, len(b))
		}
		if rec.Err == nil && !rec.Unparsed && rec.Val.Kind != KObject {
			t.Fatalf("%s: a good record that is not an object: %+v", name, rec)
		}
		if rl, ok := rr.(interface{ release() }); ok {
			rl.release()
		}
	}
}

// FuzzCSV: on input without quotes, the CSV reader's fields are the lines
// split at the separator — the plain reading the spec gives.
func FuzzCSV(f *testing.F) {
	fuzzing.SeedFiles(f, "../testdata/csv-spectrum/csvs/*.csv")
	f.Add([]byte("a,b\n1,2\n"))
	f.Add([]byte("a,,b\r\n,,\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzing.MaxInput {
			return
		}
		c := newCSVReader(bytes.NewReader(b), ',', 1<<20)
		var got [][]string
		fuzzing.Within(t, "csv", func() {
			for {
				_, fields, _, err := c.next()
				if err != nil {
					break
				}
				var row []string
				for _, fl := range fields {
					row = append(row, fl.text)
				}
				got = append(got, row)
			}
		})
		if bytes.ContainsAny(b, "\"\r") || bytes.HasPrefix(b, bomUTF8) {
			return
		}
		want := plainCSV(string(b))
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: got %q, want %q", b, got, want)
		}
	})
}

func plainCSV(s string) [][]string {
	var out [][]string
	if s == "" {
		return nil
	}
	s = strings.TrimSuffix(s, "\n")
	for _, line := range strings.Split(s, "\n") {
		out = append(out, strings.Split(line, ","))
	}
	return out
}

// FuzzAvro: the Avro reader ends on any bytes after the magic.
func FuzzAvro(f *testing.F) {
	f.Add([]byte("Obj\x01\x04\x16avro.schema\x1e{\"type\":\"int\"}\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzing.MaxInput {
			return
		}
		fuzzing.Within(t, "avro", func() { readAll(t, "x.avro", b, false) })
	})
}

// FuzzDecodeBOM: text with a UTF-16 byte order mark decodes to what
// unicode/utf16 makes of it when it is well formed, and is an ErrNotText
// otherwise — never text with a U+FFFD that was not in it. UTF-32 and
// UTF-8 marks and no mark at all go through the same door.
func FuzzDecodeBOM(f *testing.F) {
	for _, s := range []string{"\xFF\xFEa\x00", "\xFE\xFF\x00a", "\xFF\xFE\x3D\xD8\x00\xDE", "\xFF\xFE\x3D\xD8", "\xFF\xFE\x00\xDC",
		"\xFF\xFE\x00\x00a\x00\x00\x00", "\x00\x00\xFE\xFF\x00\x11\x00\x00", "\xEF\xBB\xBFab", "ab", "\xFF\xFEa"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzing.MaxInput {
			return
		}
		var out []byte
		var err error
		fuzzing.Within(t, "decodeBOM", func() {
			br, derr := decodeBOM(bufio.NewReader(bytes.NewReader(b)))
			if derr != nil {
				err = derr
				return
			}
			out, err = io.ReadAll(br)
		})
		want, ok := utf16Reference(b)
		if !ok {
			return // not UTF-16 with a mark: no reference to compare with
		}
		switch {
		case want == nil && (err == nil || !errors.Is(err, ErrNotText)):
			t.Fatalf("malformed UTF-16 %x: got %q, %v; want ErrNotText", b, out, err)
		case want != nil && (err != nil || !bytes.Equal(out, want)):
			t.Fatalf("UTF-16 %x: got %q, %v; want %q", b, out, err, want)
		}
	})
}

// utf16Reference decodes b when it starts with a UTF-16 byte order mark
// (and not a UTF-32 one): nil for malformed text (an odd length or an
// unpaired surrogate, which unicode/utf16 would turn into U+FFFD).
func utf16Reference(b []byte) ([]byte, bool) {
	var order binary.ByteOrder
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE, 0, 0}):
		return nil, false
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		order = binary.LittleEndian
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		order = binary.BigEndian
	default:
		return nil, false
	}
	b = b[2:]
	if len(b)%2 != 0 {
		return nil, true
	}
	units := make([]uint16, len(b)/2)
	for i := range units {
		units[i] = order.Uint16(b[2*i:])
	}
	for i := 0; i < len(units); i++ {
		switch u := rune(units[i]); {
		case u >= 0xDC00 && u < 0xE000:
			return nil, true
		case u >= 0xD800 && u < 0xDC00:
			if i+1 >= len(units) || units[i+1] < 0xDC00 || units[i+1] >= 0xE000 {
				return nil, true
			}
			i++
		}
	}
	return []byte(string(utf16.Decode(units))), true
}
