package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
)

// TestConfigFileAndEnvironment: a config file's keys are flag names;
// $LAGOON_<FLAG> wins over the file and the command line over both; an
// unknown key or a bad value is an error naming where it came from;
// --log-format json logs one JSON object a line.
func TestConfigFileAndEnvironment(t *testing.T) {
	root := t.TempDir()
	lakefixture.DropFile(t, filepath.Join(root, "prepare/db/t/bad.csv"), nil)
	cfg := filepath.Join(t.TempDir(), "lagoon.yaml")
	os.WriteFile(cfg, []byte("root: "+root+"\nsettle: 0s\nlog-level: warn\nlog-format: json\n"), 0o644)
	code, out, errOut := lagoon(t, "run", "--once", "--config", cfg)
	if code != exitRejected {
		t.Fatalf("run with the config file: %d %s %s", code, out, errOut)
	}
	var entry map[string]any
	line, _, _ := strings.Cut(errOut, "\n")
	if err := json.Unmarshal([]byte(line), &entry); err != nil || entry["msg"] != "file rejected" {
		t.Errorf("--log-format json from the file: %q", errOut)
	}
	t.Setenv("LAGOON_LOG_LEVEL", "loud")
	if code, _, errOut := lagoon(t, "run", "--once", "--config", cfg); code != exitUsage || !strings.Contains(errOut, "loud") {
		t.Errorf("the environment over the file: %d %s", code, errOut)
	}
	if code, _, errOut := lagoon(t, "run", "--once", "--config", cfg, "--log-level", "error"); code != exitOK || errOut != "" {
		t.Errorf("the flag over the environment: %d %s", code, errOut)
	}
	t.Setenv("LAGOON_LOG_LEVEL", "")
	t.Setenv("LAGOON_SETTLE", "soon")
	if code, _, errOut := lagoon(t, "run", "--once", "--config", cfg); code != exitUsage || !strings.Contains(errOut, "$LAGOON_SETTLE") {
		t.Errorf("a bad value from the environment: %d %s", code, errOut)
	}
	t.Setenv("LAGOON_SETTLE", "")
	os.WriteFile(cfg, []byte("root: "+root+"\nsetle: 0s\n"), 0o644)
	if code, _, errOut := lagoon(t, "tables", "--config", cfg); code != exitUsage || !strings.Contains(errOut, `"setle" is no flag`) {
		t.Errorf("an unknown key: %d %s", code, errOut)
	}
	os.WriteFile(cfg, []byte("root: "+root+"\nsettle: 0s\n"), 0o644)
	if code, out, errOut := lagoon(t, "tables", "--config", cfg); code != exitOK {
		t.Errorf("a key of another command's is fine: %d %s %s", code, out, errOut)
	}
	if code, _, _ := lagoon(t, "tables", "--config", filepath.Join(root, "nope.yaml")); code != exitUsage {
		t.Errorf("a config file named and missing: exit %d", code)
	}
}
