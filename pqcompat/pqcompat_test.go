package pqcompat_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/pierrec/lz4/v4"

	"github.com/lagoon-dev/lagoon/internal/fuzzing"
	"github.com/lagoon-dev/lagoon/internal/pqcraft"
	"github.com/lagoon-dev/lagoon/pqcompat"
)

func corpus(tb testing.TB) map[string][]byte {
	tb.Helper()
	paths, err := filepath.Glob("../testdata/parquet-testing/*.parquet")
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no corpus: %v", err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

func footerOf(b []byte) []byte {
	n := binary.LittleEndian.Uint32(b[len(b)-8:])
	return b[len(b)-8-int(n) : len(b)-8]
}

// TestThriftRoundTrip: every footer of the corpus, from many writers,
// decodes and encodes back to its very bytes, whole and with its
// containers kept raw.
func TestThriftRoundTrip(t *testing.T) {
	for name, b := range corpus(t) {
		meta := footerOf(b)
		for _, limit := range []int{0, 1, 3} {
			v, n, err := pqcompat.DecodeStruct(meta, limit)
			if err != nil || n != len(meta) {
				t.Fatalf("%s (limit %d): decoded %d of %d bytes: %v", name, limit, n, len(meta), err)
			}
			if out := v.Encode(nil); !bytes.Equal(out, meta) {
				t.Errorf("%s (limit %d): re-encoded footer differs", name, limit)
			}
		}
	}
}

// TestThriftRejectsHostileLengths: a length past the input is an error,
// not an allocation.
func TestThriftRejectsHostileLengths(t *testing.T) {
	for _, b := range [][]byte{
		{0x19, 0xfc, 0xff, 0xff, 0xff, 0x0f}, // field 1: a list of 2^32 structs
		{0x18, 0xff, 0xff, 0xff, 0xff, 0x0f}, // field 1: a binary of 2^32 bytes
		{0x1c},                               // a struct cut short
		slices.Repeat([]byte{0x1c}, 100),     // nested past the depth limit
	} {
		if _, _, err := pqcompat.DecodeStruct(b, 0); err == nil {
			t.Errorf("% x: decoded", b)
		}
	}
}

// TestOpenLeavesGoodFilesAlone: files no repair applies to read back as
// they are.
func TestOpenLeavesGoodFilesAlone(t *testing.T) {
	for name, b := range corpus(t) {
		f, err := pqcompat.Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "repeated_no_annotation.parquet" {
			if !f.Repairs.NumRows {
				t.Errorf("%s: its row count of 0 was not repaired", name)
			}
			continue
		}
		got, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
		if err != nil || !bytes.Equal(got, b) || f.Repairs.Changed() {
			t.Errorf("%s: read %d bytes (%v), repairs %+v: want the file as it is", name, len(got), err, f.Repairs)
		}
	}
}

// TestOpenRepairs: what each repair changes, said in Repairs.
func TestOpenRepairs(t *testing.T) {
	unknown := pqcompat.Struct(pqcompat.Field{ID: 100, Value: pqcompat.Struct()})
	f := pqcraft.File{NumRows: 1, FileRows: ptr(int64(0)), Schema: []pqcraft.Node{
		{Name: "u", Type: pqcraft.Int32, Rep: pqcraft.Optional, Converted: pqcraft.None, Logical: &unknown},
		{Name: "c", Type: pqcraft.Int32, Rep: pqcraft.Optional, Converted: 99},
		pqcraft.GroupOf("m", pqcraft.Optional, pqcraft.GroupOf("key_value", pqcraft.Repeated,
			pqcraft.Leaf("key", pqcraft.Int32, pqcraft.Optional),
			pqcraft.Leaf("value", pqcraft.Int32, pqcraft.Optional))).Annotated(pqcraft.Map),
	}, Columns: []pqcraft.Column{
		{Pages: []pqcraft.Page{{Def: []int{0}, MaxDef: 1}}},
		{Pages: []pqcraft.Page{{Def: []int{0}, MaxDef: 1}}},
		{Pages: []pqcraft.Page{{Rep: []int{0}, Def: []int{0}, MaxRep: 1, MaxDef: 3}}},
		{Pages: []pqcraft.Page{{Rep: []int{0}, Def: []int{0}, MaxRep: 1, MaxDef: 3}}},
	}}
	b, err := pqcraft.Write(f)
	if err != nil {
		t.Fatal(err)
	}
	pf, rep, err := pqcompat.NewReader(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := pqcompat.Repairs{UnknownTypes: []string{"u", "c"}, NumRows: true, MapsAsLists: []string{"m"}}
	if !slices.Equal(rep.UnknownTypes, want.UnknownTypes) || !rep.NumRows || !slices.Equal(rep.MapsAsLists, want.MapsAsLists) {
		t.Errorf("repairs = %+v, want %+v", rep, want)
	}
	if pf.NumRows() != 1 {
		t.Errorf("rows = %d, want the row group's 1", pf.NumRows())
	}
	// repaired once, nothing is left to repair
	again, err := pqcompat.Open(bytes.NewReader(repaired(t, b)), int64(len(repaired(t, b))))
	if err != nil || again.Repairs.Changed() {
		t.Errorf("second open: %v, repairs %+v", err, again.Repairs)
	}
}

func repaired(tb testing.TB, b []byte) []byte {
	tb.Helper()
	f, err := pqcompat.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		tb.Fatal(err)
	}
	out, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// TestOpenRefusesNonParquet: too short, no magic, a footer longer than
// the file.
func TestOpenRefusesNonParquet(t *testing.T) {
	long := append(make([]byte, 8), 0xff, 0xff, 0, 0, 'P', 'A', 'R', '1')
	for _, b := range [][]byte{nil, []byte("PAR1PAR1"), bytes.Repeat([]byte("x"), 100), long} {
		if _, err := pqcompat.Open(bytes.NewReader(b), int64(len(b))); !errors.Is(err, pqcompat.ErrNotParquet) {
			t.Errorf("% x: err = %v, want ErrNotParquet", b, err)
		}
	}
}

// TestDecodeLZ4Framings: the three framings writers used decode to the
// same bytes; a body that fits none is an error, never a panic.
func TestDecodeLZ4Framings(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	src := make([]byte, 100_000)
	for i := range src {
		src[i] = byte('a' + rng.IntN(4))
	}
	codec, err := compress.GetCodec(compress.Codecs.Lz4)
	if err != nil {
		t.Fatal(err)
	}
	bodies := map[string][]byte{"hadoop": codec.Encode(nil, src), "block": block(t, src), "frame": frame(t, src)}
	for name, body := range bodies {
		got, err := pqcompat.DecodeLZ4(make([]byte, len(src)), body)
		if err != nil || !bytes.Equal(got, src) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := pqcompat.DecodeLZ4(make([]byte, len(src)+1), body); err == nil {
			t.Errorf("%s: decoded into the wrong size", name)
		}
		if _, err := pqcompat.DecodeLZ4(make([]byte, len(src)), body[:len(body)/2]); err == nil {
			t.Errorf("%s: decoded half a body", name)
		}
	}
}

func block(tb testing.TB, src []byte) []byte {
	out := make([]byte, lz4.CompressBlockBound(len(src)))
	var c lz4.Compressor
	n, err := c.CompressBlock(src, out)
	if err != nil {
		tb.Fatal(err)
	}
	return out[:n]
}

func frame(tb testing.TB, src []byte) []byte {
	var buf bytes.Buffer
	w := lz4.NewWriter(&buf)
	if _, err := w.Write(src); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// TestEmptyBodyDecodesToNothing: under every codec, an empty body is an
// empty page (a V2 page of nulls), not a corrupt stream.
func TestEmptyBodyDecodesToNothing(t *testing.T) {
	for _, c := range []compress.Compression{compress.Codecs.Snappy, compress.Codecs.Gzip,
		compress.Codecs.Brotli, compress.Codecs.Zstd, compress.Codecs.Lz4Raw, compress.Codecs.Lz4} {
		codec, err := compress.GetCodec(c)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := compress.Decode(codec, make([]byte, 0, 8), nil); err != nil || len(out) != 0 {
			t.Errorf("%s: %d bytes, %v", c, len(out), err)
		}
	}
}

// TestPageLimitFollowsMemory: a quarter of the memory the process may use,
// never under arrow-go's 256 MiB.
func TestPageLimitFollowsMemory(t *testing.T) {
	old := debug.SetMemoryLimit(8 << 30)
	defer debug.SetMemoryLimit(old)
	if got := pqcompat.PageLimit(); got != 2<<30 {
		t.Errorf("limit with 8 GiB = %d, want 2 GiB", got)
	}
	debug.SetMemoryLimit(512 << 20)
	if got := pqcompat.PageLimit(); got != 256<<20 {
		t.Errorf("limit with 512 MiB = %d, want 256 MiB", got)
	}
}

// FuzzOpen: on any bytes Open returns a file or an error; a repaired
// footer decodes again and needs no second repair.
func FuzzOpen(f *testing.F) {
	fuzzing.SeedFiles(f, "../testdata/parquet-testing/*.parquet", "../testdata/hostile-footers/*.parquet")
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzing.MaxInput {
			return
		}
		var file *pqcompat.File
		var err error
		fuzzing.Within(t, "Open", func() { file, err = pqcompat.Open(bytes.NewReader(b), int64(len(b))) })
		if err != nil || !file.Repairs.Changed() {
			return
		}
		out, err := io.ReadAll(io.NewSectionReader(file, 0, file.Size()))
		if err != nil {
			t.Fatal(err)
		}
		again, err := pqcompat.Open(bytes.NewReader(out), int64(len(out)))
		if err != nil || again.Repairs.Changed() {
			t.Fatalf("repaired file: %v, repairs again %+v", err, again.Repairs)
		}
	})
}

// FuzzDecodeLZ4: any body and size decode or fail, within budget.
func FuzzDecodeLZ4(f *testing.F) {
	codec, _ := compress.GetCodec(compress.Codecs.Lz4)
	for _, s := range []string{"", "a", "hello hello hello hello"} {
		f.Add(codec.Encode(nil, []byte(s)), uint16(len(s)))
		f.Add(block(f, []byte(s)), uint16(len(s)))
		f.Add(frame(f, []byte(s)), uint16(len(s)))
	}
	f.Fuzz(func(t *testing.T, body []byte, size uint16) {
		fuzzing.Within(t, "DecodeLZ4", func() {
			out, err := pqcompat.DecodeLZ4(make([]byte, size), body)
			if err == nil && len(out) != int(size) {
				t.Fatalf("decoded %d bytes, want %d", len(out), size)
			}
		})
	})
}

// FuzzThrift: a value that decodes encodes to bytes that decode to the
// same value.
func FuzzThrift(f *testing.F) {
	for _, b := range corpus(f) {
		f.Add(footerOf(b))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, n, err := pqcompat.DecodeStruct(b, 0)
		if err != nil {
			return
		}
		out := v.Encode(nil)
		w, m, err := pqcompat.DecodeStruct(out, 0)
		if err != nil || m != len(out) {
			t.Fatalf("re-decode of %d bytes (from %d): %v", len(out), n, err)
		}
		if !bytes.Equal(w.Encode(nil), out) {
			t.Fatal("encoding is not stable")
		}
	})
}
