package lake_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
)

// TestStores runs the same contract checks on every Store.
func TestStores(t *testing.T) {
	t.Run("local", func(t *testing.T) {
		st, err := lake.NewLocal(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		storeContract(t, st)
	})
	t.Run("s3", func(t *testing.T) {
		lakefixture.Moto(t)
		lakefixture.Bucket(t, lakefixture.S3Client(t), "store-test")
		cfg, err := awsconfig.LoadDefaultConfig(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		st, err := lake.NewS3(cfg, "s3://store-test/some/prefix", true)
		if err != nil {
			t.Fatal(err)
		}
		storeContract(t, st)
		if got := st.URL("load/x"); got != "s3://store-test/some/prefix/load/x" {
			t.Errorf("URL = %s", got)
		}
	})
}

func storeContract(t *testing.T, st lake.Store) {
	swapContract(t, st.(lake.Swapper), st)
	unsyncedContract(t, st)
	ctx := context.Background()
	if _, err := st.Stat(ctx, "nope"); !errors.Is(err, lake.ErrNotExist) {
		t.Errorf("Stat of a missing key: %v", err)
	}
	if err := st.Put(ctx, "a/b/c.txt", strings.NewReader("hello")); err != nil {
		t.Fatal(err)
	}
	info, err := st.Stat(ctx, "a/b/c.txt")
	if err != nil || info.Size != 5 || info.Version == "" {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
	if err := st.PutIfAbsent(ctx, "a/b/c.txt", strings.NewReader("again")); !errors.Is(err, lake.ErrExist) {
		t.Errorf("PutIfAbsent on a taken key: %v", err)
	}
	if err := st.PutIfAbsent(ctx, "a/b/new.txt", strings.NewReader("x")); err != nil {
		t.Errorf("PutIfAbsent on a free key: %v", err)
	}
	if err := st.Put(ctx, "a/b/c.txt", strings.NewReader("hello, again")); err != nil {
		t.Fatal(err)
	}
	if again, _ := st.Stat(ctx, "a/b/c.txt"); again.Version == info.Version {
		t.Errorf("Version did not change on rewrite: %s", again.Version)
	}

	// A large streamed object (several multipart parts on S3), read back
	// sequentially, by ranges, and after seeks.
	big := make([]byte, 12<<20+12345)
	rand.Read(big)
	w, err := st.Create(ctx, "big/blob.bin")
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(big); off += 1 << 20 {
		if _, err := w.Write(big[off:min(off+1<<20, len(big))]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Stat(ctx, "big/blob.bin"); !errors.Is(err, lake.ErrNotExist) {
		t.Errorf("object visible before Close: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	obj, err := st.Open(ctx, "big/blob.bin")
	if err != nil {
		t.Fatal(err)
	}
	all, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(all, big) || obj.Size() != int64(len(big)) {
		t.Fatalf("ReadAll: %d bytes, %v", len(all), err)
	}
	part := make([]byte, 1000)
	if n, err := obj.ReadAt(part, 5_000_000); err != nil || n != 1000 || !bytes.Equal(part, big[5_000_000:5_001_000]) {
		t.Errorf("ReadAt: %d, %v", n, err)
	}
	if _, err := obj.Seek(-10, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	tail, _ := io.ReadAll(obj)
	if !bytes.Equal(tail, big[len(big)-10:]) {
		t.Errorf("read after Seek: %x", tail)
	}
	obj.Close()

	aborted, err := st.Create(ctx, "big/aborted.bin")
	if err != nil {
		t.Fatal(err)
	}
	aborted.Write([]byte("partial"))
	if err := aborted.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stat(ctx, "big/aborted.bin"); !errors.Is(err, lake.ErrNotExist) {
		t.Errorf("aborted object exists: %v", err)
	}

	if err := st.Rename(ctx, "a/b/c.txt", "moved/c d+é.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stat(ctx, "a/b/c.txt"); !errors.Is(err, lake.ErrNotExist) {
		t.Errorf("source after Rename: %v", err)
	}
	// A copy renamed back onto its source (a recovery redoing a publish
	// whose copy was done): the old name goes, the content stays.
	if err := st.Copy(ctx, "moved/c d+é.txt", "tmp/c.copy"); err != nil {
		t.Fatal(err)
	}
	if err := st.Rename(ctx, "tmp/c.copy", "moved/c d+é.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stat(ctx, "tmp/c.copy"); !errors.Is(err, lake.ErrNotExist) {
		t.Errorf("copy's name after renaming it onto its source: %v", err)
	}
	if _, err := st.Stat(ctx, "moved/c d+é.txt"); err != nil {
		t.Errorf("source after a copy was renamed onto it: %v", err)
	}
	var keys []string
	for info, err := range st.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		if !lake.Ignored(info.Key) {
			keys = append(keys, info.Key)
		}
	}
	slices.Sort(keys)
	want := []string{"a/b/new.txt", "big/blob.bin", "moved/c d+é.txt"}
	if !slices.Equal(keys, want) {
		t.Errorf("List = %v, want %v", keys, want)
	}
	if err := st.Delete(ctx, "moved/c d+é.txt"); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, "moved/c d+é.txt"); err != nil {
		t.Errorf("Delete of a missing key: %v", err)
	}
}

// swapContract: PutIfVersion is a compare-and-swap — of several writers
// that read the same version, exactly one replaces it.
func swapContract(t *testing.T, sw lake.Swapper, st lake.Store) {
	t.Helper()
	ctx := context.Background()
	v1, err := sw.PutIfVersion(ctx, "swap/k", "", strings.NewReader("one"))
	if err != nil || v1 == "" {
		t.Fatalf("create: %q, %v", v1, err)
	}
	if _, err := sw.PutIfVersion(ctx, "swap/k", "", strings.NewReader("x")); !errors.Is(err, lake.ErrChanged) {
		t.Errorf("create over an object: %v, want ErrChanged", err)
	}
	if _, err := sw.PutIfVersion(ctx, "swap/missing", "some-version", strings.NewReader("x")); !errors.Is(err, lake.ErrChanged) {
		t.Errorf("swap of a missing object: %v, want ErrChanged", err)
	}
	v2, err := sw.PutIfVersion(ctx, "swap/k", v1, strings.NewReader("two!"))
	if info, _ := st.Stat(ctx, "swap/k"); err != nil || v2 != info.Version || v2 == v1 {
		t.Fatalf("swap: %q (stat %q), %v", v2, info.Version, err)
	}
	if _, err := sw.PutIfVersion(ctx, "swap/k", v1, strings.NewReader("three")); !errors.Is(err, lake.ErrChanged) {
		t.Errorf("swap from an old version: %v, want ErrChanged", err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := sw.PutIfVersion(ctx, "swap/k", v2, strings.NewReader(fmt.Sprintf("writer %d", i))); err == nil {
				wins.Add(1)
			} else if !errors.Is(err, lake.ErrChanged) {
				t.Errorf("writer %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d writers replaced the same version, want 1", wins.Load())
	}
	if err := st.Delete(ctx, "swap/k"); err != nil {
		t.Fatal(err)
	}
}

// unsyncedContract: PutJSONUnsynced stores and replaces like PutJSON,
// whether the store has UnsyncedPutter (local) or not (S3).
func unsyncedContract(t *testing.T, st lake.Store) {
	t.Helper()
	ctx := context.Background()
	for _, want := range []string{"first", "second"} {
		if err := lake.PutJSONUnsynced(ctx, st, "idx/entry.json", want); err != nil {
			t.Fatal(err)
		}
		var got string
		if err := lake.GetJSON(ctx, st, "idx/entry.json", &got); err != nil || got != want {
			t.Fatalf("after an unsynced put of %q: %q, %v", want, got, err)
		}
	}
	for info, err := range st.List(ctx, "idx/") {
		if err != nil || info.Key != "idx/entry.json" {
			t.Errorf("an unsynced put left %+v, %v", info, err)
		}
	}
	if err := st.Delete(ctx, "idx/entry.json"); err != nil {
		t.Fatal(err)
	}
}

// TestDedupeTornEntryIsAbsent: an entry of the content index that a
// power failure left empty or cut (its put is unsynced) reads as not
// seen, and a note puts it right.
func TestDedupeTornEntryIsAbsent(t *testing.T) {
	st, err := lake.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d := lake.Dedupe{Store: st, Window: time.Hour}
	ref := lake.TableRef{DB: "db", Table: "t"}
	sha := strings.Repeat("ab", 32)
	for _, torn := range []string{"", `{"key":"load/db/t/a.parquet","sha2`} {
		if err := st.Put(ctx, lake.TakenPrefix+"db.t/"+sha+".json", strings.NewReader(torn)); err != nil {
			t.Fatal(err)
		}
		if _, seen, err := d.Seen(ctx, ref, sha); seen || err != nil {
			t.Fatalf("torn entry %q: seen %v, %v", torn, seen, err)
		}
	}
	if err := d.Note(ctx, ref, lake.Taken{Key: "load/db/t/a.parquet", SHA256: sha}); err != nil {
		t.Fatal(err)
	}
	if got, seen, err := d.Seen(ctx, ref, sha); !seen || err != nil || got.Key != "load/db/t/a.parquet" {
		t.Fatalf("after a note: %+v, %v, %v", got, seen, err)
	}
}
