package prepare

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/lagoon-dev/lagoon/contract"
	"github.com/lagoon-dev/lagoon/journal"
	"github.com/lagoon-dev/lagoon/lake"
)

// A batch is converted exactly once through an intent stored at
// tmp/lagoon/prepare/<db>.<table>/<batch>.json:
//
//  1. the intent is written in state "writing", naming the sources;
//  2. outputs are written under dot-names in load/<db>/<table>/ (the
//     loader ignores dot-names), bad records to a dot-named rejects file;
//  3. the intent moves to "publishing", naming every output and what
//     becomes of each source (delete, or reject with a reason);
//  4. outputs and the rejects file are renamed to their final names,
//     sources deleted or rejected, the intent dropped.
//
// A process killed in 1–2 leaves a "writing" intent: recovery deletes its
// outputs and drops it, and the sources are converted again (in whatever
// batches form then). Killed in 3–4, recovery redoes step 4, each part of
// which is safe to repeat. So a source leaves prepare/ only once its rows
// are durably in load/, and its rows reach load/ once.
//
// IntentPrefix holds those intents (lagoon status counts them).
const IntentPrefix = lake.PrefixTmp + "lagoon/prepare/"

const (
	stateWriting    = "writing"
	statePublishing = "publishing"
)

type intent struct {
	Batch   string       `json:"batch"`
	DB      string       `json:"db"`
	Table   string       `json:"table"`
	State   string       `json:"state"`
	Stamp   string       `json:"stamp"` // start of the output names
	Created time.Time    `json:"created"`
	Sources []intentSrc  `json:"sources"`
	Outputs []intentMove `json:"outputs,omitempty"`
}

type intentSrc struct {
	Key     string `json:"key"`
	Version string `json:"version"`
	Size    int64  `json:"size"`
	Rows    int64  `json:"rows,omitempty"`
	Bad     int64  `json:"bad,omitempty"`
	// Truncated counts timestamps whose nanoseconds were cut to
	// microseconds (ORC).
	Truncated int64  `json:"truncated,omitempty"`
	Reject    string `json:"reject,omitempty"` // non-empty: move to log/rejected/ with this reason
	// SHA256 of the file as the conversion read it (empty: not known).
	SHA256 string `json:"sha256,omitempty"`
}

type intentMove struct {
	Temp  string `json:"temp"`
	Final string `json:"final"`
}

func (in intent) ref() lake.TableRef { return lake.TableRef{DB: in.DB, Table: in.Table} }

// journal keeps the stage's intents, grouped by table:
// tmp/lagoon/prepare/<db>.<table>/<batch>.json.
func (s *Stage) journal() journal.Journal[intent] {
	return journal.Journal[intent]{Store: s.st, Prefix: IntentPrefix, Log: s.log}
}

func (in intent) key() string {
	return journal.Journal[intent]{Prefix: IntentPrefix}.Key(in.ref().String(), in.Batch)
}

// outputFinal is the published name of the batch's i-th output.
func (in intent) outputFinal(i int) string {
	return fmt.Sprintf("%s%s-%s-%05d.parquet", in.ref().Dir(lake.PrefixLoad), in.Stamp, in.Batch, i)
}

// tempPrefix starts the temp names (lake.PublishTemp) of the outputs.
func (in intent) tempPrefix() string {
	return in.ref().Dir(lake.PrefixLoad) + "." + in.Stamp + "-" + in.Batch + "-"
}

func (in intent) rejectsFinal() string {
	return in.ref().Dir(lake.PrefixLog+"rejects/") + in.Stamp + "-" + in.Batch + ".ndjson"
}

func (in intent) rejectsTemp() string { return lake.PublishTemp(in.rejectsFinal()) }

// beginIntent stores a new batch's intent; advanceIntent moves it to its
// next state only while it is still the one this worker wrote (version):
// journal.ErrTaken when another worker recovered it meanwhile (this one
// was paused past its claim), and the batch must stop.
func (s *Stage) beginIntent(ctx context.Context, in intent) (string, error) {
	return s.journal().Begin(ctx, in.ref().String(), in.Batch, in)
}

func (s *Stage) advanceIntent(ctx context.Context, version string, in intent) (string, error) {
	return s.journal().Advance(ctx, in.ref().String(), in.Batch, version, in)
}

func (s *Stage) newIntent(ref lake.TableRef) intent {
	now := s.cfg.Now().UTC()
	return intent{Batch: uuid.NewString(), DB: ref.DB, Table: ref.Table, State: stateWriting,
		Stamp: now.Format("20060102T150405"), Created: now}
}

