package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/trail"
)

// TestRetry: rejected files go back where they came from — by key, by
// table, or all — without their reason files, each retry in the trail; a
// file fixed meanwhile then loads; a key that names no rejected file, or
// whose place holds a file again, is reported (exit 1).
func TestRetry(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	drop := func(key, body string) { lakefixture.DropFile(t, filepath.Join(root, key), []byte(body)) }
	drop("prepare/db/a/x.csv", "")             // empty: rejected
	drop("prepare/db/a/y.xml", "<a/>")         // unknown format: rejected
	drop("prepare/db/b/z.json", `{"id":`+"\n") // no good record: rejected
	runOnce(t, root, exitRejected)
	if code, out, errOut := lagoon(t, "retry", "--root", root, "prepare/db/a/x.csv", "log/rejected/prepare/db/a/y.xml", "--json"); code != exitOK {
		t.Fatalf("retry by key: %d %s %s", code, out, errOut)
	}
	for _, k := range []string{"prepare/db/a/x.csv", "prepare/db/a/y.xml"} {
		if !lakefixture.Exists(l, k) || lakefixture.Exists(l, lake.RejectedPrefix+k) || lakefixture.Exists(l, lake.RejectedPrefix+k+lake.ReasonSuffix) {
			t.Errorf("%s not moved back, or its reason left", k)
		}
		if lakefixture.Exists(l, k+lake.ReasonSuffix) {
			t.Errorf("%s: the reason file was moved too", k)
		}
	}
	lakefixture.DropFile(t, filepath.Join(root, "log/rejected/prepare/db/b/z.json"), []byte(`{"id":1}`+"\n")) // fixed in place
	code, out, _ := lagoon(t, "retry", "--root", root, "--table", "db.b", "--json")
	var res []retried
	if code != exitOK || json.Unmarshal([]byte(out), &res) != nil || len(res) != 1 || !res[0].Retried || res[0].Key != "prepare/db/b/z.json" {
		t.Fatalf("retry --table: %d %s", code, out)
	}
	runOnce(t, root, exitRejected) // x.csv and y.xml are rejected again; z.json loads
	if rows := lakefixture.Rows(t, l, "db.b"); len(rows) != 1 {
		t.Errorf("db.b rows = %v", rows)
	}
	drop("prepare/db/a/x.csv", "id\n1\n") // the place taken again
	code, out, _ = lagoon(t, "retry", "--root", root, "--all", "prepare/nope.csv")
	if code != exitUsage {
		t.Errorf("keys and --all: exit %d", code)
	}
	code, out, _ = lagoon(t, "retry", "--root", root, "--all")
	if code != exitError || !strings.Contains(out, "a file is there again") || !lakefixture.Exists(l, lake.RejectedPrefix+"prepare/db/a/x.csv") {
		t.Errorf("retry --all over a taken place: %d %s", code, out)
	}
	if code, out, _ = lagoon(t, "retry", "--root", root, "prepare/nope.csv"); code != exitError || !strings.Contains(out, "no rejected file") {
		t.Errorf("retry of a key never rejected: %d %s", code, out)
	}
	recs, err := trail.List(context.Background(), l.Store, trail.Filter{Kind: trail.KindRetried})
	if err != nil || len(recs) != 4 {
		t.Fatalf("%d retried records (want 4: x, y, z, then y again): %v", len(recs), err)
	}
	if recs[0].Event.Reason == "" || !strings.HasPrefix(recs[0].Event.Detail, lake.RejectedPrefix) {
		t.Errorf("retried record %+v", recs[0].Event)
	}
	if code, out, _ := lagoon(t, "trail", "verify", "--root", root); code != exitOK {
		t.Errorf("trail verify after retries: %d %s", code, out)
	}
}
