// Package loader appends Parquet files waiting under load/ to the lake's
// Iceberg tables under stg/, exactly once, and deletes what it loaded.
//
// A batch of one table's files is appended in one commit. Before the
// commit, an intent naming the batch and its files is stored under
// tmp/lagoon/intents/; the commit carries the batch id in its snapshot
// summary. A process that dies anywhere is finished by Recover: a batch
// whose id is in the table's history has its files deleted, any other
// intent is dropped and its files load again.
package loader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/apache/iceberg-go/catalog"

	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/strike"
)

// Config tunes the loader. The zero value is not useful; start from
// DefaultConfig.
type Config struct {
	// Locks, shared with the process's table maintenance, keeps an
	// attempt and a maintenance commit of one table apart (nil: none).
	Locks *lake.TableLocks
	// MaxBatchFiles and MaxBatchBytes bound one commit.
	MaxBatchFiles int
	MaxBatchBytes int64
	// Settle is how long a file must go unmodified before it is loaded, so
	// that a file still being written is not loaded half.
	Settle time.Duration
	// Finished, when set, names the files this process's prepare stage
	// published whole: they are loaded without settling.
	Finished *lake.Finished
	// CommitAttempts bounds the retries of a commit that meets a conflict.
	CommitAttempts int
	// CleanOrphans removes, after a crash, the data files that an attempt
	// wrote but never committed. Safe only where no other process writes
	// the lake's tables: a local lake, whose daemon holds the run lock.
	CleanOrphans bool
	// Audit records table creations, loads, deletions and rejections,
	// each loaded file's record durable before the file is deleted.
	Audit lake.Auditor
	// Strikes counts the failures of files that fail on their own account
	// (nil: a book of the loader's store with strike.DefaultConfig).
	Strikes *strike.Book
	// Dedupe skips files whose content the table took in already (its
	// Store nil or Window 0: off). Files prepare wrote are left to
	// prepare's own check of their sources.
	Dedupe lake.Dedupe
	// Lake is the lake's identity: the tables the loader creates carry it,
	// and it refuses to write a table of another lake (lake.Owns). The
	// zero Identity checks nothing.
	Lake lake.Identity
	// StallTimeout stops work on a file that makes no progress for this
	// long while reading it (no bytes read, no rows decoded): the file is
	// rejected (lake.ErrStalled), or, when the store sent nothing, the
	// batch is retried later (lake.ErrStoreStalled). Zero: never.
	StallTimeout time.Duration
	// Lineage adds LineageColumn, the file's key, to the rows of files
	// that prepare did not write (prepare adds it to its own, see
	// prepare.StageConfig.Lineage).
	Lineage bool
	// PIIKey is the HMAC key of a contract's hashed personal-data columns
	// (nil: a contract that hashes stops its table).
	PIIKey []byte
	// CopyRowGroupBytes is the least mean size of a file's row groups
	// (compressed) for its column chunks to be copied into the table as
	// they are (see package pqcopy): a batch with a file of smaller ones
	// is re-encoded, its rows merged into row groups readers take in
	// fewer steps. Zero copies any file.
	CopyRowGroupBytes int64
	// Now is the clock (the load time of a batch); tests may replace it.
	Now func() time.Time
}

// DefaultConfig returns the defaults: 1,000 files or 1 GiB per commit, a
// 2 s settle time, 20 commit attempts, a minute's stall timeout, chunks
// copied from files of row groups of 1 MiB or more.
func DefaultConfig() Config {
	return Config{
		MaxBatchFiles:     1000,
		MaxBatchBytes:     1 << 30,
		Settle:            2 * time.Second,
		CommitAttempts:    20,
		StallTimeout:      time.Minute,
		Lineage:           true,
		CopyRowGroupBytes: 1 << 20,
		Now:               time.Now,
	}
}

// Loader appends waiting Parquet files to tables. One Loader may load
// different tables concurrently; callers must not load the same table from
// two goroutines at once (the daemon serialises per table).
type Loader struct {
	st  lake.Store
	cat catalog.Catalog
	cfg Config
	log *slog.Logger
}

// New returns a loader over a lake's store and catalog.
func New(st lake.Store, cat catalog.Catalog, cfg Config, log *slog.Logger) *Loader {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Audit == nil {
		cfg.Audit = lake.NoAudit{}
	}
	if cfg.Strikes == nil {
		cfg.Strikes = strike.New(st, strike.DefaultConfig())
	}
	return &Loader{st: st, cat: cat, cfg: cfg, log: log}
}

// loadFile is one file found under load/ for a table, to be loaded.
type loadFile struct {
	info lake.ObjectInfo
	key  lake.Key
}