// runBatch converts one batch to the table tv (nil: as loaded now) and
// publishes it.
func (s *Stage) runBatch(ctx context.Context, ref lake.TableRef, batch []waiting, tv *tableView) (lake.Result, error) {
	in := s.newIntent(ref)
	for _, w := range batch {
		in.Sources = append(in.Sources, intentSrc{Key: w.info.Key, Version: w.info.Version, Size: w.info.Size})
	}
	version, err := s.beginIntent(ctx, in)
	if err != nil {
		return lake.Result{}, err
	}
	infos := make([]lake.ObjectInfo, len(batch))
	for i, w := range batch {
		infos[i] = w.info
	}
	if err := lake.Received(ctx, s.cfg.Audit, ref, in.Batch, infos); err != nil {
		return lake.Result{}, err
	}
	res, err := s.convertBatch(ctx, &in, batch, tv)
	if err == nil {
		err = s.findDuplicate(ctx, in)
	}
	if err == nil {
		err = lake.Unchanged(ctx, s.st, infos) // a file appended to meanwhile is taken again, whole
	}
	if err != nil {
		if aerr := s.discard(ctx, in); aerr != nil {
			s.log.Warn("cannot clean up a failed batch; recovery will", "table", ref.String(), "err", aerr)
		}
		return lake.Result{}, err
	}
	in.State = statePublishing
	if _, err := s.advanceIntent(ctx, version, in); err != nil {
		return lake.Result{}, errors.Join(err, s.discard(ctx, in))
	}
	rejected, err := s.publish(ctx, in)
	res.Rejected = append(res.Rejected, rejected...)
	if err == nil {
		s.log.Info("batch prepared", "table", ref.String(), "files", res.Files, "rows", res.Rows,
			"outputs", res.Commits, "bad_records", res.BadRecords, "rejected", len(rejected))
	}
	return res, err
}

// convertBatch runs the conversion into temp outputs and decides what
// becomes of each source; in gains the outputs and decisions.
func (s *Stage) convertBatch(ctx context.Context, in *intent, batch []waiting, tv *tableView) (lake.Result, error) {
	res := lake.Result{Table: in.ref()}
	if tv == nil {
		loaded, err := s.tableSchema(ctx, in.ref())
		if err != nil {
			return res, err
		}
		tv = &loaded
	}
	sink := &lakeSink{ctx: ctx, st: s.st, name: in.outputFinal}
	rejects := &rejectsFile{ctx: ctx, st: s.st, key: in.rejectsTemp()}
	opt := s.cfg.Options
	opt.Table, opt.Rejects, opt.ResetRejects, opt.Register = tv.sc, rejects.write, rejects.reset, tv.reg
	if tv.c != nil {
		opt.PII, opt.PIIKey, opt.Validator = tv.c.PII, s.cfg.PIIKey, tv.v
		opt.DiscardRows = tv.c.ModeOrDefault() == contract.DiscardRows && tv.reg != nil && !tv.reg.New
	}
	opt.Metadata = map[string]string{lake.ReceivedAtMetadata: receivedAt(batch).UTC().Format(time.RFC3339Nano),
		lake.OriginsMetadata: originIDs(batch), lake.PrepareBatchMetadata: in.Batch}
	opt.HashSources = s.cfg.Dedupe.WantsSHA256(s.cfg.Audit)
	srcs := s.sources(ctx, batch)
	cres, err := Convert(ctx, srcs, sink, opt)
	if err == nil {
		err = s.newColumnsWait(ctx, in.ref(), tv, srcs, cres)
	}
	if err == nil {
		err = s.decide(in, batch, cres, rejects, &res)
	}
	if cerr := rejects.close(); err == nil {
		err = cerr
	}
	if err != nil {
		sink.Reset()
		return res, err
	}
	for i, t := range sink.temps {
		in.Outputs = append(in.Outputs, intentMove{Temp: t, Final: in.outputFinal(i)})
	}
	if rejects.w != nil {
		in.Outputs = append(in.Outputs, intentMove{Temp: rejects.key, Final: in.rejectsFinal()})
	}
	res.Commits = len(sink.temps)
	res.BadRecords = rejects.n
	return res, nil
}

// originIDs lists a batch's sources as lake.SourceID, for the loader's
// fence.
func originIDs(batch []waiting) string {
	ids := make([]string, len(batch))
	for i, w := range batch {
		ids[i] = lake.SourceID(w.info.Key, w.info.Version)
	}
	return strings.Join(ids, ",")
}

// duplicateError says that a source holds what its table took in already
// (or what an earlier source of its batch holds): the batch converts
// again without it, and it is skipped (lake.Dedupe.Skip).
type duplicateError struct {
	key, sha string
	earlier  lake.Taken
}

func (e *duplicateError) Error() string { return e.key + ": same content as " + e.earlier.Key }

