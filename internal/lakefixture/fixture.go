// Package lakefixture builds test lakes and Parquet files for lagoon's
// tests: real directories, real Parquet, real catalogs.
package lakefixture

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/lake"
)

// Open initialises and opens a lake in a fresh temp directory.
func Open(tb testing.TB) *lake.Lake {
	tb.Helper()
	return OpenAt(tb, tb.TempDir())
}

// OpenAt initialises and opens the lake at dir; it is closed at cleanup.
func OpenAt(tb testing.TB, dir string) *lake.Lake {
	tb.Helper()
	ctx := context.Background()
	cfg := lake.Config{Root: dir}
	if err := lake.Init(ctx, cfg); err != nil {
		tb.Fatal(err)
	}
	l, err := lake.Open(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

// Root returns the directory of a local lake.
func Root(l *lake.Lake) string { return l.Store.(*lake.Local).Root() }

// ParquetBytes encodes rec as a Parquet file (zstd, one row group).
func ParquetBytes(tb testing.TB, rec arrow.RecordBatch) []byte {
	tb.Helper()
	return ParquetWithMetadata(tb, rec, nil)
}

// ParquetWithMetadata is ParquetBytes with key-value metadata kv in the
// footer (as prepare writes its outputs' origins).
func ParquetWithMetadata(tb testing.TB, rec arrow.RecordBatch, kv map[string]string) []byte {
	tb.Helper()
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd))
	w, err := pqarrow.NewFileWriter(rec.Schema(), &buf, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		tb.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		tb.Fatal(err)
	}
	for k, v := range kv {
		if err := w.AppendKeyValueMetadata(k, v); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// Drop writes body under key in the lake atomically (temp name, rename),
// as a well-behaved user would, with an mtime old enough to be settled.
func Drop(tb testing.TB, l *lake.Lake, key string, body []byte) {
	tb.Helper()
	p := filepath.Join(Root(l), filepath.FromSlash(key))
	DropFile(tb, p, body)
}

// DropFile writes body to path via a dot-named temp file and a rename, and
// backdates its mtime by a minute so it counts as settled.
func DropFile(tb testing.TB, path string, body []byte) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, body, 0o644); err != nil {
		tb.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(tmp, old, old); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

// Ints builds a record with int64 column id = from..from+n-1 and a string
// column name = "n<id>".
func Ints(from, n int) arrow.RecordBatch {
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	for i := from; i < from+n; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append("n" + strconv.Itoa(i))
	}
	return b.NewRecordBatch()
}

// Record builds a record of schema sc from a JSON array of row objects.
func Record(tb testing.TB, sc *arrow.Schema, rows string) arrow.RecordBatch {
	tb.Helper()
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, sc, strings.NewReader(rows))
	if err != nil {
		tb.Fatalf("record from %s: %v", rows, err)
	}
	return rec
}

// Schema builds a schema of nullable fields from name/type pairs.
func Schema(pairs ...any) *arrow.Schema {
	fields := make([]arrow.Field, 0, len(pairs)/2)
	for i := 0; i < len(pairs); i += 2 {
		fields = append(fields, arrow.Field{Name: pairs[i].(string), Type: pairs[i+1].(arrow.DataType), Nullable: true})
	}
	return arrow.NewSchema(fields, nil)
}

// Parquet encodes rows (JSON) of schema sc as a Parquet file.
func Parquet(tb testing.TB, sc *arrow.Schema, rows string) []byte {
	tb.Helper()
	rec := Record(tb, sc, rows)
	defer rec.Release()
	return ParquetBytes(tb, rec)
}

// Exists reports whether key exists in a local lake.
func Exists(l *lake.Lake, key string) bool {
	_, err := os.Stat(filepath.Join(Root(l), filepath.FromSlash(key)))
	return err == nil
}

// Table loads table name ("db.table") of l.
func Table(tb testing.TB, l *lake.Lake, name string) *table.Table {
	tb.Helper()
	ref, err := lake.ParseTableRef(name)
	if err != nil {
		tb.Fatal(err)
	}
	tbl, err := l.LoadTable(context.Background(), ref)
	if err != nil {
		tb.Fatal(err)
	}
	return tbl
}

