package prepare

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// special8 must flag a word exactly when one of its bytes is a quote, a
// backslash or a control character.
func TestSpecial8(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	interesting := []byte{0, 0x1f, 0x20, 0x21, '"', 0x23, '\\', 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff}
	var b [8]byte
	for range 200_000 {
		want := false
		for i := range b {
			if rng.IntN(4) == 0 {
				b[i] = interesting[rng.IntN(len(interesting))]
			} else {
				b[i] = byte(rng.IntN(256))
			}
			want = want || b[i] == '"' || b[i] == '\\' || b[i] < 0x20
		}
		if got := special8(binary.LittleEndian.Uint64(b[:])); got != want {
			t.Fatalf("special8(% x) = %v, want %v", b, got, want)
		}
	}
}

func BenchmarkParseString(b *testing.B) {
	rec := []byte(`"b5bb5b02-6df6-4d72-b542-47786a4500c3 Premium maintenance Ltd, Onsite audit"`)
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		p := jsonParser{b: rec}
		if _, err := p.str(); err != nil {
			b.Fatal(err)
		}
	}
}

// benchRecord is one invoice of ../shared/bench/gen's feed.
var benchRecord = []byte(`{"source_provider":"quickbooks","entity_id":"b5bb5b02-6df6-4d72-b542-47786a4500c3","organization_id":"bc349fe4-1af4-49d7-9b70-384e99c4eed6","external_resource_id":"e55c1da5-5a11-4bec-8034-f3121b3b05d6","external_organization_id":"6636158517","updated_at":"2023-08-15T03:26:35Z","payload":{"number":"INV-803531","status":"AUTHORISED","date":"2023-07-22","due_date":"2023-08-05","currency":"GBP","total":2868.61,"contact":{"contact_id":"9b9b48df-da9c-4def-baec-3fb5a9fe7b8c","name":"Premium maintenance Ltd"},"sync_token":38,"line_items":[{"description":"Onsite audit, incl. expenses","quantity":2,"unit_amount":1247.22,"account_code":"429","tax_type":"INPUT"}]}}`)

// BenchmarkDecodeRecord is the JSON hot path alone: one record from its
// text into the builders of its inferred type.
func BenchmarkDecodeRecord(b *testing.B) {
	v, err := parseJSON(benchRecord)
	if err != nil {
		b.Fatal(err)
	}
	t := newStruct()
	t.observe(v)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(t.arrowFields(), nil))
	defer rb.Release()
	d := newDecoder(0)
	b.SetBytes(int64(len(benchRecord)))
	n := 0
	for b.Loop() {
		if err := d.record(rb.Fields(), t, benchRecord); err != nil {
			b.Fatal(err)
		}
		if n++; n == 8192 {
			rb.NewRecordBatch().Release()
			n = 0
		}
	}
}

// BenchmarkParseRecord is the tree parser (inference's) on the same record.
func BenchmarkParseRecord(b *testing.B) {
	b.SetBytes(int64(len(benchRecord)))
	for b.Loop() {
		if _, err := parseJSON(benchRecord); err != nil {
			b.Fatal(err)
		}
	}
}

// The decoder finds the syntax errors the tree parser finds, in its words.
func TestDecoderSyntaxErrors(t *testing.T) {
	good, err := parseJSON([]byte(`{"a":1,"b":[1,2],"c":{"d":"x"}}`))
	if err != nil {
		t.Fatal(err)
	}
	typ := newStruct()
	typ.observe(good)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(typ.arrowFields(), nil))
	defer rb.Release()
	d := newDecoder(0)
	for _, bad := range []string{`{"a":1,}`, `{"a":1,"b":[1,]}`, `{"a":1 "b":[1]}`, `{"c":{"d":"x",}}`, `{"a":1`, `[1]`, `{"a":1}x`, `{"a":"\q"}`} {
		_, perr := parseJSON([]byte(bad))
		if perr == nil {
			perr = errNotObject
		}
		err := d.record(rb.Fields(), typ, []byte(bad))
		var ce *convError
		if !errors.As(err, &ce) || !ce.syntax || ce.Error() != perr.Error() {
			t.Errorf("%s: decoder says %v, the parser %v", bad, err, perr)
		}
		for _, b := range rb.Fields() { // drop what a failed record left behind
			b.NewArray().Release()
		}
	}
}

// Zoned and naive timestamps both parse, each through its own layouts.
func TestParseTimestampZones(t *testing.T) {
	for s, want := range map[string]int64{
		"2023-08-15T03:26:35Z":        1692069995000000,
		"2023-08-15T03:26:35.5+02:00": 1692062795500000,
		"2023-08-15 03:26:35-0500":    1692087995000000,
		"2023-08-15 03:26:35 UTC":     1692069995000000,
		"2023-08-15T03:26:35":         1692069995000000,
		"2023-08-15 03:26":            1692069960000000,
		"2023-08-15":                  1692057600000000,
	} {
		if got, ok := parseTimestamp(s, true); !ok || got != want {
			t.Errorf("parseTimestamp(%q) = %d, %v; want %d", s, got, ok, want)
		}
	}
	if _, ok := parseTimestamp("2023-08-15T03:26:35 nonsense", true); ok {
		t.Error("trailing text parsed")
	}
}
