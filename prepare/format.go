package prepare

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Format is a file format prepare reads.
type Format string

const (
	FormatJSON    Format = "json" // array, one object, or objects one after another (detected)
	FormatNDJSON  Format = "ndjson"
	FormatCSV     Format = "csv"
	FormatTSV     Format = "tsv"
	FormatAvro    Format = "avro"
	FormatParquet Format = "parquet"
	FormatORC     Format = "orc"
)

// Compression of a file, from its last extension or its magic bytes.
type Compression string

const (
	CompressNone Compression = ""
	CompressGzip Compression = "gzip"
	CompressZstd Compression = "zstd"
)

// ErrUnsupported classifies files whose format prepare does not read.
var ErrUnsupported = errors.New("unsupported format")

var extFormats = map[string]Format{
	".json": FormatJSON, ".ndjson": FormatNDJSON, ".jsonl": FormatNDJSON,
	".csv": FormatCSV, ".tsv": FormatTSV, ".tab": FormatTSV,
	".avro": FormatAvro, ".parquet": FormatParquet, ".orc": FormatORC,
}

// detect maps a file name to its format and compression. A bare .gz or
// .zst (no format extension before it) returns format "" and is sniffed
// from the content. Unknown extensions are an error wrapping
// ErrUnsupported with the reason.
func detect(name string) (Format, Compression, error) {
	lower := strings.ToLower(name)
	comp := CompressNone
	switch ext := path.Ext(lower); ext {
	case ".gz", ".gzip":
		comp, lower = CompressGzip, strings.TrimSuffix(lower, ext)
	case ".zst", ".zstd":
		comp, lower = CompressZstd, strings.TrimSuffix(lower, ext)
	}
	ext := path.Ext(lower)
	if f, ok := extFormats[ext]; ok {
		if (f == FormatParquet || f == FormatORC) && comp != CompressNone {
			return "", "", fmt.Errorf("%w: compressed %s (%s): it compresses inside the file; drop it uncompressed", ErrUnsupported, formatNames[f], name)
		}
		return f, comp, nil
	}
	switch {
	case comp != CompressNone && (ext == "" || !isKnownishExt(ext)):
		return "", comp, nil // sniff
	case ext == "":
		return "", "", fmt.Errorf("%w: %s has no extension; name it .json, .ndjson, .jsonl, .csv, .tsv, .avro, .orc or .parquet", ErrUnsupported, name)
	}
	return "", "", fmt.Errorf("%w: %s: unknown extension %s (lagoon reads .json, .ndjson, .jsonl, .csv, .tsv and .avro, each also .gz or .zst, and .orc and .parquet)", ErrUnsupported, name, ext)
}

var formatNames = map[Format]string{FormatParquet: "Parquet", FormatORC: "ORC"}

// isKnownishExt: a bare x.gz whose stem has a dot in it ("report.2024.gz")
// is still sniffed unless that last part looks like a real extension.
func isKnownishExt(ext string) bool {
	return len(ext) >= 2 && len(ext) <= 5 && strings.Trim(ext[1:], "abcdefghijklmnopqrstuvwxyz") == ""
}

// decompress wraps r by comp. The caller closes the result.
func decompress(r io.Reader, comp Compression) (io.ReadCloser, error) {
	switch comp {
	case CompressGzip:
		zr, err := gzip.NewReader(r)
		if errors.Is(err, gzip.ErrHeader) || errors.Is(err, gzip.ErrChecksum) {
			return nil, err // says "gzip: …" itself
		}
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return newReadAhead(zr), nil
	case CompressZstd:
		zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return newReadAhead(zr.IOReadCloser()), nil
	}
	return io.NopCloser(r), nil
}

// sniff guesses the format of decompressed content from its first bytes.
func sniff(br *bufio.Reader) (Format, error) {
	head, _ := br.Peek(4096)
	switch {
	case bytes.HasPrefix(head, []byte("Obj\x01")):
		return FormatAvro, nil
	case bytes.HasPrefix(head, []byte("PAR1")):
		return "", fmt.Errorf("%w: compressed Parquet: drop it uncompressed", ErrUnsupported)
	case bytes.HasPrefix(head, []byte("ORC")):
		return "", fmt.Errorf("%w: compressed ORC: drop it uncompressed", ErrUnsupported)
	}
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(head, []byte{0xEF, 0xBB, 0xBF}), " \t\r\n")
	if len(trimmed) == 0 {
		return "", fmt.Errorf("%w: empty after decompression", ErrUnsupported)
	}
	switch trimmed[0] {
	case '{', '[':
		return FormatJSON, nil
	}
	firstLine, _, _ := bytes.Cut(head, []byte{'\n'})
	if bytes.Count(firstLine, []byte{'\t'}) > bytes.Count(firstLine, []byte{','}) {
		return FormatTSV, nil
	}
	if bytes.IndexByte(firstLine, 0) >= 0 {
		return "", fmt.Errorf("%w: binary content of unknown format", ErrUnsupported)
	}
	return FormatCSV, nil
}
