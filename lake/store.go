package lake

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"
)

// ErrNotExist is returned (wrapped) for a key the store does not hold.
var ErrNotExist = errors.New("object does not exist")

// ErrExist is returned (wrapped) by a conditional create when the key is
// already taken.
var ErrExist = errors.New("object already exists")

// ErrChanged is returned (wrapped) by a conditional write that found the
// object no longer at the version its caller read.
var ErrChanged = errors.New("object changed since it was read")

// ChangedError says that a file changed (or went) while it was read: what
// was made of it is dropped, and the file is taken again once it is
// finished. It is no fault of the file's (no strike).
type ChangedError struct{ Key string }

func (e *ChangedError) Error() string {
	return e.Key + ": changed while it was read; taken again once finished"
}

func (e *ChangedError) Unwrap() error { return ErrChanged }

// StillTaken checks that key is still the version a stage took in: nil
// if it is, an error wrapping ErrNotExist if it is gone, a *ChangedError
// (ErrChanged) if it was written again since.
func StillTaken(ctx context.Context, st Store, key, version string) error {
	got, err := st.Stat(ctx, key)
	if err == nil && got.Version != version {
		err = &ChangedError{Key: key}
	}
	return err
}

// IsCurrent reports whether key is still the version a stage took in:
// false when it is gone or was written again since.
func IsCurrent(ctx context.Context, st Store, key, version string) (bool, error) {
	err := StillTaken(ctx, st, key, version)
	if errors.Is(err, ErrNotExist) || errors.Is(err, ErrChanged) {
		return false, nil
	}
	return err == nil, err
}

// DeleteTaken deletes key if it is still the version a stage took in and
// reports whether it did: a file gone already (a batch finished again)
// is not an error, and a file written again under the same key since is
// kept, an error wrapping ErrChanged for the caller to say so. (Between
// the check and the delete a store gives no guarantee: a file rewritten
// in that instant is deleted.)
func DeleteTaken(ctx context.Context, st Store, key, version string) (bool, error) {
	if err := StillTaken(ctx, st, key, version); err != nil {
		return false, IgnoreNotExist(err)
	}
	return true, st.Delete(ctx, key)
}

// IgnoreNotExist is err, or nil if it wraps ErrNotExist.
func IgnoreNotExist(err error) error {
	if errors.Is(err, ErrNotExist) {
		return nil
	}
	return err
}

// Unchanged checks that every file of infos is still the version listed
// (up to StoreFanout at a time): a *ChangedError for one that is not.
func Unchanged(ctx context.Context, st Store, infos []ObjectInfo) error {
	return Each(ctx, len(infos), func(ctx context.Context, i int) error {
		ok, err := IsCurrent(ctx, st, infos[i].Key, infos[i].Version)
		if err == nil && !ok {
			err = &ChangedError{Key: infos[i].Key}
		}
		return err
	})
}

// Swapper is a Store that replaces an object only while it is still the
// version its caller read: the compare-and-swap that claims (leases) are
// built on. Both lagoon stores have it.
type Swapper interface {
	// PutIfVersion stores r under key if the object there is still
	// version ("": if there is none), and returns the new version.
	// Otherwise it fails with an error wrapping ErrChanged and stores
	// nothing.
	PutIfVersion(ctx context.Context, key, version string, r io.Reader) (string, error)
}

// ErrUnreadable is returned (wrapped) by Open for an object that is there
// but cannot be read as a file, through no transient fault: a dangling
// symbolic link, a directory or a named pipe where a file should be, no
// permission. It is the file's fault; a stage strikes it (see package
// strike) rather than retrying for ever.
var ErrUnreadable = errors.New("object cannot be read")

// FileError is a failure to process one file that is the file's own, not
// the store's or the catalog's: the stage takes it out of its batch and
// decides its fate (rejected at once when Err is ErrInternal or ErrStalled,
// struck otherwise) while the rest of the batch goes on.
type FileError struct {
	Key string
	Err error
}

func (e *FileError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// ErrStalled classifies work on a file stopped because it made no progress
// (no bytes read, no rows produced) for too long.
var ErrStalled = errors.New("no progress")

// ObjectInfo describes one object of the store.
type ObjectInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
	// Version changes whenever the object is written again under the same
	// key (local: size and nanosecond mtime; S3: the ETag).
	Version string
}

// UnsyncedPutter is a Store that can store an object without waiting for
// it to reach the disk: atomically (readers see the old object or the
// new one whole), durable across a crash of the process, but not
// necessarily across a power failure. It is for entries of an index whose
// loss costs only work, never data: the content index (Dedupe), whose
// lost or torn entry reads as absent. A local directory has it (a put
// there waits for two fsyncs); S3's puts are durable anyway.
type UnsyncedPutter interface {
	PutUnsynced(ctx context.Context, key string, r io.Reader) error
}

// Object is an open object: random access for Parquet footers and row
// groups. The caller owns it and must Close it.
type Object interface {
	io.ReaderAt
	io.Reader
	io.Seeker
	io.Closer
	Size() int64
}

// RangeReader is an Object that streams a byte range in one request (an
// S3 object: one ranged GET, where ReadAt would make one per call).
type RangeReader interface {
	// ReadRange streams the n bytes at off; the caller closes it.
	ReadRange(off, n int64) (io.ReadCloser, error)
}

// Writer streams one object; see Store.Create.
type Writer interface {
	io.WriteCloser
	// Abort discards what was written. Safe after Close (does nothing).
	Abort() error
}

// Store is the object store a lake lives in. Keys are slash-separated and
// relative to the lake root. Implementations are safe for concurrent use.
type Store interface {
	// List yields every object whose key starts with prefix, recursively,
	// in no particular order.
	List(ctx context.Context, prefix string) iter.Seq2[ObjectInfo, error]
	// Stat returns an object's info, or an error wrapping ErrNotExist.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Open opens an object for reading; ErrNotExist if it is missing.
	Open(ctx context.Context, key string) (Object, error)
	// Put stores r under key atomically and durably: readers see the old
	// object or the whole new one, never a part.
	Put(ctx context.Context, key string, r io.Reader) error
	// Create returns a writer for key: what is written appears under key,
	// whole, when Close succeeds; Abort (instead of Close) discards it.
	Create(ctx context.Context, key string) (Writer, error)
	// PutIfAbsent is Put that fails with ErrExist when key already exists.
	PutIfAbsent(ctx context.Context, key string, r io.Reader) error
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Copy copies an object to a new key, replacing what is there.
	Copy(ctx context.Context, from, to string) error
	// Rename moves an object to a new key, replacing what is there.
	Rename(ctx context.Context, from, to string) error
	// URL returns the location Iceberg and other readers use for key
	// (file:///abs/path or s3://bucket/prefix/key).
	URL(key string) string
}
