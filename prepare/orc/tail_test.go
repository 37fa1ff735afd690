package orc_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/orccraft"

	"github.com/lagoon-dev/lagoon/internal/fuzzing"
	"github.com/lagoon-dev/lagoon/prepare/orc"
)

const corpus = "../../testdata/orc"

// openCorpus opens corpus file name; it is closed with the test.
func openCorpus(tb testing.TB, name string) *orc.File {
	tb.Helper()
	return orccraft.OpenFile(tb, filepath.Join(corpus, name))
}

// expectedLines are the rows the ORC project's reader prints for corpus
// file name, one JSON line each.
func expectedLines(tb testing.TB, name string) []string {
	tb.Helper()
	return orccraft.ExpectedLines(tb, filepath.Join(corpus, "expected", strings.TrimSuffix(name, ".orc")+".jsn.gz"))
}

// expectedRows counts name's expected rows (-1: none are kept).
func expectedRows(tb testing.TB, name string) int {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(corpus, "expected", strings.TrimSuffix(name, ".orc")+".jsn.gz")); err != nil {
		return -1
	}
	return len(expectedLines(tb, name))
}

// TestOpenCorpus: every file of the ORC project's examples opens, with the
// row count its expected rows have.
func TestOpenCorpus(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(corpus, "*.orc"))
	if len(paths) == 0 {
		t.Fatal("no ORC corpus")
	}
	for _, p := range paths {
		name := filepath.Base(p)
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		of, err := orc.Open(f, st.Size())
		f.Close()
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if want := expectedRows(t, name); want >= 0 && of.Footer.Rows != uint64(want) {
			t.Errorf("%s: %d rows, want %d", name, of.Footer.Rows, want)
		}
		if len(of.Footer.Types) == 0 {
			t.Errorf("%s: no types", name) // a root may be a struct or, as testTimestamp's, one primitive column
		}
	}
}

// FuzzOpen: any bytes open or fail with ErrCorrupt or ErrUnsupported,
// within budget.
func FuzzOpen(f *testing.F) {
	fuzzing.SeedFiles(f, filepath.Join(corpus, "*.orc"), filepath.Join(corpus, "corrupt", "*"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzing.MaxInput {
			return
		}
		fuzzing.Within(t, "Open", func() {
			_, err := orc.Open(strings.NewReader(string(b)), int64(len(b)))
			if err != nil && !errors.Is(err, orc.ErrCorrupt) && !errors.Is(err, orc.ErrUnsupported) {
				t.Fatalf("error is neither ErrCorrupt nor ErrUnsupported: %v", err)
			}
		})
	})
}

// TestStripeFootersOfCorpus: every stripe footer of the corpus parses and
// places its streams within its stripe, a column encoding per column.
func TestStripeFootersOfCorpus(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(corpus, "*.orc"))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		of, err := orc.Open(f, st.Size())
		if err != nil {
			t.Fatal(err)
		}
		if n, err := orc.CheckStripes(of); err != nil || n != len(of.Footer.Stripes) {
			t.Errorf("%s: %d stripes read: %v", filepath.Base(p), n, err)
		}
		f.Close()
	}
}
