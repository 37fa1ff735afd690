package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
)

// TestPIINeverLandsInTheClear: a contract's pii columns are hashed (HMAC-
// SHA-256 under the lake's key), masked or dropped before any byte is
// written: no file under the lake — table data, rejects, trail, logs —
// holds a clear value, a bad record's raw text is withheld, and hashed
// values still join (equal values, equal hashes). Without a key the table
// stops instead of writing anything.
func TestPIINeverLandsInTheClear(t *testing.T) {
	const key = "0123456789abcdef-test-key"
	root := t.TempDir()
	lakefixture.DropFile(t, filepath.Join(root, "assets/lagoon/tables/crm/people.yaml"), []byte("columns:\n  id: long\n  salary: long\npii:\n  email: hash\n  phone: mask\n  ssn: drop\n  salary: mask\n"))
	src := `{"id":1,"email":"alice@example.com","phone":"555-123-4567","ssn":"078-05-1120"}
{"id":2,"email":"alice@example.com","phone":"555-765-4321","ssn":"219-09-9999"}
{"id":"three","email":"bob@example.org","phone":"555-000-1111","ssn":"457-55-5462"}
{"id":4,"email":"carol@example.net","salary":"secret-99999"}
`
	drop := func() {
		lakefixture.DropFile(t, filepath.Join(root, "prepare/crm/people/p.ndjson"), []byte(src))
	}
	drop()
	t.Setenv("LAGOON_PII_KEY", "")
	if code, _, errOut := lagoon(t, "run", "--root", root, "--once", "--settle", "0"); code != exitError || !strings.Contains(errOut, "no key is set") {
		t.Fatalf("without a key: exit %d, %s", code, errOut)
	}
	t.Setenv("LAGOON_PII_KEY", key)
	runOnce(t, root, exitRejected) // "three" is no integer, "secret-99999" no salary: bad records
	l := lakefixture.OpenAt(t, root)
	rows := lakefixture.Rows(t, l, "crm.people")
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte("alice@example.com"))
	alice := hex.EncodeToString(m.Sum(nil))
	if len(rows) != 2 || rows[0]["email"] != alice || rows[1]["email"] != alice || rows[0]["phone"] != "********4567" {
		t.Errorf("rows = %v, want alice's email hashed (%s) twice, phones masked", rows, alice)
	}
	if _, ok := rows[0]["ssn"]; ok {
		t.Errorf("ssn is there: %v", rows[0])
	}
	for _, clear := range []string{"alice@example.com", "bob@example.org", "555-123-4567", "555-000-1111", "078-05-1120", "457-55-5462", "carol@example.net", "secret-99999"} {
		assertNowhere(t, root, clear)
	}
}

// assertNowhere checks that no file under root holds s: as bytes, or as a
// value DuckDB reads in a Parquet file (compressed pages hide bytes).
func assertNowhere(tb testing.TB, root, s string) {
	tb.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), s) {
			tb.Errorf("%s holds %q", path, s)
		}
		if strings.HasSuffix(path, ".parquet") {
			res := lakefixture.DuckDB(tb, fmt.Sprintf("SELECT count(*)::INTEGER AS n FROM read_parquet(%s) t WHERE t::VARCHAR LIKE %s",
				lakefixture.DuckQuote(path), lakefixture.DuckQuote("%"+s+"%")))
			if n, _ := res[0]["n"].(float64); n > 0 {
				tb.Errorf("%s holds %q in %v rows", path, s, n)
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}
