package prepare_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"

	"github.com/apache/arrow-go/v18/arrow"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/prepare"
	"github.com/lagoon-dev/lagoon/strike"
)

// trapStore is a real lake store whose objects under one key misbehave
// when read: they panic, or block until the test ends (a parser stuck
// without progress looks the same from outside).
type trapStore struct {
	lake.Store
	key   string
	panic bool
	hold  chan struct{}
}

func (s *trapStore) Open(ctx context.Context, key string) (lake.Object, error) {
	obj, err := s.Store.Open(ctx, key)
	if err != nil || key != s.key {
		return obj, err
	}
	return trapObject{Object: obj, s: s}, nil
}

type trapObject struct {
	lake.Object
	s *trapStore
}

func (o trapObject) Read(p []byte) (int, error) {
	if o.s.panic {
		panic("a parser bug met this file")
	}
	<-o.s.hold
	return 0, os.ErrClosed
}

func trapped(t *testing.T, l *lake.Lake, key string, panics bool) *lake.Lake {
	t.Helper()
	s := &trapStore{Store: l.Store, key: key, panic: panics, hold: make(chan struct{})}
	t.Cleanup(func() { close(s.hold) })
	cp := *l
	cp.Store = s
	return &cp
}

// TestPanicRejectsOnlyItsFile: a panic while converting one file of a
// batch rejects that file as "internal error: …", with the stack in the
// rejection's log entry (which feeds the log table); the others of the
// batch convert, and the stage goes on.
func TestPanicRejectsOnlyItsFile(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "prepare/db/t/a.csv", []byte("a\n1\n"))
	lakefixture.Drop(t, l, "prepare/db/t/bad.csv", []byte("a\n2\n"))
	lakefixture.Drop(t, l, "prepare/db/t/c.csv", []byte("a\n3\n"))
	var logged bytes.Buffer
	tl := trapped(t, l, "prepare/db/t/bad.csv", true)
	cfg := prepare.DefaultStageConfig()
	cfg.Settle = 0
	res := prepareAll(t, prepare.NewStage(tl.Store, tl.Catalog, cfg, slog.New(slog.NewJSONHandler(&logged, nil))))
	assertStackLogged(t, logged.String(), "prepare/db/t/bad.csv", "trapObject.Read")
	if res.Files != 2 || len(res.Rejected) != 1 || !strings.HasPrefix(res.Rejected[0].Reason, "internal error: a parser bug") {
		t.Fatalf("result = %+v", res)
	}
	if n := len(loadRows(t, l, "db.t")); n != 2 {
		t.Errorf("%d rows prepared, want 2", n)
	}
	if !lakefixture.Exists(l, lake.RejectedPrefix+"prepare/db/t/bad.csv") {
		t.Error("the file is not under log/rejected/")
	}
}

// TestStallRejectsOnlyItsFile: a file whose conversion makes no progress
// for the stall timeout (a parser stuck on it) is rejected; the rest of
// its batch converts.
func TestStallRejectsOnlyItsFile(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "prepare/db/t/a.csv", []byte("a\n1\n"))
	lakefixture.Drop(t, l, "prepare/db/t/stuck.csv", []byte("a\n2\n"))
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	prepare.OnRecord(t, func(key string) {
		if key == "prepare/db/t/stuck.csv" {
			<-hold
		}
	})
	s := newStage(l, func(c *prepare.StageConfig) { c.Options.StallTimeout = 200 * time.Millisecond })
	res := prepareAll(t, s)
	if res.Files != 1 || len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Reason, "no progress for 200ms") {
		t.Fatalf("result = %+v", res)
	}
	if n := len(loadRows(t, l, "db.t")); n != 1 {
		t.Errorf("%d rows prepared, want 1", n)
	}
}

// TestStoreStallIsNotTheFiles: a read the store never answers is the
// store's trouble: the batch fails with lake.ErrStoreStalled (transient,
// retried), and no file is rejected or lost.
func TestStoreStallIsNotTheFiles(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "prepare/db/t/a.csv", []byte("a\n1\n"))
	lakefixture.Drop(t, l, "prepare/db/t/slow.csv", []byte("a\n2\n"))
	s := newStage(trapped(t, l, "prepare/db/t/slow.csv", false), func(c *prepare.StageConfig) {
		c.Options.StallTimeout = 200 * time.Millisecond
	})
	ctx := context.Background()
	plan, err := s.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for ref, dirs := range plan.Tables {
		res, err := s.Process(ctx, ref, dirs)
		if !errors.Is(err, lake.ErrStoreStalled) || len(res.Rejected) != 0 {
			t.Fatalf("process %s: %+v, %v; want lake.ErrStoreStalled and nothing rejected", ref, res, err)
		}
	}
	if got := files(t, l, "prepare/db/t/"); len(got) != 2 {
		t.Errorf("files left under prepare/: %v, want both", got)
	}
	if got := files(t, l, "log/rejected/"); len(got) != 0 {
		t.Errorf("rejected: %v", got)
	}
}

