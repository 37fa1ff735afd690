package lake

import (
	"cmp"
	"context"
	"path"
	"slices"
	"strings"
	"time"
)

// Rejected is a file moved under log/rejected/.
type Rejected struct {
	Key     string `json:"key"`
	MovedTo string `json:"moved_to"`
	Reason  string `json:"reason"`
}

// Plan is what a listing of a zone (prepare/ or load/) found: the folders
// of each table that hold files. Keys that map to no table are rejected
// while planning.
type Plan struct {
	Tables   map[TableRef][]string // table → folders as spelled in the store
	Rejected []Rejected
	Waiting  int // files not settled yet (bad keys included)
}

// Result says what one stage did for one table.
type Result struct {
	Table      TableRef
	Files      int   // files taken in and removed from the zone
	Rows       int64 // rows they held (good rows)
	Bytes      int64 // bytes of those files
	Commits    int   // table commits (load) or Parquet outputs (prepare)
	BadRecords int64 // records sent to rejects files
	Rejected   []Rejected
	Skipped    int // files left out as duplicates of what the table took in (see Dedupe)
	// CommitTimes are how long each commit took, its conflicts' retries
	// included; Conflicts counts the commit conflicts met (load).
	CommitTimes []time.Duration
	Conflicts   int
	// Waiting counts files not yet settled; NextReady is when the first of
	// them will be.
	Waiting   int
	NextReady time.Time
}

// Add adds o's counts to r.
func (r *Result) Add(o Result) {
	r.Files += o.Files
	r.Rows += o.Rows
	r.Bytes += o.Bytes
	r.Commits += o.Commits
	r.BadRecords += o.BadRecords
	r.Skipped += o.Skipped
	r.Rejected = append(r.Rejected, o.Rejected...)
	r.CommitTimes = append(r.CommitTimes, o.CommitTimes...)
	r.Conflicts += o.Conflicts
	r.Waiting += o.Waiting
	if !o.NextReady.IsZero() && (r.NextReady.IsZero() || o.NextReady.Before(r.NextReady)) {
		r.NextReady = o.NextReady
	}
}

// Wait notes a file that has not settled yet.
func (r *Result) Wait(info ObjectInfo, settle time.Duration) {
	r.WaitUntil(1, info.ModTime.Add(settle))
}

// WaitUntil notes n files held back until ready: NextReady becomes the
// earliest such time.
func (r *Result) WaitUntil(n int, ready time.Time) {
	r.Waiting += n
	if n > 0 && (r.NextReady.IsZero() || ready.Before(r.NextReady)) {
		r.NextReady = ready
	}
}

// Settled reports whether an object has gone unmodified for settle. An
// object whose modification time is further in the future than settle (a
// clock set wrong, an mtime set by hand) is taken as settled: there is no
// telling when it was last written, and waiting for a date that may be
// years away would hold it for ever.
func Settled(info ObjectInfo, settle time.Duration, now time.Time) bool {
	if info.ModTime.After(now.Add(max(settle, time.Second))) {
		return true
	}
	return !info.ModTime.Add(settle).After(now)
}

// ScanZone lists zone (PrefixPrepare or PrefixLoad) and groups what waits
// there by table. A settled file whose key maps to no table is passed to
// reject, which moves it away and says where.
func ScanZone(ctx context.Context, st Store, zone string, settle time.Duration, now time.Time,
	reject func(key, reason string) (Rejected, error)) (Plan, error) {
	p := Plan{Tables: map[TableRef][]string{}}
	for info, err := range st.List(ctx, zone) {
		if err != nil {
			return p, err
		}
		if Ignored(info.Key) {
			continue
		}
		k, err := ParseKey(info.Key)
		if err == nil {
			dir, _ := TableDir(info.Key)
			if !slices.Contains(p.Tables[k.Table], dir) {
				p.Tables[k.Table] = append(p.Tables[k.Table], dir)
			}
			continue
		}
		if !Settled(info, settle, now) {
			p.Waiting++
			continue
		}
		rj, err := reject(info.Key, err.Error())
		if err != nil {
			return p, err
		}
		p.Rejected = append(p.Rejected, rj)
	}
	return p, nil
}

// TableDir returns the folder of a key's table as spelled in the store
// ("load/Sales/Orders/"). ok is false for keys too short to have one.
func TableDir(key string) (dir string, ok bool) {
	if strings.Count(key, "/") < 3 {
		return "", false
	}
	segs := strings.SplitN(key, "/", 4)
	return strings.Join(segs[:3], "/") + "/", true
}

// PublishTemp is where a file is written before it is published at key:
// the same folder, under a dot-name every stage ignores. On an object store
// publishing is a copy then a delete, so while the temp exists the key is
// not published yet and must not be taken: a copy repeated after a crash
// would otherwise hand out the same rows twice.
func PublishTemp(key string) string {
	dir, base := path.Split(key)
	return dir + "." + base + ".pub"
}

// ListSettled lists the files under dirs that are finished, oldest first
// (then by key): settled, not held open for writing by any process (where
// the store can tell: WriterFinder), not being published (see
// PublishTemp); ignored names are left out. A file known whole (fin:
// published by this process, or closed by its writer) needs no settling.
// Files not finished yet are counted in res.
func ListSettled(ctx context.Context, st Store, dirs []string, settle time.Duration, now time.Time, fin *Finished, res *Result) ([]ObjectInfo, error) {
	var out []ObjectInfo
	seen := map[string]bool{}
	for _, dir := range dirs {
		for info, err := range st.List(ctx, dir) {
			if err != nil {
				return nil, err
			}
			seen[info.Key] = true
			switch {
			case Ignored(info.Key):
			case !fin.Has(info) && !Settled(info, settle, now):
				res.Wait(info, settle)
			default:
				out = append(out, info)
			}
		}
	}
	writing, err := openForWriting(ctx, st, len(out))
	if err != nil {
		return nil, err
	}
	out = slices.DeleteFunc(out, func(info ObjectInfo) bool {
		if seen[PublishTemp(info.Key)] || writing[info.Key] {
			res.WaitUntil(1, now.Add(max(settle, time.Second)))
			return true
		}
		return false
	})
	slices.SortFunc(out, func(a, b ObjectInfo) int {
		return cmp.Or(a.ModTime.Compare(b.ModTime), strings.Compare(a.Key, b.Key))
	})
	return out, nil
}

// openForWriting asks a store that can tell (WriterFinder) which of its
// files are held open for writing, when there are n candidates.
func openForWriting(ctx context.Context, st Store, n int) (map[string]bool, error) {
	wf, ok := st.(WriterFinder)
	if !ok || n == 0 {
		return nil, nil
	}
	return wf.OpenForWriting(ctx)
}