// findDuplicate looks up every source of a converted batch in the table's
// content index (sources the conversion hashed, with rows to load).
func (s *Stage) findDuplicate(ctx context.Context, in intent) error {
	seen := map[string]string{}
	for _, src := range in.Sources {
		if src.Reject != "" {
			continue
		}
		earlier, dup, err := s.cfg.Dedupe.Find(ctx, in.ref(), src.Key, src.SHA256, seen)
		if err != nil || dup {
			return cmp.Or(err, error(&duplicateError{key: src.Key, sha: src.SHA256, earlier: earlier}))
		}
	}
	return nil
}

// noteTaken adds a published batch's sources to the table's content index.
func (s *Stage) noteTaken(ctx context.Context, in intent) error {
	var taken []lake.Taken
	for _, src := range in.Sources {
		if src.Reject == "" {
			taken = append(taken, lake.Taken{Key: src.Key, SHA256: src.SHA256, Batch: in.Batch})
		}
	}
	return s.cfg.Dedupe.Note(ctx, in.ref(), taken...)
}

// decide sets each source's fate: a file with no good record is rejected
// whole; a file cut short keeps its good rows, and the failure is a bad
// record of its own.
func (s *Stage) decide(in *intent, batch []waiting, cres Result, rejects *rejectsFile, res *lake.Result) error {
	for i, sr := range cres.Sources {
		in.Sources[i].Rows, in.Sources[i].Bad, in.Sources[i].SHA256 = sr.Rows, sr.Bad, sr.SHA256
		switch {
		case sr.Rows == 0 && sr.Err != nil:
			in.Sources[i].Reject = sr.Err.Error()
		case sr.Rows == 0 && sr.Bad > 0:
			in.Sources[i].Reject = fmt.Sprintf("no good record: %d bad records (see log/rejects/)", sr.Bad)
		case sr.Rows == 0:
			in.Sources[i].Reject = "no records"
		default:
			if sr.Err != nil {
				bad := BadRecord{Key: sr.Key, Reason: "the rest of the file could not be read: " + sr.Err.Error()}
				if err := rejects.write(bad); err != nil {
					return err
				}
			}
			res.Files++
			res.Rows += sr.Rows
			res.Bytes += batch[i].info.Size
		}
	}
	return nil
}

// publish renames the outputs into place, then deletes or rejects the
// sources, then drops the intent. Every step is safe to redo.
func (s *Stage) publish(ctx context.Context, in intent) ([]lake.Rejected, error) {
	for _, o := range in.Outputs {
		if err := s.st.Rename(ctx, o.Temp, o.Final); err != nil && !errors.Is(err, lake.ErrNotExist) {
			return nil, err
		}
		if s.cfg.Finished != nil {
			s.cfg.Finished.Mark(o.Final) // whole: the loader need not wait for it to settle
		}
	}
	var rejected []lake.Rejected
	if err := s.auditPrepared(ctx, in); err != nil {
		return nil, err
	}
	if err := s.noteTaken(ctx, in); err != nil {
		return nil, err
	}
	for _, src := range in.Sources {
		rj, err := s.settleSource(ctx, in, src)
		if errors.Is(err, lake.ErrChanged) {
			s.log.Warn("file changed after it was converted; keeping the new version", "key", src.Key)
			continue
		}
		if err != nil {
			return rejected, err
		}
		if rj != nil {
			rejected = append(rejected, *rj)
		}
	}
	return rejected, s.journal().Drop(ctx, in.ref().String(), in.Batch)
}

// settleSource rejects or deletes a published batch's source, if it is
// still the version converted (an error wrapping lake.ErrChanged if it
// was written again since; nothing if it is gone: a batch published
// again).
func (s *Stage) settleSource(ctx context.Context, in intent, src intentSrc) (*lake.Rejected, error) {
	if src.Reject != "" {
		if err := lake.StillTaken(ctx, s.st, src.Key, src.Version); err != nil {
			return nil, lake.IgnoreNotExist(err)
		}
		rj, err := s.rejecter().Reject(ctx, src.Key, in.ref(), src.Reject)
		return &rj, err
	}
	deleted, err := lake.DeleteTaken(ctx, s.st, src.Key, src.Version)
	if err != nil || !deleted {
		return nil, err
	}
	if src.Bad > 0 {
		s.log.Warn("bad records written to a rejects file", "stage", "prepare", "key", src.Key,
			"table", in.ref().String(), "bad_records", src.Bad, "rejects_file", in.rejectsFinal())
	}
	return nil, s.cfg.Strikes.Clear(ctx, src.Key)
}