// TestPoisonFileIsStruckOut: a file that cannot be read (a symbolic link
// to nothing) leaves its batch at once, which converts without it; it is
// tried again after a wait and rejected with its last error at the third
// failure.
func TestPoisonFileIsStruckOut(t *testing.T) {
	l := lakefixture.Open(t)
	root := lakefixture.Root(l)
	lakefixture.Drop(t, l, "prepare/db/t/a.csv", []byte("a\n1\n"))
	if err := os.Symlink(root+"/nowhere.csv", root+"/prepare/db/t/link.csv"); err != nil {
		t.Fatal(err)
	}
	lakefixture.CreateTable(t, l, "db.t", arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil))
	now := time.Now()
	book := strike.New(l.Store, strike.Config{Limit: 3, Retry: lake.Backoff{Min: time.Hour, Max: time.Hour}, Now: func() time.Time { return now }})
	s := newStage(l, func(c *prepare.StageConfig) { c.Strikes, c.Now = book, func() time.Time { return now } })
	res := prepareAll(t, s)
	if res.Files != 1 || len(res.Rejected) != 0 || res.Waiting != 1 {
		t.Fatalf("first pass = %+v, want the good file in and the link waiting", res)
	}
	if res := prepareAll(t, s); res.Waiting != 1 || len(res.Rejected) != 0 {
		t.Fatalf("within its wait the link is held back: %+v", res)
	}
	for i := 2; i <= 3; i++ {
		now = now.Add(2 * time.Hour)
		res = prepareAll(t, s)
	}
	if len(res.Rejected) != 1 || !strings.Contains(res.Rejected[0].Reason, "failed 3 times") || !strings.Contains(res.Rejected[0].Reason, "symbolic link to nothing") {
		t.Fatalf("third failure = %+v", res)
	}
	if n := len(loadRows(t, l, "db.t")); n != 1 {
		t.Errorf("%d rows prepared, want 1", n)
	}
	if got := files(t, l, strike.Prefix); len(got) != 0 {
		t.Errorf("strikes left behind: %v", got)
	}
}

// TestFutureModTimeSettles: a file whose mtime is years ahead is taken,
// not waited for.
func TestFutureModTimeSettles(t *testing.T) {
	l := lakefixture.Open(t)
	lakefixture.Drop(t, l, "prepare/db/t/a.csv", []byte("a\n1\n"))
	future := time.Now().AddDate(5, 0, 0)
	if err := os.Chtimes(lakefixture.Root(l)+"/prepare/db/t/a.csv", future, future); err != nil {
		t.Fatal(err)
	}
	s := newStage(l, func(c *prepare.StageConfig) { c.Settle = 2 * time.Second })
	if res := prepareAll(t, s); res.Files != 1 || res.Waiting != 0 {
		t.Fatalf("result = %+v", res)
	}
}

// assertStackLogged checks that the "file rejected" entry of key carries
// the stack of the panic (a frame named frame).
func assertStackLogged(tb testing.TB, logged, key, frame string) {
	tb.Helper()
	for _, line := range strings.Split(logged, "\n") {
		var e struct{ Msg, Key, Stack string }
		if json.Unmarshal([]byte(line), &e) == nil && e.Msg == "file rejected" && e.Key == key {
			if !strings.Contains(e.Stack, frame) {
				tb.Errorf("rejection of %s logged without the panic's stack: %q", key, e.Stack)
			}
			return
		}
	}
	tb.Errorf("no rejection of %s logged:\n%s", key, logged)
}

// headerThenPanic gives a gzip header, then panics when read again: the
// decompressor's read-ahead goroutine meets the panic, as it would a bug of
// the decompressor's.
type headerThenPanic struct{ done bool }

func (r *headerThenPanic) Read(p []byte) (int, error) {
	if r.done {
		panic("a decompressor bug")
	}
	r.done = true
	return copy(p, []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}), nil
}

// TestDecompressorPanicRejectsItsFile: decompression runs a few blocks
// ahead on a goroutine of its own; a panic there is still only its file's
// rejection ("internal error: …"), not the process's end.
func TestDecompressorPanicRejectsItsFile(t *testing.T) {
	src := prepare.Source{Key: "x.ndjson.gz", Name: "x.ndjson.gz", Size: 1,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(&headerThenPanic{}), nil }}
	_, err := prepare.Convert(context.Background(), []prepare.Source{src}, discard{}, prepare.DefaultOptions())
	var fe *lake.FileError
	if !errors.As(err, &fe) || fe.Key != "x.ndjson.gz" || !errors.Is(err, lake.ErrInternal) {
		t.Fatalf("convert: %v, want the file's internal error", err)
	}
}
