package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/lagoon-dev/lagoon/daemon"
	"github.com/lagoon-dev/lagoon/events"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
	"github.com/lagoon-dev/lagoon/logs"
	"github.com/lagoon-dev/lagoon/maintain"
	"github.com/lagoon-dev/lagoon/metrics"
	"github.com/lagoon-dev/lagoon/prepare"
	"github.com/lagoon-dev/lagoon/stats"
	"github.com/lagoon-dev/lagoon/status"
	"github.com/lagoon-dev/lagoon/strike"
	"github.com/lagoon-dev/lagoon/trail"
	"github.com/lagoon-dev/lagoon/web"
)

type runFlags struct {
	once   bool
	dedupe time.Duration
	prep   prepare.StageConfig
	ld     loader.Config
	dm     daemon.Config
	ev     events.LocalConfig
	asJSON bool
	events string
	sqs    events.SQSConfig
	hook   events.WebhookConfig
	lease  time.Duration
	trail  bool
	keyPEM string
	// httpAddr serves metrics and health ("": off).
	httpAddr string
	metrics  *metrics.Metrics
	onceWork *onceWork // --once on a terminal: what is done, for the progress line
	piiKey   string    // the file holding the PII HMAC key
	side     bool
	sideC    daemon.SideConfig
	stages   string
	stats    stats.Config
	strike   strike.Config
	// maintenance of users' tables
	maintain   bool
	maint      maintain.Config
	maintEvery time.Duration
}

// newRunFlags returns the packages' defaults.
func newRunFlags() *runFlags {
	f := &runFlags{prep: prepare.DefaultStageConfig(), ld: loader.DefaultConfig(), dm: daemon.DefaultConfig(),
		ev: events.DefaultLocalConfig(), sqs: events.DefaultSQSConfig(), hook: events.DefaultWebhookConfig(),
		sideC: daemon.DefaultSideConfig(), stats: stats.DefaultConfig(), strike: strike.DefaultConfig(),
		maint: maintain.DefaultConfig(), stages: "prepare,load"}
	f.ev.Prefixes = []string{lake.PrefixPrepare, lake.PrefixLoad}
	return f
}

