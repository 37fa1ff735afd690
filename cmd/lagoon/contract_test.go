package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
)

// TestContractCheck: valid contracts print what they say and exit 0; an
// invalid one prints its reason and makes the exit status 1; --json says
// the same for scripts.
func TestContractCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "invoice.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte("keys: [entity_id]\norder_by: updated_at\npartition: [day(updated_at)]\ncolumns:\n  amount: decimal(18,4)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("keys: [entity_id]\nmode: append\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := lagoon(t, "contract", "check", good)
	if code != exitOK || !strings.Contains(out, "valid (keys entity_id; order_by updated_at; partition day(updated_at); mode evolve; columns amount=decimal(18,4))") {
		t.Errorf("check good: %d %q", code, out)
	}
	code, out, _ = lagoon(t, "contract", "check", good, bad)
	if code != exitError || !strings.Contains(out, `mode: "append": want evolve`) {
		t.Errorf("check bad: %d %q", code, out)
	}
	code, out, _ = lagoon(t, "contract", "check", "--json", good, bad, filepath.Join(dir, "none.yaml"))
	var reps []contractReport
	if code != exitError || json.Unmarshal([]byte(out), &reps) != nil || len(reps) != 3 ||
		!reps[0].Valid || reps[0].Keys[0] != "entity_id" || len(reps[0].SHA256) != 64 ||
		reps[1].Valid || reps[2].Valid || !strings.Contains(reps[2].Error, "no such file") {
		t.Errorf("check --json: %d %s", code, out)
	}
	if code, _, _ := lagoon(t, "contract", "lint", good); code != exitUsage {
		t.Errorf("contract lint: exit %d, want %d", code, exitUsage)
	}
}

// TestTermSafe: what a terminal would act on is printed escaped.
func TestTermSafe(t *testing.T) {
	for in, want := range map[string]string{
		"plain name":          "plain name",
		"día":                 "día",
		"\x1b[2Jgone":         `\x1b[2Jgone`,
		"a\tb":                `a\tb`,
		"line\rover":          `line\rover`,
		"bad \xff utf8":       `bad \xff utf8`,
		"\u202eright-to-left": `\u202eright-to-left`,
	} {
		if got := termSafe(in); got != want {
			t.Errorf("termSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestContractInShowAndTrail: the contract a table follows is in
// `lagoon show` and, with its hash, in the trail (contract_changed); the
// table's spec is the contract's.
func TestContractInShowAndTrail(t *testing.T) {
	root := t.TempDir()
	lakefixture.DropFile(t, filepath.Join(root, "assets/lagoon/tables/shop/orders.yaml"), []byte("keys: [id]\npartition:\n  - bucket(4, id)\n"))
	lakefixture.DropFile(t, filepath.Join(root, "load/shop/orders/a.parquet"), lakefixture.ParquetBytes(t, lakefixture.Ints(0, 5)))
	runOnce(t, root, exitOK)
	code, out, _ := lagoon(t, "show", "shop.orders", "--root", root, "--json")
	var info showInfo
	if code != exitOK || json.Unmarshal([]byte(out), &info) != nil || info.Contract == nil || !info.Contract.Valid ||
		info.Contract.Keys[0] != "id" || len(info.Partitioning) != 1 || info.Partitioning[0].Transform != "bucket[4]" {
		t.Fatalf("show --json: %d %s", code, out)
	}
	if _, out, _ := lagoon(t, "show", "shop.orders", "--root", root); !strings.Contains(out, "Contract:  assets/lagoon/tables/shop/orders.yaml: valid (keys id; partition bucket[4](id)") {
		t.Errorf("show: %s", out)
	}
	_, out, _ = lagoon(t, "trail", "list", "--root", root, "--json")
	if !strings.Contains(out, `"contract_changed"`) || !strings.Contains(out, info.Contract.SHA256) {
		t.Errorf("trail has no contract_changed record with the contract's hash: %s", out)
	}
}

// TestHelpPrintsOnce: --help prints a command's usage once, to stdout; a
// wrong flag prints the error and the usage to stderr, exit 2.
func TestHelpPrintsOnce(t *testing.T) {
	code, out, errOut := lagoon(t, "run", "--help")
	if code != exitOK || strings.Count(out, "Usage: lagoon run") != 1 || errOut != "" {
		t.Errorf("run --help: exit %d, %d usages on stdout, stderr %q", code, strings.Count(out, "Usage: lagoon run"), errOut)
	}
	code, out, errOut = lagoon(t, "run", "--bogus")
	if code != exitUsage || out != "" || strings.Count(errOut, "Usage: lagoon run") != 1 || !strings.Contains(errOut, "-bogus") {
		t.Errorf("run --bogus: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
