package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
)

// TestHTTPEndpoints: a daemon started with --http answers /healthz and
// /readyz, and its /metrics (Prometheus text) count what it did — a file
// loaded with its rows and its commit, a file rejected, the side tables'
// lag, the build; the endpoints are read-only; SIGTERM stops it cleanly.
func TestHTTPEndpoints(t *testing.T) {
	root := t.TempDir()
	lakefixture.DropFile(t, filepath.Join(root, "prepare/db/t/a.ndjson"), []byte(`{"id":1}`+"\n"+`{"id":2}`+"\n"))
	lakefixture.DropFile(t, filepath.Join(root, "prepare/db/t/bad.csv"), nil)
	port := lakefixture.FreePort(t)
	cmd := exec.Command(lagoonBin, "run", "--root", root, "--settle", "0", "--rescan", "200ms", "--side-every", "200ms",
		"--http", fmt.Sprint(port), "--log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitBody(t, base+"/readyz", "ok")
	waitBody(t, base+"/healthz", "ok")
	m := waitBody(t, base+"/metrics",
		`lagoon_files_total{outcome="loaded",stage="load",table="db.t"} 1`,
		`lagoon_files_total{outcome="rejected",stage="prepare",table="db.t"} 1`,
		`lagoon_rows_total{stage="load",table="db.t"} 2`,
		`lagoon_commit_duration_seconds_count 1`,
		`lagoon_commit_conflicts_total 0`,
		`lagoon_side_lag_seconds{task=`,
		`lagoon_build_info{version=`,
		`lagoon_backlog_files{stage="load",table="db.t"} 0`)
	if !strings.Contains(m, "# TYPE lagoon_commit_duration_seconds histogram") {
		t.Errorf("no commit histogram:\n%s", m)
	}
	resp, err := http.Post(base+"/metrics", "text/plain", strings.NewReader("x"))
	if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %v %v", resp, err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("daemon after SIGTERM: %v", err)
	}
}

// waitBody polls url until its body holds every want (20 s at most) and
// returns the body.
func waitBody(t *testing.T, url string, want ...string) string {
	t.Helper()
	var body string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(url)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		missing := false
		for _, w := range want {
			missing = missing || !strings.Contains(body, w)
		}
		if resp.StatusCode == http.StatusOK && !missing {
			return body
		}
	}
	t.Fatalf("%s never held %q:\n%s", url, want, body)
	return ""
}