func runCmd() *command {
	f := newRunFlags()
	return &command{
		name:    "run",
		logs:    true,
		summary: "load what waits, then watch for new files (the daemon)",
		help: `Converts the files waiting under prepare/<db>/<table>/ (JSON, NDJSON, CSV,
TSV, Avro; .gz or .zst too) into Parquet under load/, and appends the Parquet
files under load/<db>/<table>/ to Iceberg tables under stg/. Then it follows
events and processes new files as they settle, until SIGINT or SIGTERM:
locally file-system events on prepare/ and load/; on S3, bucket notifications
from SQS (--queue) or, without a queue, sweeps only. A sweep every --rescan
catches whatever events missed.

Records that cannot be parsed or converted go to rejects files under
log/rejects/<db>/<table>/ (file, line, reason, raw text); the good ones load.

With --once it processes what is waiting and exits with a one-line summary:
exit status 0 when every file loaded, 3 when some file was rejected (moved
under log/rejected/ with a reason) or some record was bad (in a rejects file
under log/rejects/), 1 on other errors.

Beside the data it keeps lagoon's own Iceberg tables (namespace lagoon):
the trail (lagoon.trail, from trail/records/), statistics (lagoon.table_stats,
lagoon.column_stats under stats/) and the log (lagoon.log under log/: every
warning and error). They are synced every --side-every and once more at
exit (with --once: at the end), compacted and their old snapshots expired.

With --maintain (the default) the users' tables under stg/ are maintained in
the same loop, off the load path: small files compacted, manifests merged,
snapshots past --snapshot-retention expired (--keep-snapshots always kept),
old metadata files and orphans past --orphan-age deleted; see lagoon maintain
--help.

Drop files atomically: write them under a dot-name or a temp suffix (.tmp,
.part, …) and rename them into place. Files are also only taken once they
have not changed for --settle.`,
		flags: func(fs *flag.FlagSet, g *globals) {
			fs.BoolVar(&f.once, "once", false, "process what is waiting, then exit")
			fs.BoolVar(&f.asJSON, "json", false, "with --once: print the summary as JSON")
			fs.DurationVar(&f.ev.Rescan, "rescan", f.ev.Rescan, "period of the sweep that catches missed events")
			fs.StringVar(&f.events, "events", "", "event source: fs (local default), poll (S3 default: sweeps only), sqs (S3 notifications via --queue), webhook (MinIO/Ceph/versitygw posts; token in $LAGOON_WEBHOOK_TOKEN)")
			fs.StringVar(&f.hook.Addr, "webhook-addr", f.hook.Addr, "where the webhook listens")
			fs.BoolVar(&f.hook.RawKeys, "webhook-raw-keys", false, "take webhook keys as sent, not URL-decoded (versitygw)")
			fs.StringVar(&f.sqs.Queue, "queue", "", "SQS queue URL or name, for --events sqs (implies it)")
			fs.IntVar(&f.sqs.MaxReceives, "max-receives", f.sqs.MaxReceives, "give up on an SQS message delivered more often than this")
			fs.DurationVar(&f.dm.ShutdownTimeout, "shutdown-timeout", f.dm.ShutdownTimeout, "grace for jobs in flight at shutdown")
			fs.StringVar(&f.stages, "stages", f.stages, "the pipeline stages this worker runs: prepare, load, or both")
			fs.DurationVar(&f.sideC.Every, "side-every", f.sideC.Every, "period of the side tables' sync (and of the maintenance's look at tables)")
			fs.StringVar(&f.httpAddr, "http", "", "serve the dashboard (/), /metrics (Prometheus), /healthz and /readyz on this address; a bare port (9090) listens on the loopback only (off unless given); retrying from the dashboard takes $LAGOON_HTTP_TOKEN")
			f.pipelineFlags(fs)
		},
		run: func(ctx context.Context, g *globals, args []string) int {
			if !g.wantArgs("run", args, 0, "no arguments") || !g.compatible("run", f.once, "--once", watchFlags...) {
				return exitUsage
			}
			if !f.once && g.set["json"] {
				fmt.Fprintln(g.stderr, "lagoon run: --json is for --once's summary; the daemon prints none")
				return exitUsage
			}
			if _, err := stageSet(f.stages); err != nil {
				fmt.Fprintf(g.stderr, "lagoon run: %v\n", err)
				return exitUsage
			}
			return f.run(ctx, g)
		},
	}
}

