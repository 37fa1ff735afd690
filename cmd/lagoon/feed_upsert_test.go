package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
)

// TestInvoiceFeedReplayedUpserts replays the generator's invoice feed in
// overlapping files under a contract that upserts by its keys: the feed,
// then its first half again one day newer, its second half one day older
// (late), and the newer half once more. Exactly one row per key is left,
// with the newest values: read by DuckDB applying the delete files.
func TestInvoiceFeedReplayedUpserts(t *testing.T) {
	const n = 2000
	recs := invoiceRecords(t, genFeed(t, n, "ndjson"))
	root := t.TempDir()
	lakefixture.DropFile(t, filepath.Join(root, "assets/lagoon/tables/acct/invoices.yaml"), []byte(`keys: [entity_id, external_resource_id]
order_by: updated_at
partition: [month(updated_at)]
columns:
  updated_at: timestamptz
`))
	newer, older := shifted(t, recs[:n/2], 24*time.Hour, "newer"), shifted(t, recs[n/2:], -24*time.Hour, "older")
	for i, body := range [][]byte{lines(t, recs), newer, older, newer} {
		lakefixture.DropFile(t, filepath.Join(root, fmt.Sprintf("prepare/acct/invoices/f%d.ndjson", i)), body)
		runOnce(t, root, exitOK, "--dedupe-window", "0")
	}
	want := map[string]string{}
	for i, r := range recs {
		status := "-"
		if s, ok := r["payload"].(map[string]any)["status"]; ok && s != nil {
			status = fmt.Sprint(s)
		}
		if i < n/2 {
			status = "newer"
		}
		want[fmt.Sprint(r["entity_id"], "/", r["external_resource_id"])] = status
	}
	l := lakefixture.OpenAt(t, root)
	got := lakefixture.DuckApplyingDeletes(t, l, "acct.invoices", []string{"entity_id", "external_resource_id"},
		"d.entity_id || '/' || d.external_resource_id || ' ' || coalesce(d.payload.status, '-')")
	if len(got) != n {
		t.Fatalf("DuckDB reads %d rows, want %d: one per key", len(got), n)
	}
	bad := 0
	for _, g := range got {
		var key, status string
		fmt.Sscan(g, &key, &status)
		if want[key] != status {
			if bad++; bad <= 5 {
				t.Errorf("%s: status %s, want %s", key, status, want[key])
			}
		}
	}
}

func invoiceRecords(tb testing.TB, path string) []map[string]any {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	var out []map[string]any
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			tb.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// shifted re-sends recs with updated_at moved by d and the payload's
// status set to status.
func shifted(tb testing.TB, recs []map[string]any, d time.Duration, status string) []byte {
	tb.Helper()
	var out []map[string]any
	for _, r := range recs {
		c := map[string]any{}
		for k, v := range r {
			c[k] = v
		}
		at, err := time.Parse(time.RFC3339, fmt.Sprint(r["updated_at"]))
		if err != nil {
			tb.Fatal(err)
		}
		c["updated_at"] = at.Add(d).Format(time.RFC3339)
		p := map[string]any{}
		for k, v := range r["payload"].(map[string]any) {
			p[k] = v
		}
		p["status"] = status
		c["payload"] = p
		out = append(out, c)
	}
	return lines(tb, out)
}

func lines(tb testing.TB, recs []map[string]any) []byte {
	tb.Helper()
	var b bytes.Buffer
	for _, r := range recs {
		j, err := json.Marshal(r)
		if err != nil {
			tb.Fatal(err)
		}
		b.Write(append(j, '\n'))
	}
	return b.Bytes()
}
