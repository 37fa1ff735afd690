package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