// pipelineFlags registers the flags of the pipeline's work, which run and
// lambda share.
func (f *runFlags) pipelineFlags(fs *flag.FlagSet) {
	fs.IntVar(&f.dm.Workers, "workers", f.dm.Workers, "tables loaded at once")
	fs.DurationVar(&f.ld.Settle, "settle", f.ld.Settle, "how long a file must be unchanged before it is taken (a file whose writer is seen closing it, on a local lake on Linux, is taken at once)")
	fs.BoolVar(&f.prep.Lineage, "lineage", f.prep.Lineage, "add "+prepare.LineageColumn+" (the source file's key) to every row: of prepared files, and of Parquet files dropped into load/")
	fs.IntVar(&f.prep.BatchFiles, "prepare-batch-files", f.prep.BatchFiles, "most files converted into one Parquet output")
	fs.Int64Var(&f.prep.BatchBytes, "prepare-batch-bytes", f.prep.BatchBytes, "most bytes of small files converted together")
	fs.IntVar(&f.prep.Options.MaxRecordBytes, "max-record-bytes", f.prep.Options.MaxRecordBytes, "longest record (line, CSV row, JSON element) taken; longer ones go to the rejects file")
	fs.IntVar(&f.strike.Limit, "max-file-failures", f.strike.Limit, "a file that fails on its own account this many times is rejected with its last error (a panic or a stall rejects it at once)")
	fs.DurationVar(&f.dedupe, "dedupe-window", lake.DefaultDedupeWindow, "a file whose content (SHA-256) its table took in within this window is skipped, not loaded again (0: off)")
	fs.DurationVar(&f.prep.Options.StallTimeout, "stall-timeout", f.prep.Options.StallTimeout, "stop and reject work on a file (converting, reading its Parquet) that makes no progress for this long; a store that sends nothing is retried instead (0: never)")
	fs.IntVar(&f.ld.MaxBatchFiles, "max-batch-files", f.ld.MaxBatchFiles, "most files appended in one commit")
	fs.Int64Var(&f.ld.MaxBatchBytes, "max-batch-bytes", f.ld.MaxBatchBytes, "most bytes appended in one commit")
	fs.BoolVar(&f.trail, "trail", true, "write the audit trail (trail/records/)")
	fs.StringVar(&f.keyPEM, "trail-key", os.Getenv("LAGOON_TRAIL_KEY"), "Ed25519 private key (PEM, PKCS#8) signing trail records ($LAGOON_TRAIL_KEY)")
	fs.StringVar(&f.piiKey, "pii-key-file", "", "file holding the secret key (at least 16 bytes) of the HMAC-SHA-256 that contracts' pii: hash columns take ($LAGOON_PII_KEY holds the key itself)")
	fs.BoolVar(&f.side, "side-tables", true, "keep the trail, statistics and log tables")
	fs.BoolVar(&f.maintain, "maintain", true, "maintain users' tables under stg/: compaction, manifests, snapshot expiry, old metadata, orphans (see lagoon maintain --help)")
	fs.Int64Var(&f.maint.TargetFileSize, "compact-target-size", f.maint.TargetFileSize, "size in bytes compacted data files are written near (a table's write.target-file-size-bytes wins)")
	fs.DurationVar(&f.maint.SnapshotAge, "snapshot-retention", f.maint.SnapshotAge, "snapshots older than this are expired (a table's history.expire.max-snapshot-age-ms wins)")
	fs.IntVar(&f.maint.KeepSnapshots, "keep-snapshots", f.maint.KeepSnapshots, "snapshots always kept, however old (a table's history.expire.min-snapshots-to-keep wins)")
	fs.DurationVar(&f.maint.OrphanAge, "orphan-age", f.maint.OrphanAge, "files of a table that no snapshot references are deleted once older than this (0: never)")
	fs.DurationVar(&f.maintEvery, "maintain-every", time.Hour, "a table with no new snapshot is looked at again after this long (expiry, orphans)")
	fs.BoolVar(&f.stats.Prd, "stats-prd", false, "statistics also cover the Iceberg tables under prd/")
	fs.DurationVar(&f.lease, "claim-ttl", 2*time.Minute, "on S3: a worker's claim on a table not renewed for this long may be taken over")
}

// watchFlags configure how the daemon watches for new files: --once,
// which processes what waits and exits, takes none of them.
var watchFlags = []string{"events", "rescan", "webhook-addr", "webhook-raw-keys", "queue", "max-receives", "http"}

