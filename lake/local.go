package lake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/lagoon-dev/lagoon/internal/osfile"
)

// Local is a Store on a local directory. Writes go to a dot-named temp file
// in the target folder, are fsynced, and renamed into place.
type Local struct {
	root    string // absolute, cleaned
	writers writerCache
}

var _ Store = (*Local)(nil)

// NewLocal returns a store rooted at dir, which is made absolute. The
// directory need not exist yet.
func NewLocal(dir string) (*Local, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local lake %s: %w", dir, err)
	}
	return &Local{root: filepath.Clean(abs)}, nil
}

// Root returns the absolute directory of the lake.
func (l *Local) Root() string { return l.root }

// Path returns the file-system path of key.
func (l *Local) Path(key string) string { return filepath.Join(l.root, filepath.FromSlash(key)) }

// URL implements Store.
func (l *Local) URL(key string) string { return "file://" + filepath.ToSlash(l.Path(key)) }

// List implements Store. Missing prefixes yield nothing.
func (l *Local) List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error] {
	return func(yield func(ObjectInfo, error) bool) {
		dir, base := l.listStart(prefix)
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if d.IsDir() || d.Name() == swapLock {
				return nil // a swap lock is the store's own, not an object
			}
			key := filepath.ToSlash(strings.TrimPrefix(p, l.root+string(filepath.Separator)))
			if !strings.HasPrefix(key, base) {
				return nil
			}
			info, err := entryInfo(p, d)
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			if info.IsDir() {
				return nil // a symbolic link to a folder: not walked
			}
			if !yield(objectInfo(key, info)) {
				return fs.SkipAll
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.SkipAll) {
			yield(ObjectInfo{}, fmt.Errorf("list %s: %w", prefix, err))
		}
	}
}

// entryInfo is what Stat says of a listed entry: a symbolic link is
// followed (its target's size and mtime, so that List and Stat agree on
// the version), and one to nothing is listed as itself (Open then refuses
// it as ErrUnreadable).
func entryInfo(p string, d fs.DirEntry) (fs.FileInfo, error) {
	if d.Type()&fs.ModeSymlink == 0 {
		return d.Info()
	}
	info, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return d.Info()
	}
	return info, err
}

// listStart returns the directory to walk for prefix and the key prefix to
// filter on ("load/a" walks load/ and keeps keys starting with load/a).
func (l *Local) listStart(prefix string) (string, string) {
	if prefix == "" || strings.HasSuffix(prefix, "/") {
		return l.Path(prefix), prefix
	}
	return l.Path(pathDir(prefix)), prefix
}

func pathDir(key string) string {
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		return key[:i+1]
	}
	return ""
}

func objectInfo(key string, info fs.FileInfo) (ObjectInfo, error) {
	mt := info.ModTime()
	return ObjectInfo{
		Key:     key,
		Size:    info.Size(),
		ModTime: mt,
		Version: strconv.FormatInt(info.Size(), 10) + "-" + strconv.FormatInt(mt.UnixNano(), 10),
	}, nil
}

// Stat implements Store.
func (l *Local) Stat(_ context.Context, key string) (ObjectInfo, error) {
	info, err := os.Stat(l.Path(key))
	if err != nil {
		return ObjectInfo{}, mapErr(key, err)
	}
	if info.IsDir() {
		return ObjectInfo{}, fmt.Errorf("stat %s: %w (a directory)", key, ErrNotExist)
	}
	return objectInfo(key, info)
}

func mapErr(key string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: %w", key, ErrNotExist)
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s: %w", key, ErrExist)
	}
	return err
}

type localObject struct {
	*os.File
	size int64
}

func (o localObject) Size() int64 { return o.size }

// Open implements Store.
// Opening what is not a regular file — a dangling link, a directory, a
// named pipe (opened without blocking, so a pipe no one writes cannot
// hang it) — or a file without permission fails with ErrUnreadable.
func (l *Local) Open(_ context.Context, key string) (Object, error) {
	p := l.Path(key)
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, openErr(key, p, err)
	}
	info, err := f.Stat()
	if err == nil && !info.Mode().IsRegular() {
		err = fmt.Errorf("%w: not a regular file (%s)", ErrUnreadable, info.Mode().Type())
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", key, err)
	}
	return localObject{File: f, size: info.Size()}, nil
}

// openErr maps a failed open: no permission and a symbolic link to
// nothing are ErrUnreadable (the file's fault), a missing file ErrNotExist.
func openErr(key, p string, err error) error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("open %s: %w: %v", key, ErrUnreadable, err)
	case errors.Is(err, fs.ErrNotExist):
		if li, lerr := os.Lstat(p); lerr == nil && li.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("open %s: %w: a symbolic link to nothing", key, ErrUnreadable)
		}
	}
	return mapErr(key, err)
}

// Put implements Store: temp file, fsync, rename, fsync of the folder.
func (l *Local) Put(_ context.Context, key string, r io.Reader) error {
	return l.put(key, r, false, true)
}

// PutUnsynced implements UnsyncedPutter: Put without either fsync (a
// process killed after it returns leaves the object whole; a power
// failure may lose it, or leave it empty).
func (l *Local) PutUnsynced(_ context.Context, key string, r io.Reader) error {
	return l.put(key, r, false, false)
}

