// Package lakefixture builds test lakes and Parquet files for lagoon's
// tests: real directories, real Parquet, real catalogs.
package lakefixture

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

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
	var buf bytes.Buffer
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd))
	w, err := pqarrow.NewFileWriter(rec.Schema(), &buf, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		tb.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		tb.Fatal(err)
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