func (f *runFlags) run(ctx context.Context, g *globals) int {
	if f.once && isTerminal(g.stderr) {
		f.onceWork = &onceWork{}
		f.dm.Observer = f.onceWork
		f.prep.Options.OnRows = f.onceWork.converted
	}
	w, err := f.openWorker(ctx, g)
	if err != nil {
		return g.fail("run", err)
	}
	defer w.close()
	lk, side, stages := w.lk, w.side, w.stages
	if f.httpAddr != "" {
		f.metrics = metrics.New(f.metricsConfig(lk, g))
		f.dm.Observer = f.metrics
		side = f.metrics.WrapSide(side)
	}
	d := daemon.New(stages, f.dm, g.log)
	if f.once {
		start := time.Now()
		stop := f.onceProgress(ctx, g, lk)
		sum, err := d.Once(ctx)
		stop()
		took := time.Since(start)
		_ = daemon.SyncSide(ctx, side, f.sideC.Claims, g.log) // failures are logged; loading went on
		return f.report(g, sum, err, took)
	}
	src, err := f.source(g, lk)
	if err != nil {
		return g.fail("run", err)
	}
	running := func() { g.log.Info("lagoon running", "root", g.root, "workers", f.dm.Workers, "settle", f.ld.Settle) }
	if r, ok := src.(readier); ok {
		r.OnReady(running) // once its watches are in place: a file dropped then is seen
	} else {
		running()
	}
	stopHTTP, err := f.serveHTTP(ctx, g, lk)
	if err != nil {
		return g.fail("run", err)
	}
	sum, err := f.daemon(ctx, g, d, src, side)
	err = errors.Join(err, stopHTTP())
	if err != nil {
		return g.fail("run", err)
	}
	g.log.Info("lagoon stopped", "files", sum.Files, "rows", sum.Rows, "rejected", len(sum.Rejected))
	return exitOK
}

// readier is an event source that says when it is ready (events.Local:
// its watches in place).
type readier interface{ OnReady(func()) }

// worker is a lake opened for work: the stages of this worker's
// pipeline and its side tasks; close gives the lake back.
type worker struct {
	lk     *lake.Lake
	stages []daemon.Stage
	side   []daemon.SideTask
	close  func()
}

