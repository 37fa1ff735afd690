package prepare

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/contract"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/pqcompat"
	"github.com/lagoon-dev/lagoon/strike"
)

// LineageColumn is lake.LineageColumn.
const LineageColumn = lake.LineageColumn

// StageConfig tunes the prepare stage. Start from DefaultStageConfig.
type StageConfig struct {
	// Settle is how long a file must go unmodified before it is taken; it
	// is also the window in which small files gather into one batch.
	Settle time.Duration
	// Finished, when set, is told of every output published (renamed into
	// place whole), for the loader of this process; the files under
	// prepare/ it knows whole (closed by their writer) are taken without
	// settling.
	Finished *lake.Finished
	// BatchFiles and BatchBytes bound one batch (one conversion, whose
	// output is one or more Parquet files). A file of BatchBytes or more
	// is a batch of its own.
	BatchFiles int
	BatchBytes int64
	// Lineage adds LineageColumn to every row.
	Lineage bool
	// Dedupe skips files whose content the table took in already (its
	// Store nil or Window 0: off).
	Dedupe lake.Dedupe
	// NoLoader says no loader will load this run's outputs (a one-off run
	// of the prepare stage alone): batches are then not held back for
	// earlier outputs of their table to load (see newTableFirst and
	// newColumnsWait), which would wait for ever.
	NoLoader bool
	// Options tune the conversion engine.
	Options Options
	// Audit records each source prepared (before it is deleted) and each
	// file rejected.
	Audit lake.Auditor
	// Strikes counts the failures of files that fail on their own account
	// (nil: a book of the stage's store with strike.DefaultConfig).
	Strikes *strike.Book
	// PIIKey is the HMAC key a contract's hashed columns take (nil: a
	// contract that hashes stops its table, ErrNoPIIKey).
	PIIKey []byte
	Now    func() time.Time
}

// DefaultStageConfig: 2 s settle, batches of up to 1,000 files or 256 MiB,
// lineage on.
func DefaultStageConfig() StageConfig {
	return StageConfig{Settle: 2 * time.Second, BatchFiles: 1000, BatchBytes: 256 << 20,
		Lineage: true, Options: DefaultOptions(), Now: time.Now}
}

// Stage converts files waiting under prepare/ into Parquet under load/,
// exactly once (see intent.go), and removes what it converted.
type Stage struct {
	st  lake.Store
	cat catalog.Catalog
	cfg StageConfig
	log *slog.Logger
}

// NewStage returns the prepare stage of a lake. cat may be nil (no table
// types are then known; everything is inferred).
func NewStage(st lake.Store, cat catalog.Catalog, cfg StageConfig, log *slog.Logger) *Stage {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Audit == nil {
		cfg.Audit = lake.NoAudit{}
	}
	if cfg.Strikes == nil {
		cfg.Strikes = strike.New(st, strike.DefaultConfig())
	}
	return &Stage{st: st, cat: cat, cfg: cfg, log: log}
}

// Zone is where the stage takes files from: prepare/.
func (s *Stage) Zone() string { return lake.PrefixPrepare }

// Scan lists prepare/ and groups what waits there by table; keys that map
// to no table are rejected once settled.
func (s *Stage) Scan(ctx context.Context) (lake.Plan, error) {
	return lake.ScanZone(ctx, s.st, lake.PrefixPrepare, s.cfg.Settle, s.cfg.Now(), func(key, reason string) (lake.Rejected, error) {
		return s.rejecter().Reject(ctx, key, lake.TableRef{}, reason)
	})
}

// waiting is one settled file of a table under prepare/.
type waiting struct {
	info   lake.ObjectInfo
	key    lake.Key
	format Format
}

