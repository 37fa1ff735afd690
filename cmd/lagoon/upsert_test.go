package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
)

// TestInvoiceFeedUpserts is the contract's whole path for a feed: JSON
// invoices under prepare/, a contract with keys, order_by and explicit
// types. Overlapping files (newer values for the same keys, a late file
// with older ones, the same file again) leave one row per key with the
// newest values — read by DuckDB applying the delete files; amount is a
// decimal(18,4), digit-exact; a value that does not fit it is a bad
// record with the reason; the spec is the contract's.
func TestInvoiceFeedUpserts(t *testing.T) {
	root := t.TempDir()
	lakefixture.DropFile(t, filepath.Join(root, "assets/lagoon/tables/billing/invoices.yaml"), []byte(`keys: [entity_id, external_resource_id]
order_by: updated_at
partition: [month(updated_at)]
columns:
  amount: decimal(18,4)
  updated_at: timestamptz
`))
	inv := func(id, res int, at, amount string) string {
		return fmt.Sprintf(`{"entity_id":%d,"external_resource_id":"r%d","updated_at":"%s","amount":%s,"payload":{"n":1}}`, id, res, at, amount)
	}
	files := []string{
		inv(1, 1, "2026-11-01T10:00:00Z", "100.1234") + "\n" + inv(1, 2, "2026-11-01T10:00:00Z", "5") + "\n" + inv(2, 1, "2026-11-01T10:00:00Z", "7.5"),
		inv(1, 1, "2026-11-02T10:00:00Z", "100.5") + "\n" + inv(2, 1, "2026-12-03T10:00:00Z", "8.0001"),
		inv(1, 2, "2026-10-01T10:00:00Z", "4") + "\n" + inv(3, 1, "2026-11-05T10:00:00Z", "1.23456"), // late; and a value past 4 decimals
	}
	files = append(files, files[1]) // the same file again
	for i, body := range files {
		lakefixture.DropFile(t, filepath.Join(root, fmt.Sprintf("prepare/billing/invoices/f%d.ndjson", i)), []byte(body+"\n"))
		want := exitOK
		if i == 2 {
			want = exitRejected // its bad record
		}
		runOnce(t, root, want, "--dedupe-window", "0")
	}
	l := lakefixture.OpenAt(t, root)
	got := lakefixture.DuckApplyingDeletes(t, l, "billing.invoices", []string{"entity_id", "external_resource_id"},
		"d.entity_id::VARCHAR || '/' || d.external_resource_id || ' ' || d.amount::VARCHAR || ' ' || strftime(d.updated_at AT TIME ZONE 'UTC', '%m-%d')")
	want := []string{"1/r1 100.5000 11-02", "1/r2 5.0000 11-01", "2/r1 8.0001 12-03"}
	if !slices.Equal(got, want) {
		t.Errorf("DuckDB reads %q, want %q", got, want)
	}
	if _, out, _ := lagoon(t, "log", "--root", root, "--json"); !strings.Contains(out, "late rows kept out") {
		t.Errorf("the log table does not count the late rows: %s", out)
	}
	var tables []tableInfo
	if code, out, _ := lagoon(t, "tables", "--root", root, "--json"); code != exitOK || json.Unmarshal([]byte(out), &tables) != nil ||
		len(tables) != 1 || tables[0].Records != 3 {
		t.Errorf("tables --json (the rows readers see: 3): %s", out)
	}
	tbl, err := l.LoadTable(context.Background(), lake.TableRef{DB: "billing", Table: "invoices"})
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := tbl.Schema().FindFieldByName("amount"); f.Type.String() != "decimal(18, 4)" {
		t.Errorf("amount is %s", f.Type)
	}
	spec := tbl.Spec()
	if s := fmt.Sprint(spec); !strings.Contains(s, "month") {
		t.Errorf("spec = %s", s)
	}
	rejects := lakefixture.DuckDB(t, "SELECT reason FROM read_json_auto("+lakefixture.DuckQuote(filepath.Join(root, "log/rejects/billing/invoices/*"))+")")
	if len(rejects) != 1 || !strings.Contains(fmt.Sprint(rejects[0]["reason"]), "1.23456") {
		t.Errorf("rejects = %v, want the amount 1.23456 with its reason", rejects)
	}
}
