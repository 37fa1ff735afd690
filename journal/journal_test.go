package journal_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/journal"
	"github.com/lagoon-dev/lagoon/lake"
)

type note struct{ Batch, Says string }

// TestJournal: intents are kept per group, recovered per group or all,
// replaced by a new Write, gone after Drop; temp files of intents never
// published are swept; an unreadable intent is moved aside (for a person)
// and recovery goes on without it.
func TestJournal(t *testing.T) {
	ctx := context.Background()
	st, err := lake.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	j := journal.Journal[note]{Store: st, Prefix: "tmp/j/"}
	for _, n := range []struct{ group, id string }{{"db.a", "1"}, {"db.a", "2"}, {"db.b", "3"}} {
		if err := j.Write(ctx, n.group, n.id, note{Batch: n.id, Says: "first"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Write(ctx, "db.a", "2", note{Batch: "2", Says: "again"}); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(ctx, "tmp/j/db.a/.lagoon-x.tmp", strings.NewReader("{")); err != nil {
		t.Fatal(err)
	}
	got := func(group string) string {
		t.Helper()
		var out []string
		if err := j.Recover(ctx, group, func(_ context.Context, n note) error {
			out = append(out, n.Batch+":"+n.Says)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, " ")
	}
	if g := got("db.a"); g != "1:first 2:again" {
		t.Errorf("group db.a: %q", g)
	}
	if g := got(""); g != "1:first 2:again 3:first" {
		t.Errorf("all: %q", g)
	}
	if _, err := st.Stat(ctx, "tmp/j/db.a/.lagoon-x.tmp"); !errors.Is(err, lake.ErrNotExist) {
		t.Errorf("the temp file of an unpublished intent is still there: %v", err)
	}
	if err := j.Drop(ctx, "db.a", "1"); err != nil {
		t.Fatal(err)
	}
	if g := got("db.a"); g != "2:again" {
		t.Errorf("after Drop: %q", g)
	}
	if err := st.Put(ctx, j.Key("db.b", "4"), strings.NewReader("not json")); err != nil {
		t.Fatal(err)
	}
	if g := got("db.b"); g != "3:first" {
		t.Errorf("with an unreadable intent beside: %q", g)
	}
	if _, err := st.Stat(ctx, journal.CorruptPrefix+"tmp/j/db.b/4.json"); err != nil {
		t.Errorf("the unreadable intent was not moved aside: %v", err)
	}
}

// TestAdvanceAfterTakeover: a worker paused past its claim whose intent
// another worker recovered (dropped, or rewrote) cannot move it on: its
// Advance fails with ErrTaken and writes nothing.
func TestAdvanceAfterTakeover(t *testing.T) {
	ctx := context.Background()
	st, err := lake.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	j := journal.Journal[note]{Store: st, Prefix: "tmp/j/"}
	v, err := j.Begin(ctx, "db.t", "b1", note{Batch: "b1", Says: "writing"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Begin(ctx, "db.t", "b1", note{Batch: "b1"}); !errors.Is(err, journal.ErrTaken) {
		t.Errorf("a second Begin of one batch: %v", err)
	}
	v2, err := j.Advance(ctx, "db.t", "b1", v, note{Batch: "b1", Says: "publishing"})
	if err != nil {
		t.Fatalf("advance: %v", err)
	}
	if err := j.Drop(ctx, "db.t", "b1"); err != nil { // another worker's recovery
		t.Fatal(err)
	}
	if _, err := j.Advance(ctx, "db.t", "b1", v2, note{Batch: "b1", Says: "done"}); !errors.Is(err, journal.ErrTaken) {
		t.Errorf("advance after the intent was dropped: %v, want ErrTaken", err)
	}
	if _, err := st.Stat(ctx, j.Key("db.t", "b1")); !errors.Is(err, lake.ErrNotExist) {
		t.Errorf("the taken-over worker wrote its intent again: %v", err)
	}
}
