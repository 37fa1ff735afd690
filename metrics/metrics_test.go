package metrics_test

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/daemon"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/metrics"
)

type sideTask struct{ err error }

func (sideTask) Name() string                            { return "trail" }
func (s sideTask) Sync(ctx context.Context) (int, error) { return 0, s.err }

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return string(b)
}

// TestBacklogAndCounts: files waiting under prepare/ and load/ are the
// backlog gauges with the oldest's age; results observed are counted by
// stage, table and outcome; a side task's lag grows until it syncs.
func TestBacklogAndCounts(t *testing.T) {
	dir := t.TempDir()
	st, err := lake.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"load/db/u/a.parquet", "load/db/u/b.parquet", "prepare/db/v/c.csv"} {
		p := filepath.Join(dir, k)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("12345"), 0o644)
		os.Chtimes(p, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour))
	}
	now := time.Now()
	cfg := metrics.DefaultConfig()
	cfg.Store, cfg.Version, cfg.Now = st, "v-test", func() time.Time { return now }
	m := metrics.New(cfg)
	m.Observe(lake.PrefixLoad, lake.Result{Table: lake.TableRef{DB: "db", Table: "u"}, Files: 3, Rows: 30,
		Rejected: []lake.Rejected{{Key: "x"}}, Skipped: 1, CommitTimes: []time.Duration{time.Second}, Conflicts: 2})
	tasks := m.WrapSide([]daemon.SideTask{sideTask{}})
	now = now.Add(30 * time.Second)
	body := scrape(t, m)
	for _, want := range []string{
		`lagoon_backlog_files{stage="load",table="db.u"} 2`,
		`lagoon_backlog_files{stage="prepare",table="db.v"} 1`,
		`lagoon_files_total{outcome="loaded",stage="load",table="db.u"} 3`,
		`lagoon_files_total{outcome="rejected",stage="load",table="db.u"} 1`,
		`lagoon_files_total{outcome="skipped_duplicate",stage="load",table="db.u"} 1`,
		`lagoon_rows_total{stage="load",table="db.u"} 30`,
		`lagoon_commit_conflicts_total 2`,
		`lagoon_commit_duration_seconds_count 1`,
		`lagoon_side_lag_seconds{task="trail"} 30`,
		`lagoon_build_info{version="v-test"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %s in\n%s", want, body)
		}
	}
	if !strings.Contains(body, `lagoon_backlog_oldest_seconds{stage="load",table="db.u"} 36`) {
		t.Errorf("the oldest file's age (an hour and 30 s) is not there:\n%s", body)
	}
	if _, err := tasks[0].Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if body := scrape(t, m); !strings.Contains(body, `lagoon_side_lag_seconds{task="trail"} 0`) {
		t.Errorf("the lag after a sync is not 0:\n%s", body)
	}
}
