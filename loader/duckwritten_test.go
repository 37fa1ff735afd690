package loader_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
)

// TestDuckDBWrittenTypes: a file DuckDB writes with every type it has that
// Parquet can carry loads with the values DuckDB reads in it, each type
// mapped as docs/loader.md says.
func TestDuckDBWrittenTypes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "all.parquet")
	lakefixture.DuckDB(t, `COPY (SELECT 1::TINYINT a, 2::SMALLINT b, 3::INTEGER c, 4::BIGINT d,
		5::UTINYINT e, 6::USMALLINT f, 7::UINTEGER g, 18446744073709551615::UBIGINT h, 1.5::FLOAT j, 2.5::DOUBLE k,
		12.345::DECIMAL(5,3) l, 123456789012345678.1234::DECIMAL(22,4) m, 'x' n, 'ab'::BLOB o,
		DATE '2024-01-02' p, TIME '12:34:56.789' q, TIMESTAMP '2024-01-02 03:04:05.123456' r,
		TIMESTAMPTZ '2024-01-02 03:04:05.123456+00' s, TIMESTAMP_NS '2024-01-02 03:04:05.123456' t,
		TIMESTAMP_MS '2024-01-02 03:04:05.123' u, TIMESTAMP_S '2024-01-02 03:04:05' v,
		INTERVAL '1 month 2 days 3 milliseconds' w, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID x, [1, NULL] y,
		{'a': 1, 'b': 'z'} z, MAP {'k': 1} aa, true bb, 'sad'::ENUM('sad', 'ok') cc,
		TIMETZ '12:34:56+01' dd, [[1], [2, 3]] ee, '{"a":1}'::JSON ff, [1, 2, 3]::INTEGER[3] gg,
		'0101'::BIT hh
		UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
		NULL, NULL, NULL) TO `+lakefixture.DuckQuote(path))
	l := lakefixture.Open(t)
	lakefixture.DropFile(t, filepath.Join(lakefixture.Root(l), "load/db/t/all.parquet"), readFile(t, path))
	if res := loadAll(t, newLoader(t, l)); res.Files != 1 || res.Rows != 2 {
		t.Fatalf("result = %+v", res)
	}
	want := "a:int b:int c:int d:long e:int f:int g:long h:decimal(20, 0) j:float k:double " +
		"l:decimal(5, 3) m:decimal(22, 4) n:string o:binary p:date q:time r:timestamp s:timestamptz " +
		"t:timestamp u:timestamp v:timestamp w:struct<"
	if got := schemaString(t, l); !strings.HasPrefix(got, want) {
		t.Errorf("schema = %s\nwant prefix %s", got, want)
	}
	assertSameAsDuckDB(t, l, path)
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
