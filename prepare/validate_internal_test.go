package prepare

import (
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/fuzzing"
)

// TestValidatorReasons: a failing record's reason is the JSON pointer of
// the failing value (escaped per RFC 6901) and the keyword; at a column of
// personal data the value is withheld; a schema that refers outside
// itself does not compile (nothing is fetched).
func TestValidatorReasons(t *testing.T) {
	v, err := CompileSchema("s.json", []byte(`{"type":"object","properties":{
		"a/b": {"type":"integer"}, "email": {"pattern":"^[a-z]+@corp$"}, "tags": {"items": {"maxLength": 2}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	v.Private = map[string]bool{"email": true}
	for raw, want := range map[string]string{
		`{"a/b":"x"}`:                 "at /a~1b (type)",
		`{"tags":["ok","long"]}`:      "at /tags/1 (maxLength)",
		`{"email":"bob@example.org"}`: "at /email (pattern): (withheld: personal data)",
		`[1,2]`:                       "not a JSON object",
		`{"a/b":1}`:                   "",
	} {
		err := v.Check([]byte(raw))
		if want == "" {
			if err != nil {
				t.Errorf("%s: %v", raw, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "bob@") {
			t.Errorf("%s: %v, want %q", raw, err, want)
		}
	}
	if _, err := CompileSchema("r.json", []byte(`{"$ref":"https://example.com/s.json"}`)); err == nil || !strings.Contains(err.Error(), "outside itself") {
		t.Errorf("remote ref: %v", err)
	}
}

// FuzzSchema: any schema bytes compile or fail, and a compiled schema
// checks any record, within budget, never panicking.
func FuzzSchema(f *testing.F) {
	f.Add([]byte(`{"type":"object","required":["id"],"properties":{"id":{"type":"integer","minimum":0}}}`), []byte(`{"id":-1}`))
	f.Add([]byte(`{"$defs":{"a":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}`), []byte(`{}`))
	f.Add([]byte(`{"pattern":"(a+)+$"}`), []byte(`"aaaaaaaaaaaaaaaaaaaaaaaaaaaa!"`))
	f.Fuzz(func(t *testing.T, schema, record []byte) {
		fuzzing.Within(t, "schema", func() {
			v, err := CompileSchema("f.json", schema)
			if err == nil {
				_ = v.Check(record)
			}
		})
	})
}
