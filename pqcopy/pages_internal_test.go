package pqcopy

import (
	"bytes"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/lagoon-dev/lagoon/pqcompat"
)

// constantColumn is an optional string column, for chunks made here.
func constantColumn(tb testing.TB) *schema.Column {
	tb.Helper()
	n, err := schema.NewPrimitiveNodeLogical("c", parquet.Repetitions.Optional, schema.StringLogicalType{}, parquet.Types.ByteArray, -1, 1)
	if err != nil {
		tb.Fatal(err)
	}
	root, err := schema.NewGroupNode("schema", parquet.Repetitions.Required, schema.FieldList{n}, -1)
	if err != nil {
		tb.Fatal(err)
	}
	return schema.NewSchema(root).Column(0)
}

// withCRCs gives every page of a chunk a CRC of its body (arrow-go
// writes none).
func withCRCs(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var out []byte
	for len(b) > 0 {
		hdr, n, err := pqcompat.DecodeStruct(b, 0)
		if err != nil {
			tb.Fatal(err)
		}
		size, _ := intField(&hdr, 3)
		body := b[n : n+int(size)]
		hdr.Set(4, pqcompat.I32(int32(crc32.ChecksumIEEE(body))))
		out = append(hdr.Encode(out), body...)
		b = b[n+int(size):]
	}
	return out
}

func TestCopyChunkChecksPages(t *testing.T) {
	raw, _, err := constantChunk(constantColumn(t), []byte("eu-west"), 1000)
	if err != nil {
		t.Fatal(err)
	}
	good := withCRCs(t, raw)
	var out bytes.Buffer
	cp, err := copyChunk(&out, bytes.NewReader(good), int64(len(good)))
	if err != nil || !bytes.Equal(out.Bytes(), good) || cp.values != 1000 || !cp.dictionary || cp.firstData <= 0 {
		t.Fatalf("copy of a good chunk: %+v, %v", cp, err)
	}
	cases := map[string][]byte{
		"a body whose CRC fails": flipLast(good),
		"a chunk cut short":      good[:len(good)-1],
		"a chunk with a tail":    append(append([]byte{}, good...), 0, 0, 0),
		"no data page":           good[:firstPageLen(t, good)],
		"garbage":                []byte("not a page header at all"),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			length := int64(len(b))
			if name == "a chunk with a tail" {
				length = int64(len(b)) // the pages do not fill it
			}
			_, err := copyChunk(&bytes.Buffer{}, bytes.NewReader(b), length)
			if !errors.Is(err, ErrUnfit) {
				t.Fatalf("got %v, want ErrUnfit", err)
			}
		})
	}
}

func flipLast(b []byte) []byte {
	out := append([]byte{}, b...)
	out[len(out)-1] ^= 1
	return out
}

func firstPageLen(tb testing.TB, b []byte) int {
	tb.Helper()
	hdr, n, err := pqcompat.DecodeStruct(b, 0)
	if err != nil {
		tb.Fatal(err)
	}
	size, _ := intField(&hdr, 3)
	return n + int(size)
}

// FuzzCopyChunk: page headers are outside bytes. Whatever they hold, the
// copy never panics, and a chunk it takes is copied whole, its pages
// filling it exactly.
func FuzzCopyChunk(f *testing.F) {
	raw, _, err := constantChunk(constantColumn(f), []byte("x"), 3)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add(withCRCs(f, raw))
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		cp, err := copyChunk(&out, bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if !bytes.Equal(out.Bytes(), b) || cp.uncompressed < 0 || cp.firstData < 0 {
			t.Fatalf("took a chunk and copied %d of its %d bytes (%+v)", out.Len(), len(b), cp)
		}
	})
}
