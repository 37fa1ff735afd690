package trail_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/trail"
)

func newStore(tb testing.TB) *lake.Local {
	tb.Helper()
	st, err := lake.NewLocal(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// fill appends n records (loaded events for tables t0/t1).
func fill(tb testing.TB, st trail.Store, key ed25519.PrivateKey, n int) {
	tb.Helper()
	w := trail.NewWriter(st, key)
	for i := range n {
		ev := trail.Event{Table: fmt.Sprintf("db.t%d", i%2), Key: fmt.Sprintf("load/db/t/f%d.parquet", i), Rows: int64(i)}
		if _, err := w.Append(context.Background(), trail.KindLoaded, ev); err != nil {
			tb.Fatal(err)
		}
	}
}

func path(st *lake.Local, seq uint64) string { return st.Path(trail.KeyOf(seq)) }

func TestCleanChainVerifies(t *testing.T) {
	st := newStore(t)
	fill(t, st, nil, 10)
	rep, err := trail.Verify(context.Background(), st, nil)
	if err != nil || rep.Records != 10 || rep.Break != nil {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// TestTamperingIsFound: an edited, removed, reordered or inserted record,
// and a stray object, each make Verify fail and name the place.
func TestTamperingIsFound(t *testing.T) {
	cases := []struct {
		name    string
		tamper  func(st *lake.Local)
		seq     uint64
		because string
	}{
		{"edited payload", func(st *lake.Local) { flip(t, path(st, 4), "f4", "f9") }, 5, "predecessor hash"},
		{"removed record", func(st *lake.Local) { os.Remove(path(st, 3)) }, 3, "record 3 is missing"},
		{"reordered records", func(st *lake.Local) { swap(t, path(st, 2), path(st, 6)) }, 2, "sequence number 6"},
		{"inserted record", func(st *lake.Local) { insert(t, st, 5) }, 6, "holds sequence number 5"},
		{"garbage record", func(st *lake.Local) { os.WriteFile(path(st, 7), []byte("junk"), 0o644) }, 7, "not a valid trail record"},
		{"stray object", func(st *lake.Local) { os.WriteFile(filepath.Join(st.Root(), "trail/records/x.rec"), nil, 0o644) }, 0, "not a record"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := newStore(t)
			fill(t, st, nil, 10)
			tc.tamper(st)
			rep, err := trail.Verify(context.Background(), st, nil)
			if !errors.Is(err, trail.ErrBroken) || rep.Break == nil {
				t.Fatalf("verify passed a tampered trail: %+v %v", rep, err)
			}
			if rep.Break.Seq != tc.seq || !strings.Contains(rep.Break.Reason, tc.because) {
				t.Errorf("break = %+v, want record %d: %q", rep.Break, tc.seq, tc.because)
			}
		})
	}
}

func flip(tb testing.TB, p, from, to string) {
	data, err := os.ReadFile(p)
	if err != nil {
		tb.Fatal(err)
	}
	os.WriteFile(p, bytes.Replace(data, []byte(from), []byte(to), 1), 0o644)
}

func swap(tb testing.TB, a, b string) {
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	os.WriteFile(a, db, 0o644)
	os.WriteFile(b, da, 0o644)
}

// insert shifts records at seq on by one and writes a forged record there,
// with the right sequence number and the right predecessor hash.
func insert(tb testing.TB, st *lake.Local, seq uint64) {
	for i := uint64(9); i >= seq; i-- {
		if err := os.Rename(path(st, i), path(st, i+1)); err != nil {
			tb.Fatal(err)
		}
	}
	prevData, _ := os.ReadFile(path(st, seq-1))
	rec := trail.Record{Seq: seq, Time: time.Now(), Prev: trail.Hash(prevData), Kind: trail.KindLoaded,
		Event: trail.Event{Table: "db.t0", Key: "forged"}}
	data, _ := rec.Encode(nil)
	os.WriteFile(path(st, seq), data, 0o644)
}

// TestSignatures: with a key, an edited last record (which has no successor
// to betray it) is caught, and so is an unsigned or foreign-signed trail.
func TestSignatures(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	st := newStore(t)
	fill(t, st, priv, 5)
	rep, err := trail.Verify(context.Background(), st, pub)
	if err != nil || rep.Signed != 5 {
		t.Fatalf("signed trail: %+v %v", rep, err)
	}
	flip(t, path(st, 4), "f4", "f8")
	if rep, err := trail.Verify(context.Background(), st, pub); !errors.Is(err, trail.ErrBroken) || rep.Break.Seq != 4 || !strings.Contains(rep.Break.Reason, "bad signature") {
		t.Errorf("edited last record: %+v %v", rep.Break, err)
	}
	other, _, _ := ed25519.GenerateKey(nil)
	st2 := newStore(t)
	fill(t, st2, priv, 2)
	if _, err := trail.Verify(context.Background(), st2, other); !errors.Is(err, trail.ErrBroken) {
		t.Errorf("wrong key verified: %v", err)
	}
	st3 := newStore(t)
	fill(t, st3, nil, 2)
	if rep, err := trail.Verify(context.Background(), st3, pub); !errors.Is(err, trail.ErrBroken) || !strings.Contains(rep.Break.Reason, "unsigned") {
		t.Errorf("unsigned trail with a key: %+v %v", rep.Break, err)
	}
}

// TestConcurrentWriters: several writers append at once (each its own
// Writer, as separate processes would); the chain stays one and whole.
func TestConcurrentWriters(t *testing.T) {
	for _, name := range []string{"local", "s3"} {
		t.Run(name, func(t *testing.T) {
			st := storeFor(t, name)
			const writers, each = 4, 25
			var wg sync.WaitGroup
			for range writers {
				wg.Go(func() { fill(t, st, nil, each) })
			}
			wg.Wait()
			rep, err := trail.Verify(context.Background(), st, nil)
			if err != nil || rep.Records != writers*each {
				t.Fatalf("verify: %+v %v", rep, err)
			}
		})
	}
}

func TestList(t *testing.T) {
	st := newStore(t)
	fill(t, st, nil, 6)
	w := trail.NewWriter(st, nil)
	w.Append(context.Background(), trail.KindRejected, trail.Event{Table: "db.t0", Key: "load/db/t/bad.parquet", Reason: "junk"})
	for _, tc := range []struct {
		f    trail.Filter
		want int
	}{
		{trail.Filter{}, 7},
		{trail.Filter{Table: "db.t0"}, 4},
		{trail.Filter{Key: "bad"}, 1},
		{trail.Filter{Kind: trail.KindRejected}, 1},
		{trail.Filter{Since: time.Now().Add(time.Hour)}, 0},
		{trail.Filter{Until: time.Now().Add(time.Hour)}, 7},
	} {
		got, err := trail.List(context.Background(), st, tc.f)
		if err != nil || len(got) != tc.want {
			t.Errorf("List(%+v) = %d records, %v; want %d", tc.f, len(got), err, tc.want)
		}
	}
}
