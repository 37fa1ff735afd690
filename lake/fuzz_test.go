package lake_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/fuzzing"
	"github.com/lagoon-dev/lagoon/lake"
)

var ident = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// FuzzParseKey: any key maps to a table whose names are identifiers and
// whose partition values came from its own path, or is refused; it never
// maps outside its zone (no "..", no empty segment).
func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"prepare/db/t/x.json", "load/Sales/Orders/day=2024-01-01/x.parquet", "prepare/x.json",
		"prepare/db/../t/x", "prepare//t/x", "load/db/t/a=b=c/x.parquet", "prepare/1db/t/x.csv", "prepare/lagoon/t/x.csv",
		"prepare/db/t/\xff.csv", "load/db/t/.hidden.parquet"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		var k lake.Key
		var err error
		fuzzing.Within(t, "ParseKey", func() { k, err = lake.ParseKey(raw) })
		if err != nil {
			return
		}
		if !ident.MatchString(k.Table.DB) || !ident.MatchString(k.Table.Table) {
			t.Fatalf("%q maps to %q", raw, k.Table)
		}
		if strings.Contains(raw, "/../") || strings.Contains(raw, "//") {
			t.Fatalf("%q taken: %+v", raw, k)
		}
	})
}