// openWorker opens the lake for work, holds it (see hold) and builds the
// stages and side tasks the flags ask for; the logger then also feeds the
// log table. run and lambda share it.
func (f *runFlags) openWorker(ctx context.Context, g *globals) (*worker, error) {
	lk, err := g.openOwnLake(ctx, g.lakeConfig()) // creates the catalog if it is missing
	if err != nil {
		return nil, err
	}
	release, err := f.take(g, lk)
	if err != nil {
		lk.Close()
		return nil, err
	}
	w := &worker{lk: lk, close: func() { release(); lk.Close() }}
	if err := f.build(g, w); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// take checks the lake is this one and holds it.
func (f *runFlags) take(g *globals, lk *lake.Lake) (func(), error) {
	if err := lk.RequireIdentity(); err != nil {
		return nil, err
	}
	if err := lk.MakePrefixes(); err != nil {
		return nil, err
	}
	return f.hold(g, lk)
}

// build makes the worker's stages and side tasks.
func (f *runFlags) build(g *globals, w *worker) error {
	lk := w.lk
	f.prep.Settle = f.ld.Settle
	var err error
	if f.prep.PIIKey, err = piiKey(f.piiKey); err != nil {
		return err
	}
	f.ld.PIIKey = f.prep.PIIKey
	if f.side {
		sink := logs.NewSink(lk.Store)
		g.log = slog.New(logs.NewHandler(g.log.Handler(), sink))
		w.side = sideTasks(lk, sink, f.trail, f.stats, g.log)
	}
	f.sideC.Claims = f.dm.Claims
	f.ld.Locks = &lake.TableLocks{}
	f.prep.Finished = &lake.Finished{}
	f.ld.Finished = f.prep.Finished // prepare's outputs are whole: loaded without settling
	f.dm.Finished = f.prep.Finished // as are files their writer was seen closing
	if f.trail {
		key, err := readPrivateKey(f.keyPEM)
		if err != nil {
			return err
		}
		tw := trail.NewWriter(lk.Store, key)
		f.prep.Audit, f.ld.Audit = tw, tw
	}
	// Maintenance first: what it records (trail, log) is synced in the same pass.
	w.side = append([]daemon.SideTask{f.maintenance(lk, g)}, w.side...)
	dd := lake.Dedupe{Store: lk.Store, Window: f.dedupe, Audit: f.ld.Audit}
	if dd.Audit == nil {
		dd.Audit = lake.NoAudit{}
	}
	f.prep.Dedupe, f.ld.Dedupe = dd, dd
	w.stages = f.pipeline(lk, g)
	return nil
}

// onceProgress shows, on a terminal, how far run --once is: the files
// taken of those waiting when it began, rows, the rate and the time left.
func (f *runFlags) onceProgress(ctx context.Context, g *globals, lk *lake.Lake) (stop func()) {
	if f.onceWork == nil {
		return func() {}
	}
	rep, err := status.Collect(ctx, lk.Store, time.Now())
	if err != nil {
		return func() {} // no total: no progress line, the work goes on
	}
	var total int64
	for _, t := range rep.Tables {
		total += int64(t.Waiting["prepare"].Files + t.Waiting["load"].Files)
	}
	w := f.onceWork
	return startProgress(g.stderr, func(elapsed time.Duration) string {
		files, conv, loaded := w.files(), w.converting.Load(), w.rows.Load()
		s := fmt.Sprintf("files %s of %s done; rows %s converted, %s loaded", groupDigits(files), groupDigits(total),
			groupDigits(conv), groupDigits(loaded))
		return s + ", " + progressRate(files, total, max(conv, loaded), elapsed)
	})
}

// onceWork counts what run --once's jobs did (a daemon.Observer), and
// the rows prepare converts as it goes (prepare.Options.OnRows).
type onceWork struct {
	prepared, outputs, loaded, rows, converting atomic.Int64
}

// Observe implements daemon.Observer.
func (w *onceWork) Observe(zone string, r lake.Result) {
	n := int64(r.Files + len(r.Rejected) + r.Skipped)
	if zone == lake.PrefixPrepare {
		w.prepared.Add(n)
		w.outputs.Add(int64(r.Commits))
		return
	}
	w.loaded.Add(n)
	w.rows.Add(r.Rows)
}

// converted counts rows prepare converted.
func (w *onceWork) converted(n int64) { w.converting.Add(n) }

// files counts the files taken of those that waited: prepared ones, and
// loaded ones that are not prepare's own outputs.
func (w *onceWork) files() int64 {
	return w.prepared.Load() + max(0, w.loaded.Load()-w.outputs.Load())
}

func (f *runFlags) metricsConfig(lk *lake.Lake, g *globals) metrics.Config {
	cfg := metrics.DefaultConfig()
	cfg.Version, cfg.Store, cfg.Log = buildVersion(), lk.Store, g.log
	return cfg
}

// serveHTTP starts the metrics and health endpoints (--http) on a
// goroutine of their own; the returned func stops them and says how they
// ended.
func (f *runFlags) serveHTTP(ctx context.Context, g *globals, lk *lake.Lake) (func() error, error) {
	if f.httpAddr == "" {
		return func() error { return nil }, nil
	}
	ln, err := web.Listen(f.httpAddr)
	if err != nil {
		return nil, err
	}
	cfg := web.DefaultConfig()
	cfg.Metrics, cfg.Log = f.metrics.Handler(), g.log
	dash := web.DefaultDashboard(lk)
	dash.Token, dash.Log = os.Getenv("LAGOON_HTTP_TOKEN"), g.log
	if f.ld.Audit != nil {
		dash.Audit = f.ld.Audit
	}
	cfg.Dashboard = dash
	cfg.Ready = func(ctx context.Context) error { return ready(ctx, lk) }
	g.log.Info("serving metrics and health", "addr", ln.Addr().String())
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- web.Serve(sctx, ln, cfg) }()
	return func() error { stop(); return <-done }, nil
}

// ready says whether the lake's store and catalog answer.
func ready(ctx context.Context, lk *lake.Lake) error {
	if _, err := lk.Store.Stat(ctx, lake.IdentityKey); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if _, err := lk.Catalog.ListNamespaces(ctx, nil); err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	return nil
}

// stageSet reads --stages: which of prepare and load this worker runs.
func stageSet(list string) (map[string]bool, error) {
	want := map[string]bool{}
	for _, s := range strings.Split(list, ",") {
		switch s = strings.TrimSpace(s); s {
		case "prepare", "load":
			want[s] = true
		default:
			return nil, fmt.Errorf("--stages: unknown stage %q (prepare, load)", s)
		}
	}
	return want, nil
}

