// Package metrics exposes a worker's counts in the Prometheus text format:
// what the stages did (from the daemon's results), the backlog (from the
// lake's folders, at scrape time), the side tables' lag, the build.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lagoon-dev/lagoon/daemon"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/status"
)

// Config configures Metrics.
type Config struct {
	Version string
	// Store is the lake whose backlog is reported (nil: none).
	Store lake.Store
	// BacklogEvery bounds how often a scrape lists the lake's folders;
	// scrapes in between get the last figures.
	BacklogEvery time.Duration
	Log          *slog.Logger
	Now          func() time.Time
}

// DefaultConfig lists the backlog at most every 15 s.
func DefaultConfig() Config {
	return Config{BacklogEvery: 15 * time.Second, Log: slog.Default(), Now: time.Now}
}

// Metrics is one worker's metrics. It is safe for concurrent use.
type Metrics struct {
	cfg       Config
	reg       *prometheus.Registry
	files     *prometheus.CounterVec
	rows      *prometheus.CounterVec
	bad       *prometheus.CounterVec
	commits   prometheus.Histogram
	conflicts prometheus.Counter
	side      *sideLag
}

var _ daemon.Observer = (*Metrics)(nil)

// New registers the metrics.
func New(cfg Config) *Metrics {
	m := &Metrics{cfg: cfg, reg: prometheus.NewRegistry(), side: &sideLag{now: cfg.Now, since: map[string]time.Time{}}}
	m.files = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lagoon_files_total",
		Help: "Files a stage finished with, by outcome: loaded (prepared, for stage prepare), rejected, skipped_duplicate."},
		[]string{"stage", "table", "outcome"})
	m.rows = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lagoon_rows_total",
		Help: "Good rows a stage took in."}, []string{"stage", "table"})
	m.bad = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lagoon_bad_records_total",
		Help: "Records sent to rejects files."}, []string{"table"})
	m.commits = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "lagoon_commit_duration_seconds",
		Help: "Time a table commit took, its conflicts' retries included.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)})
	m.conflicts = prometheus.NewCounter(prometheus.CounterOpts{Name: "lagoon_commit_conflicts_total",
		Help: "Commit conflicts met (another writer committed first); each was retried."})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "lagoon_build_info", Help: "The build: always 1."}, []string{"version"})
	build.WithLabelValues(cfg.Version).Set(1)
	m.reg.MustRegister(m.files, m.rows, m.bad, m.commits, m.conflicts, build, m.side,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if cfg.Store != nil {
		m.reg.MustRegister(&backlog{cfg: cfg})
	}
	return m
}

// Observe implements daemon.Observer.
func (m *Metrics) Observe(zone string, r lake.Result) {
	stage, table := strings.TrimSuffix(zone, "/"), r.Table.String()
	m.files.WithLabelValues(stage, table, "loaded").Add(float64(r.Files))
	m.files.WithLabelValues(stage, table, "rejected").Add(float64(len(r.Rejected)))
	m.files.WithLabelValues(stage, table, "skipped_duplicate").Add(float64(r.Skipped))
	m.rows.WithLabelValues(stage, table).Add(float64(r.Rows))
	m.bad.WithLabelValues(table).Add(float64(r.BadRecords))
	for _, d := range r.CommitTimes {
		m.commits.Observe(d.Seconds())
	}
	m.conflicts.Add(float64(r.Conflicts))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// WrapSide returns tasks, each noting when it last synced, for
// lagoon_side_lag_seconds.
func (m *Metrics) WrapSide(tasks []daemon.SideTask) []daemon.SideTask {
	out := make([]daemon.SideTask, len(tasks))
	for i, t := range tasks {
		m.side.start(t.Name())
		out[i] = timedSide{SideTask: t, lag: m.side}
	}
	return out
}

// sideLag is how long since each side task last synced (since the
// process began, before its first sync).
type sideLag struct {
	mu    sync.Mutex
	now   func() time.Time
	since map[string]time.Time
}

var sideDesc = prometheus.NewDesc("lagoon_side_lag_seconds",
	"Seconds since the side task last synced its table without error.", []string{"task"}, nil)

func (s *sideLag) start(name string) { s.synced(name) }

func (s *sideLag) synced(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.since[name] = s.now()
}

func (s *sideLag) Describe(ch chan<- *prometheus.Desc) { ch <- sideDesc }

func (s *sideLag) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for name, t := range s.since {
		ch <- prometheus.MustNewConstMetric(sideDesc, prometheus.GaugeValue, now.Sub(t).Seconds(), name)
	}
}

type timedSide struct {
	daemon.SideTask
	lag *sideLag
}

func (t timedSide) Sync(ctx context.Context) (int, error) {
	n, err := t.SideTask.Sync(ctx)
	if err == nil {
		t.lag.synced(t.Name())
	}
	return n, err
}

// backlog reports what waits in each stage, from the lake's folders (see
// status.Collect), listed at most every cfg.BacklogEvery.
type backlog struct {
	cfg  Config
	mu   sync.Mutex
	at   time.Time
	last status.Report
}

var (
	backlogFiles = prometheus.NewDesc("lagoon_backlog_files",
		"Files waiting in a stage's folder (prepare/, load/).", []string{"stage", "table"}, nil)
	backlogOldest = prometheus.NewDesc("lagoon_backlog_oldest_seconds",
		"Age of the oldest file waiting in a stage's folder.", []string{"stage", "table"}, nil)
)

func (b *backlog) Describe(ch chan<- *prometheus.Desc) { ch <- backlogFiles; ch <- backlogOldest }

func (b *backlog) Collect(ch chan<- prometheus.Metric) {
	rep, now := b.report()
	for _, t := range rep.Tables {
		for stage := range status.Stages {
			w := t.Waiting[stage]
			ch <- prometheus.MustNewConstMetric(backlogFiles, prometheus.GaugeValue, float64(w.Files), stage, t.Table)
			age := 0.0
			if w.Files > 0 {
				age = now.Sub(w.Oldest).Seconds()
			}
			ch <- prometheus.MustNewConstMetric(backlogOldest, prometheus.GaugeValue, age, stage, t.Table)
		}
	}
}

// report is the last listing, made again when older than BacklogEvery. A
// listing that fails keeps the last one (and is logged).
func (b *backlog) report() (status.Report, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.cfg.Now()
	if now.Sub(b.at) < b.cfg.BacklogEvery && !b.at.IsZero() {
		return b.last, now
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := status.Collect(ctx, b.cfg.Store, now)
	if err != nil {
		b.cfg.Log.Warn("metrics: cannot list the backlog", "err", err)
		return b.last, now
	}
	b.at, b.last = now, rep
	return rep, now
}