// Rows reads a table's rows as JSON objects (column name → value), sorted
// by their JSON text, without _etl_loaded_at.
func Rows(tb testing.TB, l *lake.Lake, name string) []map[string]any {
	tb.Helper()
	ctx := context.Background()
	tbl := Table(tb, l, name)
	data, err := lake.ReadTable(ctx, tbl, -1)
	if err != nil {
		tb.Fatal(err)
	}
	defer data.Release()
	var out []map[string]any
	tr := array.NewTableReader(data, 1024)
	defer tr.Release()
	for tr.Next() {
		st := array.RecordToStructArray(tr.RecordBatch())
		for i := range st.Len() {
			b, err := json.Marshal(st.GetOneForMarshal(i))
			if err != nil {
				tb.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				tb.Fatal(err)
			}
			delete(m, "_etl_loaded_at")
			out = append(out, m)
		}
		st.Release()
	}
	slices.SortFunc(out, func(a, b map[string]any) int {
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		return strings.Compare(string(ja), string(jb))
	})
	return out
}

// AssertNoOrphans checks that every data file under a table's data/
// folder is one a snapshot of it lists (the current one, or an older one
// kept for time travel: a compaction's inputs stay until their snapshots
// expire).
func AssertNoOrphans(tb testing.TB, l *lake.Lake, ref lake.TableRef) {
	tb.Helper()
	ctx := context.Background()
	tbl, err := l.LoadTable(ctx, ref)
	if err != nil {
		tb.Fatal(err)
	}
	want := map[string]bool{}
	for _, snap := range tbl.Metadata().Snapshots() {
		tasks, err := tbl.Scan(table.WithSnapshotID(snap.SnapshotID)).PlanFiles(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		for _, t := range tasks {
			want[t.File.FilePath()] = true
		}
	}
	var orphans []string
	for info, err := range l.Store.List(ctx, ref.Dir(lake.PrefixStg)+"data/") {
		if err != nil {
			tb.Fatal(err)
		}
		if !want[l.Store.URL(info.Key)] {
			orphans = append(orphans, info.Key)
		}
	}
	if len(orphans) > 0 {
		tb.Errorf("%d orphan data files in %s: %v", len(orphans), ref, orphans)
	}
}

// CreateTable creates an empty table of the lake's catalog under stg/ with
// the columns of sc, as the loader would from a first file.
func CreateTable(tb testing.TB, l *lake.Lake, name string, sc *arrow.Schema) {
	tb.Helper()
	ref, err := lake.ParseTableRef(name)
	if err != nil {
		tb.Fatal(err)
	}
	isc, err := table.ArrowSchemaToIcebergWithFreshIDs(sc, false)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	if err := l.Catalog.CreateNamespace(ctx, table.Identifier{ref.DB}, nil); err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
		tb.Fatal(err)
	}
	loc := strings.TrimSuffix(l.Store.URL(ref.Dir(lake.PrefixStg)), "/")
	if _, err := l.Catalog.CreateTable(ctx, ref.Ident(), isc, catalog.WithLocation(loc)); err != nil {
		tb.Fatal(err)
	}
}

// Junk is n bytes of deterministic noise (xorshift from seed; 0 picks a
// fixed seed): binary content for bad-file tests.
func Junk(seed uint32, n int) []byte {
	if seed == 0 {
		seed = 2463534242
	}
	b := make([]byte, n)
	for i := range b {
		seed ^= seed << 13
		seed ^= seed >> 17
		seed ^= seed << 5
		b[i] = byte(seed)
	}
	return b
}

// TreeDigest hashes every file under dir, its path and bytes (SQLite's
// -wal and -shm files left out: a reader's open changes them): equal
// digests, an unchanged tree.
func TreeDigest(tb testing.TB, dir string) [32]byte {
	tb.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "-wal") || strings.HasSuffix(p, "-shm") {
			return err
		}
		b, err := os.ReadFile(p)
		h.Write([]byte(p))
		h.Write(b)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// Blobs builds n rows (id from, from+1, …; blob 96 random hex
// characters, seeded by from): about 50 bytes a row once compressed, so
// that a file of 25,000 rows has a row group over a megabyte (loaded by
// copying its chunks, see loader.Config.CopyRowGroupBytes).
func Blobs(from, n int) arrow.RecordBatch {
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "blob", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer b.Release()
	rng := rand.New(rand.NewPCG(uint64(from), 7))
	buf := make([]byte, 48)
	for i := from; i < from+n; i++ {
		for j := range buf {
			buf[j] = byte(rng.Uint32())
		}
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		b.Field(1).(*array.StringBuilder).Append(hex.EncodeToString(buf))
	}
	return b.NewRecordBatch()
}
