package prepare

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Validator checks records against a table's JSON Schema (2020-12 unless
// the schema says otherwise).
type Validator struct {
	sch *jsonschema.Schema
	// Private are columns of personal data: a failure at one of them does
	// not say its value (a reason lands in the rejects file).
	Private map[string]bool
}

// errNoLoad refuses every reference the schema makes outside itself: a
// schema is compiled from the lake alone, never from the network.
var errNoLoad = errors.New("the schema refers outside itself; only references within the document are followed")

var english = message.NewPrinter(language.English)

type noLoader struct{}

func (noLoader) Load(url string) (any, error) { return nil, fmt.Errorf("%s: %w", url, errNoLoad) }

// CompileSchema compiles the JSON Schema doc, stored at key.
func CompileSchema(key string, doc []byte) (*Validator, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", key, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	url := "lagoon:///" + key
	if err := c.AddResource(url, v); err != nil {
		return nil, fmt.Errorf("schema %s: %w", key, err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", key, err)
	}
	return &Validator{sch: sch}, nil
}

// Check validates one record's JSON text; the error is the record's
// reason to be bad: the JSON pointer of the failing value and the keyword
// that failed.
func (v *Validator) Check(raw []byte) error {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		return errors.New("fails the table's JSON Schema: not a JSON object (the contract validates JSON records)")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(t))
	if err != nil {
		return fmt.Errorf("fails the table's JSON Schema: %w", err)
	}
	err = v.sch.Validate(doc)
	var ve *jsonschema.ValidationError
	if errors.As(err, &ve) {
		leaf := firstLeaf(ve)
		msg := leaf.ErrorKind.LocalizedString(english)
		if len(leaf.InstanceLocation) > 0 && v.Private[leaf.InstanceLocation[0]] {
			msg = "(withheld: personal data)"
		}
		return fmt.Errorf("fails the table's JSON Schema at %s (%s): %s", pointer(leaf.InstanceLocation),
			strings.Join(leaf.ErrorKind.KeywordPath(), "/"), msg)
	}
	return err
}

func firstLeaf(e *jsonschema.ValidationError) *jsonschema.ValidationError {
	for len(e.Causes) > 0 {
		e = e.Causes[0]
	}
	return e
}

// pointer is a JSON pointer (RFC 6901) to the instance location.
func pointer(loc []string) string {
	if len(loc) == 0 {
		return "/"
	}
	var b strings.Builder
	for _, p := range loc {
		b.WriteString("/" + strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1"))
	}
	return b.String()
}