// PutIfAbsent implements Store with link(2), which fails when the target
// exists, so exactly one of several concurrent writers wins.
func (l *Local) PutIfAbsent(_ context.Context, key string, r io.Reader) error {
	return l.put(key, r, true, true)
}

func (l *Local) put(key string, r io.Reader, exclusive, sync bool) error {
	dst := l.Path(key)
	tmp, err := writeTemp(filepath.Dir(dst), r, sync)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer os.Remove(tmp)
	if exclusive {
		err = os.Link(tmp, dst)
	} else {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		return fmt.Errorf("put %s: %w", key, mapErr(key, err))
	}
	if !sync {
		return nil
	}
	return syncDir(filepath.Dir(dst))
}

const tempPrefix, tempSuffix = ".lagoon-", ".tmp"

// IsTemp reports whether key is the temp file of a write that has not been
// published (left behind when a writer dies mid-write).
func IsTemp(key string) bool {
	base := path.Base(key)
	return strings.HasPrefix(base, tempPrefix) && strings.HasSuffix(base, tempSuffix)
}

// Create implements Store: a dot-temp file beside key, fsynced and renamed
// onto key by Close.
func (l *Local) Create(_ context.Context, key string) (Writer, error) {
	dst := l.Path(key)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	f, err := osfile.CreateTemp(filepath.Dir(dst), tempPrefix+"*"+tempSuffix)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	return &localWriter{f: f, dst: dst, key: key}, nil
}

type localWriter struct {
	f    *os.File
	dst  string
	key  string
	done bool
}

func (w *localWriter) Write(p []byte) (int, error) { return w.f.Write(p) }

func (w *localWriter) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.f.Name(), w.dst)
	}
	if err == nil {
		err = syncDir(filepath.Dir(w.dst))
	}
	if err != nil {
		os.Remove(w.f.Name())
		return fmt.Errorf("write %s: %w", w.key, err)
	}
	return nil
}

func (w *localWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	return os.Remove(w.f.Name())
}

// writeTemp writes r to a new dot-named file in dir, fsynced and closed.
func writeTemp(dir string, r io.Reader, sync bool) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	f, err := osfile.CreateTemp(dir, tempPrefix+"*"+tempSuffix)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(f, r)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Delete implements Store.
func (l *Local) Delete(_ context.Context, key string) error {
	err := os.Remove(l.Path(key))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// Copy implements Store: the copy is written to a temp name and renamed
// into place.
//
// The copy is a hard link when the file system allows one: no bytes are
// copied, and the two names share one immutable file (lagoon never
// writes a file in place).
func (l *Local) Copy(ctx context.Context, from, to string) error {
	if err := l.link(from, to); err == nil {
		return nil
	}
	f, err := os.Open(l.Path(from))
	if err != nil {
		return fmt.Errorf("copy %s: %w", from, mapErr(from, err))
	}
	defer f.Close()
	return l.Put(ctx, to, f)
}

// link publishes a hard link to from under to (via a temp name, so that
// to is replaced atomically).
func (l *Local) link(from, to string) error {
	dst := l.Path(to)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(dst), tempPrefix+strconv.FormatInt(rand.Int64(), 36)+tempSuffix)
	if err := os.Link(l.Path(from), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(dst))
}

// Rename implements Store; the target folder is created as needed.
func (l *Local) Rename(_ context.Context, from, to string) error {
	dst := l.Path(to)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("rename %s: %w", from, err)
	}
	if err := os.Rename(l.Path(from), dst); err != nil {
		return fmt.Errorf("rename %s: %w", from, mapErr(from, err))
	}
	// rename(2) does nothing when both names are links to one file (see
	// Copy): the old name must still go.
	if fi, err := os.Lstat(l.Path(from)); err == nil {
		if di, err := os.Lstat(dst); err == nil && os.SameFile(fi, di) {
			if err := os.Remove(l.Path(from)); err != nil {
				return fmt.Errorf("rename %s: %w", from, err)
			}
		}
	}
	return syncDir(filepath.Dir(dst))
}

var (
	_ Swapper        = (*Local)(nil)
	_ UnsyncedPutter = (*Local)(nil)
)

// swapLock is the lock file of a folder's compare-and-swaps: one per
// folder, so that they do not pile up beside keys that come and go.
const swapLock = ".lagoon-swap.lock"

// PutIfVersion implements Swapper: under an exclusive flock(2) of the
// folder's lock file (swapLock, shared by every process of the machine),
// the object's version is compared, then the new one is published as Put
// does.
func (l *Local) PutIfVersion(ctx context.Context, key, version string, r io.Reader) (string, error) {
	dst := l.Path(key)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("put %s: %w", key, err)
	}
	unlock, err := flockFile(filepath.Join(filepath.Dir(dst), swapLock))
	if err != nil {
		return "", fmt.Errorf("put %s: %w", key, err)
	}
	defer unlock()
	cur, err := l.Stat(ctx, key)
	switch {
	case errors.Is(err, ErrNotExist):
		cur = ObjectInfo{}
	case err != nil:
		return "", err
	}
	if cur.Version != version {
		return "", fmt.Errorf("put %s: %w", key, ErrChanged)
	}
	if err := l.put(key, r, false, true); err != nil {
		return "", err
	}
	info, err := l.Stat(ctx, key)
	if err != nil {
		return "", err
	}
	return info.Version, nil
}

// flockFile takes an exclusive flock(2) of path (created if need be); the
// returned func releases it.
func flockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil // closing releases the lock
}