// auditPrepared records one "prepared" event for the batch, listing each
// source still in place (and not rejected) with its SHA-256 — durably,
// before the sources are deleted.
func (s *Stage) auditPrepared(ctx context.Context, in intent) error {
	if _, off := s.cfg.Audit.(lake.NoAudit); off {
		return nil
	}
	ev := lake.AuditEvent{Kind: lake.AuditPrepared, Table: in.ref().String(), Detail: "batch " + in.Batch}
	for _, src := range in.Sources {
		if src.Reject != "" {
			continue
		}
		current, err := lake.IsCurrent(ctx, s.st, src.Key, src.Version)
		if err != nil {
			return err
		}
		if !current {
			continue
		}
		sum := src.SHA256 // hashed as it was converted: no second read
		if sum == "" {
			if sum, err = lake.SHA256Of(ctx, s.st, src.Key); err != nil {
				return err
			}
		}
		ev.Files = append(ev.Files, lake.AuditFile{Key: src.Key, Size: src.Size, SHA256: sum, Rows: src.Rows, Rejects: src.Bad, Truncated: src.Truncated})
		ev.Rows += src.Rows
		ev.Rejects += src.Bad
	}
	if len(ev.Files) == 0 {
		return nil
	}
	return s.cfg.Audit.Record(ctx, ev)
}

// discard deletes a batch's temp outputs and drops its intent.
func (s *Stage) discard(ctx context.Context, in intent) error {
	for _, o := range in.Outputs {
		if err := s.st.Delete(ctx, o.Temp); err != nil {
			return err
		}
	}
	for _, p := range []string{in.tempPrefix(), in.rejectsTemp()} {
		for info, err := range s.st.List(ctx, p) {
			if err != nil {
				return err
			}
			if err := s.st.Delete(ctx, info.Key); err != nil {
				return err
			}
		}
	}
	return s.journal().Drop(ctx, in.ref().String(), in.Batch)
}

// Recover finishes or discards the batches a stopped process left: a
// "writing" batch is discarded (its sources are still in place), a
// "publishing" one is published. Idempotent; run it when no batch of the
// lake is in flight.
func (s *Stage) Recover(ctx context.Context) error {
	return s.journal().Recover(ctx, "", s.recoverIntent)
}

func (s *Stage) recoverTable(ctx context.Context, ref lake.TableRef) error {
	if err := s.sweepTemps(ctx, ref); err != nil {
		return err
	}
	return s.journal().Recover(ctx, ref.String(), s.recoverIntent)
}

// sweepTemps deletes temp files of writes killed midway in the table's
// load/ folder (only this stage writes there, one batch at a time).
func (s *Stage) sweepTemps(ctx context.Context, ref lake.TableRef) error {
	dir := ref.Dir(lake.PrefixLoad)
	for info, err := range s.st.List(ctx, dir) {
		if err != nil {
			return err
		}
		if lake.IsTemp(info.Key) && path.Dir(info.Key)+"/" == dir {
			if err := s.st.Delete(ctx, info.Key); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Stage) recoverIntent(ctx context.Context, in intent) error {
	if in.State == statePublishing {
		s.log.Info("finishing a prepared batch", "table", in.ref().String(), "batch", in.Batch)
		_, err := s.publish(ctx, in)
		return err
	}
	s.log.Info("discarding a batch that was not finished", "table", in.ref().String(), "batch", in.Batch)
	return s.discard(ctx, in)
}

// lakeSink writes conversion outputs to the publish temps of their final
// names.
type lakeSink struct {
	ctx   context.Context
	st    lake.Store
	name  func(i int) string
	temps []string
}

func (k *lakeSink) Create(i int) (io.WriteCloser, error) {
	key := lake.PublishTemp(k.name(i))
	w, err := k.st.Create(k.ctx, key)
	if err != nil {
		return nil, err
	}
	k.temps = append(k.temps, key)
	return w, nil
}

func (k *lakeSink) Reset() error {
	for _, t := range k.temps {
		if err := k.st.Delete(k.ctx, t); err != nil {
			return err
		}
	}
	k.temps = nil
	return nil
}

// rejectsFile writes bad records as NDJSON, created on the first one.
type rejectsFile struct {
	ctx context.Context
	st  lake.Store
	key string
	w   lake.Writer
	n   int64
}

func (r *rejectsFile) write(b BadRecord) error {
	if r.w == nil {
		w, err := r.st.Create(r.ctx, r.key)
		if err != nil {
			return err
		}
		r.w = w
	}
	r.n++
	line, err := json.Marshal(b)
	if err != nil {
		return err
	}
	_, err = r.w.Write(append(line, '\n'))
	return err
}

func (r *rejectsFile) reset() error {
	r.n = 0
	if r.w == nil {
		return nil
	}
	err := r.w.Abort()
	r.w = nil
	return err
}

func (r *rejectsFile) close() error {
	if r.w == nil {
		return nil
	}
	return r.w.Close()
}

// receivedAt is when the batch's oldest source arrived (its mtime): the
// loader's load latency counts from there.
func receivedAt(batch []waiting) time.Time {
	t := batch[0].info.ModTime
	for _, w := range batch[1:] {
		if w.info.ModTime.Before(t) {
			t = w.info.ModTime
		}
	}
	return t
}
