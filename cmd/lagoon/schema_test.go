package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
)

// TestJSONSchemaValidation: records that fail the contract's JSON Schema
// are bad records whose reason names the failing JSON pointer and keyword;
// the others load. Validation fails closed: a schema that is missing or
// does not compile stops the table (its files wait), and nothing loads
// unvalidated.
func TestJSONSchemaValidation(t *testing.T) {
	root := t.TempDir()
	lakefixture.DropFile(t, filepath.Join(root, "assets/lagoon/tables/billing/invoices.yaml"), []byte("schema: schemas/invoice.json\n"))
	src := `{"entity_id":1,"amount":10}
{"entity_id":2,"amount":-5}
{"amount":3}
{"entity_id":"x","amount":1}
`
	lakefixture.DropFile(t, filepath.Join(root, "prepare/billing/invoices/a.ndjson"), []byte(src))
	// no schema yet: the table stops
	if code, _, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0"); code != exitError || !strings.Contains(errOut, "schemas/invoice.json") {
		t.Fatalf("missing schema: exit %d, %s", code, errOut)
	}
	schema := filepath.Join(root, "assets/lagoon/schemas/invoice.json")
	lakefixture.DropFile(t, schema, []byte(`{"type": "object", "required": [`)) // broken
	if code, _, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0"); code != exitError || !strings.Contains(errOut, "schema") {
		t.Fatalf("broken schema: exit %d, %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(root, "prepare/billing/invoices/a.ndjson")); err != nil {
		t.Fatalf("the file did not wait for its schema: %v", err)
	}
	lakefixture.DropFile(t, schema, []byte(`{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
		"required": ["entity_id"],
		"properties": {"entity_id": {"type": "integer"}, "amount": {"type": "number", "minimum": 0}}}`))
	runOnce(t, root, exitRejected)
	l := lakefixture.OpenAt(t, root)
	if rows := lakefixture.Rows(t, l, "billing.invoices"); len(rows) != 1 {
		t.Errorf("rows = %v, want only entity 1", rows)
	}
	rejects := lakefixture.DuckDB(t, "SELECT reason FROM read_json_auto("+lakefixture.DuckQuote(filepath.Join(root, "log/rejects/billing/invoices/*"))+")")
	var reasons []string
	for _, r := range rejects {
		reasons = append(reasons, fmt.Sprint(r["reason"]))
	}
	slices.Sort(reasons)
	for i, want := range []string{"at / (required)", "at /amount (minimum)", "at /entity_id (type)"} {
		if i >= len(reasons) || !strings.Contains(reasons[i], want) {
			t.Errorf("reasons %q: want one with %q", reasons, want)
		}
	}
}

// TestDiscardRowsMode: under mode discard_rows a prepared record with a
// value in a column the table lacks is a bad record with the reason; the
// others load and the table's schema stays.
func TestDiscardRowsMode(t *testing.T) {
	root := t.TempDir()
	lakefixture.DropFile(t, filepath.Join(root, "prepare/crm/people/a.ndjson"), []byte(`{"id":1,"name":"a"}`+"\n"))
	runOnce(t, root, exitOK)
	lakefixture.DropFile(t, filepath.Join(root, "assets/lagoon/tables/crm/people.yaml"), []byte("mode: discard_rows\n"))
	lakefixture.DropFile(t, filepath.Join(root, "prepare/crm/people/b.ndjson"), []byte(`{"id":2,"name":"b"}
{"id":3,"name":"c","extra":"x"}
{"id":4,"extra":null}
`))
	runOnce(t, root, exitRejected)
	l := lakefixture.OpenAt(t, root)
	var ids []string
	for _, r := range lakefixture.Rows(t, l, "crm.people") {
		ids = append(ids, fmt.Sprint(r["id"]))
		if _, ok := r["extra"]; ok {
			t.Errorf("the table grew a column: %v", r)
		}
	}
	slices.Sort(ids)
	if strings.Join(ids, ",") != "1,2,4" {
		t.Errorf("ids = %v, want 1,2,4", ids)
	}
	rejects := lakefixture.DuckDB(t, "SELECT reason FROM read_json_auto("+lakefixture.DuckQuote(filepath.Join(root, "log/rejects/crm/people/*"))+")")
	if len(rejects) != 1 || !strings.Contains(fmt.Sprint(rejects[0]["reason"]), `column "extra" is not the table's`) {
		t.Errorf("rejects = %v", rejects)
	}
}