// pipeline builds the stages --stages names (checked: stageSet), in
// pipeline order.
func (f *runFlags) pipeline(lk *lake.Lake, g *globals) []daemon.Stage {
	var stages []daemon.Stage
	want, _ := stageSet(f.stages)
	book := strike.New(lk.Store, f.strike)
	f.prep.Strikes, f.ld.Strikes = book, book
	f.ld.StallTimeout = f.prep.Options.StallTimeout // one flag for both stages
	f.ld.Lineage = f.prep.Lineage
	f.ld.Lake = lk.Identity
	f.prep.NoLoader = f.once && !want["load"]
	if want["prepare"] {
		stages = append(stages, prepare.NewStage(lk.Store, lk.Catalog, f.prep, g.log))
	}
	if want["load"] {
		stages = append(stages, loader.New(lk.Store, lk.Catalog, f.ld, g.log))
	}
	return stages
}

// hold takes the lake for this process: the run lock of a local lake
// (one process per local lake); on an object store, claims per stage and
// table, so that several workers can share the lake.
// maintenance is the side task that maintains the lake's tables: its
// side tables (with them), users' tables (with --maintain, on a worker
// that loads).
func (f *runFlags) maintenance(lk *lake.Lake, g *globals) *maintain.Task {
	t := &maintain.Task{Lake: lk, Every: f.maintEvery, Audit: f.ld.Audit, Log: g.log,
		Journal: func(ctx context.Context, ref lake.TableRef) (time.Time, error) {
			return loader.InFlight(ctx, lk.Store, ref)
		}}
	if f.dm.Claims != nil {
		t.Claims = f.dm.Claims
	}
	if f.maintain && strings.Contains(f.stages, "load") {
		cfg := f.maint
		cfg.Locks = f.ld.Locks // the loader's: a maintenance commit waits for a load attempt of its table
		t.Users = &cfg
	}
	if f.side {
		t.Side, t.SideTables = maintain.SideConfig(), sideTables(f.trail)
	}
	return t
}

func (f *runFlags) hold(g *globals, lk *lake.Lake) (func(), error) {
	if local, ok := lk.Store.(*lake.Local); ok {
		lock, err := lake.LockLocal(local)
		if err != nil {
			return nil, err
		}
		f.ld.CleanOrphans = true // no other process writes this lake
		return func() { lock.Release() }, nil
	}
	f.dm.Claims = lake.Claims{Store: lk.Store, TTL: f.lease, Log: g.log}
	return func() {}, nil
}

// eventSource is what feeds the daemon hints.
type eventSource interface {
	Run(ctx context.Context, out chan<- events.Event) error
}

// source picks the event source: file-system events locally, S3
// notifications from SQS, or sweeps alone.
func (f *runFlags) source(g *globals, lk *lake.Lake) (eventSource, error) {
	kind := f.events
	if kind == "" && f.sqs.Queue != "" {
		kind = "sqs"
	}
	local, isLocal := lk.Store.(*lake.Local)
	switch {
	case kind == "" && isLocal, kind == "fs" && isLocal:
		return events.NewLocal(local.Root(), f.ev, g.log), nil
	case kind == "", kind == "poll":
		return events.Poll{Period: f.ev.Rescan}, nil
	case kind == "sqs" && !isLocal:
		if f.sqs.Queue == "" {
			return nil, fmt.Errorf("--events sqs needs --queue")
		}
		cfg := f.sqs
		cfg.Bucket, cfg.Prefix = bucketOf(lk)
		cfg.Rescan = f.ev.Rescan
		return events.NewSQS(sqs.NewFromConfig(*lk.AWS), lk.Store, cfg, g.log), nil
	case kind == "webhook" && !isLocal:
		cfg := f.hook
		cfg.Bucket, cfg.Prefix = bucketOf(lk)
		cfg.Rescan = f.ev.Rescan
		cfg.Token = os.Getenv("LAGOON_WEBHOOK_TOKEN")
		if cfg.Token == "" {
			return nil, fmt.Errorf("--events webhook needs a token in LAGOON_WEBHOOK_TOKEN")
		}
		return events.NewWebhook(cfg, g.log), nil
	}
	return nil, fmt.Errorf("--events %s does not fit root %s", kind, g.root)
}

