package pqcompat

import (
	"io"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"

	"github.com/lagoon-dev/lagoon/internal/sysmem"
)

// minPageLimit is the least page limit: arrow-go's own default.
const minPageLimit = 256 << 20

// PageLimit is the largest uncompressed page a reader accepts: a quarter
// of the memory the process may use (its Go memory limit, else its
// cgroup's limit, else the machine's), and at least 256 MiB. A page is
// decoded whole, so this bounds what one hostile page header can make the
// process allocate, while any page a real writer wrote (Parquet pages
// are usually about a megabyte; one of 2^30 one-character strings, as
// parquet-testing's large_string_map holds, is a gigabyte) fits.
func PageLimit() int64 {
	return max(sysmem.Available()/4, minPageLimit)
}

// ReaderProperties returns arrow-go reader properties for a file of size
// bytes: a compressed page may be as large as the file, an uncompressed
// one PageLimit.
func ReaderProperties(alloc memory.Allocator, size int64) *parquet.ReaderProperties {
	p := parquet.NewReaderProperties(alloc)
	p.MaxCompressedPageSize = max(size, 1)
	p.MaxUncompressedPageSize = PageLimit()
	return p
}

// NewReader opens the Parquet file r of size bytes with arrow-go: its
// footer repaired (Open), its pages bounded by ReaderProperties. The
// file's row count is its row groups' (see Repairs.NumRows).
func NewReader(r io.ReaderAt, size int64, alloc memory.Allocator) (*file.Reader, Repairs, error) {
	f, err := Open(r, size)
	if err != nil {
		return nil, Repairs{}, err
	}
	pf, err := file.NewParquetReader(f, file.WithReadProps(ReaderProperties(alloc, f.Size())))
	if err != nil {
		return nil, Repairs{}, err
	}
	return pf, f.Repairs, nil
}
