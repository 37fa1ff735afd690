package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
)

// TestStatus: status says per table what waits in each stage (files,
// bytes, the oldest), the batches in flight, the claims (a stale one
// flagged), the rejected files and the last error with its reason.
func TestStatus(t *testing.T) {
	root := t.TempDir()
	drop := func(key string, body []byte) { lakefixture.DropFile(t, filepath.Join(root, key), body) }
	drop("prepare/db/t/bad.csv", nil)
	runOnce(t, root, exitRejected) // bad.csv rejected; the log table has it
	drop("prepare/db/t/a.ndjson", []byte(`{"id":1}`+"\n"))
	drop("load/db/t/b.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 3)))
	drop("load/db/u/c.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 3)))
	drop("tmp/lagoon/prepare/db.t/batch-1.json", []byte(`{}`))
	old := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)
	drop(lake.ClaimPrefix+"load/db.u", []byte(`{"id":"w1","host":"box","pid":42,"since":"`+old+`","renewed":"`+old+`","ttl_ns":60000000000}`))
	code, out, errOut := lagoon(t, "status", "--root", root, "--json")
	if code != exitOK {
		t.Fatalf("status: %d %s %s", code, out, errOut)
	}
	var rep struct {
		Tables []struct {
			Table   string
			Waiting map[string]struct {
				Files int
				Bytes int64
			}
			InFlight map[string]int `json:"in_flight"`
			Claims   []struct {
				Stage, Owner string
				Stale        bool
			}
			Rejected  int
			LastError *struct {
				Message string
				Detail  map[string]any
			} `json:"last_error"`
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Tables) != 2 {
		t.Fatalf("status --json: %v %s", err, out)
	}
	tt, u := rep.Tables[0], rep.Tables[1]
	if tt.Table != "db.t" || tt.Waiting["prepare"].Files != 1 || tt.Waiting["load"].Files != 1 || tt.Waiting["load"].Bytes == 0 ||
		tt.InFlight["prepare"] != 1 || tt.Rejected != 1 {
		t.Errorf("db.t: %+v", tt)
	}
	if tt.LastError == nil || !strings.Contains(tt.LastError.Message, "rejected") || tt.LastError.Detail["reason"] == nil {
		t.Errorf("db.t last error: %+v", tt.LastError)
	}
	if u.Table != "db.u" || len(u.Claims) != 1 || !u.Claims[0].Stale || u.Claims[0].Owner != "box:42" {
		t.Errorf("db.u: %+v", u)
	}
	code, out, _ = lagoon(t, "status", "--root", root)
	if code != exitOK || !strings.Contains(out, "load by box:42 (stale)") || !strings.Contains(out, "oldest") {
		t.Errorf("status:\n%s", out)
	}
}