// Scan lists load/ and groups what waits there by table. Files whose keys
// cannot be mapped to a table are rejected once they have settled.
func (l *Loader) Scan(ctx context.Context) (lake.Plan, error) {
	return lake.ScanZone(ctx, l.st, lake.PrefixLoad, l.cfg.Settle, l.cfg.Now(), func(key, reason string) (lake.Rejected, error) {
		return l.rejecter().Reject(ctx, key, lake.TableRef{}, reason)
	})
}

// Zone is where the loader takes files from: load/.
func (l *Loader) Zone() string { return lake.PrefixLoad }

// Process is LoadTable, for the daemon.
func (l *Loader) Process(ctx context.Context, ref lake.TableRef, dirs []string) (lake.Result, error) {
	return l.LoadTable(ctx, ref, dirs)
}

// LoadTable appends the settled files waiting in dirs (folders of the
// table, as Scan returns them) to the table ref, in batches, and deletes
// them. It first finishes batches an earlier process left half done.
// Files that cannot be loaded are rejected and reported in the Result; the
// error is for failures that leave files in place to retry (I/O, catalog).
func (l *Loader) LoadTable(ctx context.Context, ref lake.TableRef, dirs []string) (lake.Result, error) {
	res := lake.Result{Table: ref}
	if err := l.recoverTable(ctx, ref); err != nil {
		return res, err
	}
	files, err := l.collect(ctx, ref, dirs, &res)
	if err != nil {
		return res, err
	}
	for len(files) > 0 {
		var batch []loadFile
		batch, files = l.takeBatch(files)
		r, err := l.loadBatch(ctx, ref, batch)
		res.Add(r)
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// collect lists the table's settled Parquet files, oldest first, rejecting
// keys that are not Parquet or do not map to this table's columns.
func (l *Loader) collect(ctx context.Context, ref lake.TableRef, dirs []string, res *lake.Result) ([]loadFile, error) {
	infos, err := lake.ListSettled(ctx, l.st, dirs, l.cfg.Settle, l.cfg.Now(), l.cfg.Finished, res)
	if err != nil {
		return nil, err
	}
	if infos, err = l.cfg.Strikes.Hold(ctx, infos, res); err != nil {
		return nil, err
	}
	var out []loadFile
	for _, info := range infos {
		w, reason := checkKey(info, ref)
		if reason == "" {
			out = append(out, w)
			continue
		}
		if err := l.rejecter().RejectInto(ctx, info.Key, ref, reason, res); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func checkKey(info lake.ObjectInfo, ref lake.TableRef) (loadFile, string) {
	k, err := lake.ParseKey(info.Key)
	if err != nil {
		return loadFile{}, err.Error()
	}
	if k.Table != ref {
		return loadFile{}, fmt.Sprintf("maps to table %s, not %s", k.Table, ref)
	}
	if !strings.HasSuffix(strings.ToLower(k.Name), ".parquet") {
		return loadFile{}, "load/ takes Parquet files (.parquet) only; put other formats under prepare/"
	}
	return loadFile{info: info, key: k}, ""
}

func (l *Loader) takeBatch(files []loadFile) (batch, rest []loadFile) {
	var bytes int64
	n := 0
	for n < len(files) && n < l.cfg.MaxBatchFiles {
		if n > 0 && bytes+files[n].info.Size > l.cfg.MaxBatchBytes {
			break
		}
		bytes += files[n].info.Size
		n++
	}
	return files[:n], files[n:]
}

// loadBatch opens the batch's files, rejecting bad ones, and commits the
// rest; a file found bad while its rows are read is rejected and the batch
// committed again without it.
func (l *Loader) loadBatch(ctx context.Context, ref lake.TableRef, batch []loadFile) (lake.Result, error) {
	res := lake.Result{Table: ref}
	var srcs []*source
	defer func() {
		for _, s := range srcs {
			s.close()
		}
	}()
	opened, errs := l.openAll(ctx, batch)
	seen := map[string]string{}
	for i, w := range batch {
		s, err := opened[i], errs[i]
		if err == nil {
			var dup bool
			if dup, err = l.duplicate(ctx, ref, s, seen); dup || err != nil {
				s.close()
			}
			if dup {
				res.Skipped++
				continue
			}
		}
		if err != nil {
			if err := l.fileFailed(ctx, ref, w.info, err, &res); err != nil {
				return res, err
			}
			continue
		}
		srcs = append(srcs, s)
	}
	for len(srcs) > 0 {
		r, err := l.commitWatched(ctx, ref, srcs)
		key, ok := blamed(err)
		switch {
		case ok:
		case errors.Is(err, lake.ErrInternal) && len(srcs) > 1:
			// A panic that no file can be blamed for: each file alone
			// finds the one.
			return l.loadEach(ctx, ref, srcs, res)
		case errors.Is(err, lake.ErrInternal):
			key, err = srcs[0].info.Key, &lake.FileError{Key: srcs[0].info.Key, Err: err}
		default:
			res.Add(r)
			return res, err
		}
		i := slices.IndexFunc(srcs, func(s *source) bool { return s.info.Key == key })
		if i < 0 {
			return res, err
		}
		if err := l.fileFailed(ctx, ref, srcs[i].info, err, &res); err != nil {
			return res, err
		}
		srcs[i].close()
		srcs = slices.Delete(srcs, i, i+1)
	}
	return res, nil
}

// openAll opens (checks and hashes) the batch's files, up to
// lake.StoreFanout at a time: the i-th source, or why it did not open.
func (l *Loader) openAll(ctx context.Context, batch []loadFile) ([]*source, []error) {
	opt := sourceOptions{stall: l.cfg.StallTimeout, hash: l.cfg.Dedupe.WantsSHA256(l.cfg.Audit), lineage: l.cfg.Lineage}
	srcs, errs := make([]*source, len(batch)), make([]error, len(batch))
	lake.Each(ctx, len(batch), func(ctx context.Context, i int) error {
		errs[i] = lake.ProtectFile(batch[i].info.Key, func() (err error) {
			srcs[i], err = openSource(ctx, l.st, batch[i].info, batch[i].key, opt)
			return err
		})
		return nil // each file's error is its own
	})
	for i := range batch {
		if srcs[i] == nil && errs[i] == nil { // not started: ctx ended
			errs[i] = fmt.Errorf("open %s: %w", batch[i].info.Key, context.Cause(ctx))
		}
	}
	return srcs, errs
}

// commitWatched is commitBatch under a watchdog of l.cfg.StallTimeout
// over the reading of srcs (lake.Watch): a file whose reading stalls is
// blamed (a *lake.FileError). An attempt left behind has its context
// cancelled, so it can commit nothing; its intent is recovered later.
func (l *Loader) commitWatched(ctx context.Context, ref lake.TableRef, srcs []*source) (lake.Result, error) {
	return lake.Watch(ctx, l.cfg.StallTimeout, func(ctx context.Context, p *lake.Progress) (lake.Result, error) {
		for _, s := range srcs {
			s.prog.Store(p)
		}
		return l.commitBatch(ctx, ref, srcs)
	})
}

// duplicate settles s if its content is what the table took in already
// or what an earlier file of the batch holds (seen: see lake.Dedupe.Find):
// it is skipped (lake.Dedupe.Skip). Prepared files are prepare's to check.
func (l *Loader) duplicate(ctx context.Context, ref lake.TableRef, s *source, seen map[string]string) (bool, error) {
	if s.prepared() {
		return false, nil
	}
	earlier, dup, err := l.cfg.Dedupe.Find(ctx, ref, s.info.Key, s.sha, seen)
	if err != nil || !dup {
		return false, err
	}
	l.log.Info("skipping a duplicate", "table", ref.String(), "key", s.info.Key, "same_as", earlier.Key)
	return true, l.cfg.Dedupe.Skip(ctx, ref, s.info, s.sha, earlier)
}

// blamed names the file an error is the fault of, if any.
func blamed(err error) (string, bool) {
	var rj *RejectError
	var fe *lake.FileError
	switch {
	case errors.As(err, &rj):
		return rj.Key, true
	case errors.As(err, &fe):
		return fe.Key, true
	}
	return "", false
}

// loadEach commits each source as a batch of its own (loadBatch, which
// called it, closes srcs).
func (l *Loader) loadEach(ctx context.Context, ref lake.TableRef, srcs []*source, res lake.Result) (lake.Result, error) {
	for _, s := range srcs {
		r, err := l.loadBatch(ctx, ref, []loadFile{{info: s.info, key: s.key}})
		res.Add(r)
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// fileFailed settles a file (info) whose processing failed: a
// *RejectError rejects it, a *lake.FileError goes to the strike book
// (which rejects panics and stalls at once); other errors pass.
func (l *Loader) fileFailed(ctx context.Context, ref lake.TableRef, info lake.ObjectInfo, err error, res *lake.Result) error {
	var rj *RejectError
	var fe *lake.FileError
	switch {
	case errors.As(err, &rj):
		return l.rejecter().RejectErr(ctx, info.Key, ref, rj, res)
	case errors.As(err, &fe):
		return l.cfg.Strikes.Judge(ctx, info, ref, fe, l.rejecter(), l.log, res)
	}
	return err
}

func (l *Loader) rejecter() lake.Rejecter {
	return lake.Rejecter{Store: l.st, Stage: "load", Audit: l.cfg.Audit, Log: l.log, Now: l.cfg.Now}
}