// Process converts the settled files waiting in dirs (the table's folders
// under prepare/) in batches. Files that cannot be converted at all are
// rejected (in the Result); the error is for failures that leave the files
// in place to retry.
func (s *Stage) Process(ctx context.Context, ref lake.TableRef, dirs []string) (lake.Result, error) {
	res := lake.Result{Table: ref}
	if err := s.recoverTable(ctx, ref); err != nil {
		return res, err
	}
	files, err := s.collect(ctx, ref, dirs, &res)
	if err != nil || len(files) == 0 {
		return res, err
	}
	tv, err := s.tableSchema(ctx, ref)
	if err != nil {
		return res, err
	}
	batches, err := s.newTableFirst(ctx, ref, tv, s.batches(files), &res)
	if err != nil {
		return res, err
	}
	for i, b := range batches {
		view := &tv // the first batch converts to the table as just loaded, later ones load it again
		if i > 0 {
			view = nil
		}
		r, err := s.runIsolated(ctx, ref, b, view)
		res.Add(r)
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// skipDuplicate settles a source found to be a duplicate.
func (s *Stage) skipDuplicate(ctx context.Context, ref lake.TableRef, info lake.ObjectInfo, de *duplicateError) error {
	s.log.Info("skipping a duplicate", "table", ref.String(), "key", info.Key, "same_as", de.earlier.Key)
	return s.cfg.Dedupe.Skip(ctx, ref, info, de.sha, de.earlier)
}

// runIsolated runs a batch; a file the batch cannot go on with leaves it
// (see leaveOut), and the batch runs again without it.
func (s *Stage) runIsolated(ctx context.Context, ref lake.TableRef, batch []waiting, tv *tableView) (lake.Result, error) {
	res := lake.Result{Table: ref}
	for len(batch) > 0 {
		r, err := s.runBatch(ctx, ref, batch, tv)
		res.Add(r)
		if errors.Is(err, errWaitForLoad) {
			res.WaitUntil(len(batch), s.cfg.Now().Add(time.Second))
			return res, nil
		}
		key, err := s.leaveOut(ctx, ref, batch, err, &res)
		if key == "" || err != nil {
			return res, err
		}
		batch = slices.DeleteFunc(batch, func(w waiting) bool { return w.info.Key == key })
	}
	return res, nil
}

// leaveOut settles the file a batch's error names, which then leaves the
// batch (its key; "" when the error is the batch's own, returned with
// err, as is a failure to settle the file): a
// duplicate is skipped; a file that changed while read waits, without a
// strike; a file that failed on its own account (a *lake.FileError) goes
// to the strike book.
func (s *Stage) leaveOut(ctx context.Context, ref lake.TableRef, batch []waiting, err error, res *lake.Result) (string, error) {
	var de *duplicateError
	var ce *lake.ChangedError
	var fe *lake.FileError
	find := func(key string) (lake.ObjectInfo, bool) {
		i := slices.IndexFunc(batch, func(w waiting) bool { return w.info.Key == key })
		if i < 0 {
			return lake.ObjectInfo{}, false
		}
		return batch[i].info, true
	}
	switch {
	case errors.As(err, &de):
		info, _ := find(de.key)
		res.Skipped++
		return de.key, s.skipDuplicate(ctx, ref, info, de)
	case errors.As(err, &ce):
		res.WaitUntil(1, s.cfg.Now().Add(max(s.cfg.Settle, time.Second)))
		return ce.Key, nil
	case errors.As(err, &fe):
		info, ok := find(fe.Key)
		if !ok {
			return "", err
		}
		return fe.Key, s.cfg.Strikes.Judge(ctx, info, ref, fe, s.rejecter(), s.log, res)
	}
	return "", err
}

// collect lists the table's settled files, oldest first; it rejects what
// has an unsupported format or the wrong table, and moves Parquet on to
// load/ after a check.
func (s *Stage) collect(ctx context.Context, ref lake.TableRef, dirs []string, res *lake.Result) ([]waiting, error) {
	infos, err := lake.ListSettled(ctx, s.st, dirs, s.cfg.Settle, s.cfg.Now(), s.cfg.Finished, res)
	if err != nil {
		return nil, err
	}
	if infos, err = s.cfg.Strikes.Hold(ctx, infos, res); err != nil {
		return nil, err
	}
	var out []waiting
	for _, info := range infos {
		w, reason := checkKey(info, ref)
		switch {
		case reason != "":
			err = s.rejecter().RejectInto(ctx, info.Key, ref, reason, res)
		case w.format == FormatParquet:
			err = s.passParquet(ctx, w, res)
		case w.format == FormatORC:
			err = s.passORC(ctx, w, res)
		default:
			out = append(out, w)
		}
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func checkKey(info lake.ObjectInfo, ref lake.TableRef) (waiting, string) {
	k, err := lake.ParseKey(info.Key)
	if err != nil {
		return waiting{}, err.Error()
	}
	if k.Table != ref {
		return waiting{}, fmt.Sprintf("maps to table %s, not %s", k.Table, ref)
	}
	if info.Size == 0 {
		return waiting{}, "empty file (0 bytes)"
	}
	f, _, err := detect(k.Name)
	if err != nil {
		return waiting{}, err.Error()
	}
	return waiting{info: info, key: k, format: f}, ""
}

// passParquet checks a Parquet file dropped under prepare/ (a readable
// footer, some rows) and passes it on to the same place under load/, where
// the loader takes it. It goes through an intent like a converted batch:
// copied to its publish temp, then published, then the source deleted.
func (s *Stage) passParquet(ctx context.Context, w waiting, res *lake.Result) error {
	if err := s.checkParquet(ctx, w.info.Key); err != nil {
		return s.rejecter().RejectErr(ctx, w.info.Key, w.key.Table, err, res)
	}
	in := s.newIntent(w.key.Table)
	final := lake.PrefixLoad + strings.TrimPrefix(w.info.Key, lake.PrefixPrepare)
	in.Sources = []intentSrc{{Key: w.info.Key, Version: w.info.Version, Size: w.info.Size}}
	in.Outputs = []intentMove{{Temp: lake.PublishTemp(final), Final: final}}
	version, err := s.beginIntent(ctx, in)
	if err != nil {
		return err
	}
	if err := lake.Received(ctx, s.cfg.Audit, w.key.Table, in.Batch, []lake.ObjectInfo{w.info}); err != nil {
		return err
	}
	if err := s.st.Copy(ctx, w.info.Key, in.Outputs[0].Temp); err != nil {
		return errors.Join(err, s.discard(ctx, in))
	}
	in.State = statePublishing
	if _, err := s.advanceIntent(ctx, version, in); err != nil {
		return errors.Join(err, s.discard(ctx, in))
	}
	if _, err := s.publish(ctx, in); err != nil {
		return err
	}
	res.Files++
	res.Bytes += w.info.Size
	return nil
}

// checkParquet says why a Parquet file cannot be passed on (nil when it
// can); the error's text is the reason. A panic in arrow-go while reading
// the footer is a reason too: "internal error: …", its stack logged with
// the rejection.
func (s *Stage) checkParquet(ctx context.Context, key string) error {
	return lake.Protect(func() error {
		if reason := s.readParquetFooter(ctx, key); reason != "" {
			return errors.New(reason)
		}
		return nil
	})
}

func (s *Stage) readParquetFooter(ctx context.Context, key string) string {
	obj, err := s.st.Open(ctx, key)
	if err != nil {
		return "cannot open: " + err.Error()
	}
	defer obj.Close()
	pf, _, err := pqcompat.NewReader(obj, obj.Size(), nil)
	if err != nil {
		return "not a readable Parquet file: " + err.Error()
	}
	if pf.NumRows() == 0 {
		return "file has no rows"
	}
	return ""
}

// batches groups files: each file of BatchBytes or more alone, smaller ones
// together up to BatchFiles and BatchBytes.
func (s *Stage) batches(files []waiting) [][]waiting {
	var out [][]waiting
	var cur []waiting
	var bytes int64
	for _, f := range files {
		if f.info.Size >= s.cfg.BatchBytes {
			out = append(out, []waiting{f})
			continue
		}
		if len(cur) > 0 && (len(cur) >= s.cfg.BatchFiles || bytes+f.info.Size > s.cfg.BatchBytes) {
			out = append(out, cur)
			cur, bytes = nil, 0
		}
		cur = append(cur, f)
		bytes += f.info.Size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// tableView is the table a batch converts to: its Arrow schema without
// the columns lagoon fills itself, and what makes outputs the loader can
// register. The zero view: no catalog; a view whose reg is New: no table
// yet.
type tableView struct {
	sc  *arrow.Schema
	reg *Register
	c   *contract.Contract // the table's contract (nil: none)
	v   *Validator         // its JSON Schema (nil: none)
}

// tableSchema loads the table's view, if the table exists, with the
// explicit types of its contract for columns it does not have yet.
func (s *Stage) tableSchema(ctx context.Context, ref lake.TableRef) (tableView, error) {
	tv, err := s.tableView(ctx, ref)
	if err != nil {
		return tv, err
	}
	c, err := contract.Load(ctx, s.st, ref)
	if err != nil {
		return tableView{}, fmt.Errorf("table %s: %w", ref, err)
	}
	tv.sc, err = withContractTypes(tv.sc, c)
	if err != nil {
		return tableView{}, fmt.Errorf("table %s: %s: %w", ref, contract.Key(ref), err)
	}
	tv.c = c
	if c != nil && c.Schema != "" {
		// fails closed: a schema that is missing or does not compile
		// stops the table; nothing loads unvalidated
		if tv.v, err = s.loadSchema(ctx, c); err != nil {
			return tableView{}, fmt.Errorf("table %s: %s: %w", ref, contract.Key(ref), err)
		}
		tv.v.Private = map[string]bool{}
		for col := range c.PII {
			tv.v.Private[col] = true
		}
	}
	return tv, nil
}

func (s *Stage) loadSchema(ctx context.Context, c *contract.Contract) (*Validator, error) {
	obj, err := s.st.Open(ctx, c.SchemaKey())
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	defer obj.Close()
	doc, err := io.ReadAll(io.LimitReader(obj, contract.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	if len(doc) > contract.MaxBytes {
		return nil, fmt.Errorf("schema %s: over %d bytes", c.SchemaKey(), contract.MaxBytes)
	}
	return CompileSchema(c.SchemaKey(), doc)
}

// withContractTypes adds to sc (nil: no table yet) the contract's
// explicit column types of the columns sc lacks: values are parsed to
// them exactly, as to a table's types.
func withContractTypes(sc *arrow.Schema, c *contract.Contract) (*arrow.Schema, error) {
	if c == nil || len(c.Columns) == 0 {
		return sc, nil
	}
	var fields []arrow.Field
	if sc != nil {
		fields = sc.Fields()
	}
	names := slices.Sorted(maps.Keys(c.Columns))
	for _, name := range names {
		if sc != nil && len(sc.FieldIndices(name)) > 0 {
			continue // the table's type stands
		}
		it, err := contract.ParseType(c.Columns[name])
		if err != nil {
			return nil, err
		}
		at, err := table.TypeToArrowType(it, false, false)
		if err != nil {
			return nil, fmt.Errorf("columns: %s: %w", name, err)
		}
		fields = append(fields, arrow.Field{Name: name, Type: at, Nullable: true})
	}
	return arrow.NewSchema(fields, nil), nil
}

// tableView loads the table's view, if the table exists.
func (s *Stage) tableView(ctx context.Context, ref lake.TableRef) (tableView, error) {
	if s.cat == nil {
		return tableView{}, nil
	}
	tbl, err := s.cat.LoadTable(ctx, ref.Ident())
	if errors.Is(err, catalog.ErrNoSuchTable) {
		return tableView{reg: &Register{New: true, At: s.cfg.Now().UTC()}}, nil
	}
	if err != nil {
		return tableView{}, fmt.Errorf("load table %s: %w", ref, err)
	}
	sc, err := table.SchemaToArrowSchema(tbl.Schema(), nil, false, false)
	if err != nil {
		return tableView{}, fmt.Errorf("table %s schema: %w", ref, err)
	}
	withIDs, err := table.SchemaToArrowSchema(tbl.Schema(), nil, true, false)
	if err != nil {
		return tableView{}, fmt.Errorf("table %s schema: %w", ref, err)
	}
	var fields []arrow.Field
	for _, f := range sc.Fields() {
		if f.Name != lake.LoadedAtColumn && f.Name != LineageColumn {
			fields = append(fields, f)
		}
	}
	reg := &Register{Table: withIDs, Mark: lake.SchemaMark(tbl), At: s.cfg.Now().UTC()}
	return tableView{sc: arrow.NewSchema(fields, nil), reg: reg}, nil
}

// sources turns a batch into conversion sources with their constant
// columns (name=value path segments, lineage).
func (s *Stage) sources(ctx context.Context, batch []waiting) []Source {
	out := make([]Source, 0, len(batch))
	for _, w := range batch {
		src := Source{Key: w.info.Key, Name: w.key.Name, Size: w.info.Size,
			Open:       func() (io.ReadCloser, error) { return s.st.Open(ctx, w.info.Key) },
			OpenRandom: func() (RandomReader, error) { return s.st.Open(ctx, w.info.Key) }}
		for _, p := range w.key.Partitions {
			src.Consts = append(src.Consts, Const{Name: p.Name, Value: p.Value})
		}
		if s.cfg.Lineage {
			src.Consts = append(src.Consts, Const{Name: LineageColumn, Value: w.info.Key})
		}
		out = append(out, src)
	}
	return out
}

func (s *Stage) rejecter() lake.Rejecter {
	return lake.Rejecter{Store: s.st, Stage: "prepare", Audit: s.cfg.Audit, Log: s.log, Now: s.cfg.Now}
}