// daemon runs the event source and the scheduler until ctx ends. The
// source's goroutine is owned here: cancelled and waited for before
// returning.
func (f *runFlags) daemon(ctx context.Context, g *globals, d *daemon.Daemon, src eventSource, side []daemon.SideTask) (daemon.Summary, error) {
	ch := make(chan events.Event, 1024)
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var werr error
	wg.Go(func() {
		werr = src.Run(wctx, ch)
		if werr != nil {
			cancel() // without events the daemon would go deaf: stop
		}
	})
	sideCtx, stopSide := context.WithCancel(context.WithoutCancel(ctx))
	var sideWG sync.WaitGroup
	if len(side) > 0 {
		sideWG.Go(func() { daemon.RunSide(sideCtx, side, f.sideC, g.log) })
	}
	sum, err := d.Run(wctx, ch)
	cancel()
	wg.Wait()
	stopSide() // after the pipeline: the last sync sees its last events
	sideWG.Wait()
	if err == nil {
		err = werr
	}
	return sum, err
}

func (f *runFlags) report(g *globals, sum daemon.Summary, err error, took time.Duration) int {
	if f.asJSON {
		out := struct {
			daemon.Summary
			Seconds float64 `json:"seconds"`
			Error   string  `json:"error,omitempty"`
		}{Summary: sum, Seconds: took.Seconds()}
		if out.Rejected == nil {
			out.Rejected = []lake.Rejected{}
		}
		if err != nil {
			out.Error = err.Error()
		}
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	} else {
		fmt.Fprintln(g.stdout, summaryLine(sum, took))
		for _, r := range sum.Rejected {
			fmt.Fprintf(g.stdout, "  rejected %s: %s (now %s)\n", r.Key, r.Reason, r.MovedTo)
		}
	}
	switch {
	case err != nil:
		return g.fail("run", err)
	case len(sum.Rejected) > 0 || sum.BadRecords > 0:
		return exitRejected
	}
	return exitOK
}

func summaryLine(s daemon.Summary, took time.Duration) string {
	line := ""
	if p := s.Prepared; p.Files > 0 {
		line = fmt.Sprintf("prepared %s (%s rows); ", plural(p.Files, "file"), groupDigits(p.Rows))
	}
	line += fmt.Sprintf("loaded %s (%s rows, %s) into %s in %s",
		plural(s.Files, "file"), groupDigits(s.Rows), humanBytes(s.Bytes), plural(s.Tables, "table"),
		took.Round(time.Millisecond))
	if s.BadRecords > 0 {
		line += fmt.Sprintf("; %s bad records (see log/rejects/)", groupDigits(s.BadRecords))
	}
	if n := len(s.Rejected); n > 0 {
		line += fmt.Sprintf("; rejected %s (see log/rejected/)", plural(n, "file"))
	}
	if n := s.SkippedDuplicates; n > 0 {
		line += fmt.Sprintf("; skipped %s already loaded (same content)", plural(n, "duplicate"))
	}
	return line
}

// minPIIKey is the shortest key a hash of personal data takes.
const minPIIKey = 16

// piiKey reads the PII HMAC key: from file (--pii-key-file), else
// $LAGOON_PII_KEY; nil when neither is set. The key is never logged.
func piiKey(file string) ([]byte, error) {
	key := []byte(os.Getenv("LAGOON_PII_KEY"))
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("pii key: %w", err)
		}
		key = bytes.TrimSpace(b)
	}
	if len(key) > 0 && len(key) < minPIIKey {
		return nil, fmt.Errorf("pii key: %d bytes, want at least %d", len(key), minPIIKey)
	}
	return key, nil
}
