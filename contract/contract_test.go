package contract_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"

	"github.com/lagoon-dev/lagoon/contract"
	"github.com/lagoon-dev/lagoon/internal/fuzzing"
)

func TestParseInvoice(t *testing.T) {
	b, err := os.ReadFile("testdata/contracts/invoice.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := contract.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Keys, ",") != "entity_id,external_resource_id" || c.OrderBy != "updated_at" || !c.UpsertMode() {
		t.Errorf("keys %v order_by %q", c.Keys, c.OrderBy)
	}
	if len(c.Partition) != 1 || c.Partition[0].String() != "day(updated_at)" {
		t.Errorf("partition = %v", c.Partition)
	}
	if len(c.SortOrder) != 1 || c.SortOrder[0].Column != "entity_id" || c.SortOrder[0].Descending || !c.SortOrder[0].NullsFirst {
		t.Errorf("sort order = %+v", c.SortOrder)
	}
	if c.ModeOrDefault() != contract.Evolve || c.Columns["amount"] != "decimal(18,4)" || c.PII["email"] != contract.Hash {
		t.Errorf("contract = %+v", c)
	}
	if c.SchemaKey() != "assets/lagoon/schemas/invoice.json" || len(c.SHA256) != 64 {
		t.Errorf("schema key %s, sha %s", c.SchemaKey(), c.SHA256)
	}
}

func TestParseTransforms(t *testing.T) {
	b, err := os.ReadFile("testdata/contracts/events.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := contract.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range c.Partition {
		got = append(got, f.String())
	}
	if strings.Join(got, " ") != "day(event_time) bucket[16](user_id) truncate[4](region) country" {
		t.Errorf("partition = %v", got)
	}
	if _, ok := c.Partition[1].Transform.(iceberg.BucketTransform); !ok {
		t.Errorf("bucket transform = %T", c.Partition[1].Transform)
	}
	sql, err := contract.Parse([]byte("partition:\n  - bucket(16, user_id)\n  - truncate(4, region)\n"))
	if err != nil || sql.Partition[0].String() != "bucket[16](user_id)" || sql.Partition[1].String() != "truncate[4](region)" {
		t.Errorf("Spark SQL form: %v, %v", sql, err)
	}
	if _, ok := c.Partition[1].Transform.(iceberg.BucketTransform); !ok {
		t.Errorf("bucket transform = %T", c.Partition[1].Transform)
	}
	if s := c.SortOrder[0]; !s.Descending || s.NullsFirst || s.Column != "event_time" {
		t.Errorf("sort field = %+v", s)
	}
	if c.ModeOrDefault() != contract.Freeze {
		t.Errorf("mode = %s", c.Mode)
	}
}

// TestParseRefuses: each mistake is an error that names what is wrong,
// never a contract that silently does less.
func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"key: [id]", "field key not found"},
		{"keys: [ID]", `the table's column is named "id"`},
		{"keys: [id, id]", `"id" twice`},
		{"order_by: ts", "order_by: needs keys"},
		{"mode: append", "want evolve, freeze"},
		{"columns: {amount: money}", "amount"},
		{"columns:\n  amount: decimal(40,2)", "precision 40"},
		{"columns: {t: timestamp_ns}", "v3 only"},
		{"partition: [week(ts)]", "week"},
		{"partition: [bucket[16](id)]", `quote the transform`},
		{"partition: [bucket(16, id)]", `list it as a block`},
		{"partition: [day(ts]", "want column or transform(column)"},
		{"partition: [void(ts)]", "partitions nothing"},
		{"sort_order: [ts sideways]", "asc|desc"},
		{"schema: ../../etc/passwd", "inside it"},
		{"schema: /etc/passwd", "inside it"},
		{"pii: {email: encrypt}", "want hash, mask or drop"},
		{"keys: [email]\npii: {email: drop}", "dropped as PII"},
		{"keys: [a]\n---\nkeys: [b]", "more than one YAML document"},
		{"keys: [[a]]", "cannot unmarshal"},
		{strings.Repeat("#", contract.MaxBytes+1), "over"},
		{laughs, "cannot unmarshal"}, // and at once: the aliases are not expanded
	} {
		_, err := contract.Parse([]byte(tc.yaml))
		if !errors.Is(err, contract.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.40q: err = %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

// laughs is a YAML "billion laughs": aliases that expand without bound.
var laughs = `a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
keys: [*g]
`

// TestEmptyContractIsDefaults: an empty file is a contract of defaults.
func TestEmptyContractIsDefaults(t *testing.T) {
	c, err := contract.Parse(nil)
	if err != nil || c.UpsertMode() || c.ModeOrDefault() != contract.Evolve {
		t.Errorf("contract %+v, %v", c, err)
	}
}

// FuzzParse: any bytes parse or fail with ErrInvalid, within budget.
func FuzzParse(f *testing.F) {
	fuzzing.SeedFiles(f, "testdata/contracts/*.yaml")
	f.Fuzz(func(t *testing.T, b []byte) {
		fuzzing.Within(t, "Parse", func() {
			if _, err := contract.Parse(b); err != nil && !errors.Is(err, contract.ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
		})
	})
}
