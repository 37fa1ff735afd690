package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// lagoonBin is the lagoon binary built once for the tests that run it as a
// separate process (crash tests, the daemon).
var lagoonBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lagoon-bin-")
	if err != nil {
		panic(err)
	}
	lagoonBin = filepath.Join(dir, "lagoon")
	out, err := exec.Command("go", "build", "-o", lagoonBin, ".").CombinedOutput()
	if err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lagoon runs the CLI in-process and returns its exit code and output.
func lagoon(tb testing.TB, args ...string) (int, string, string) {
	tb.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// runOnce runs `lagoon run --root root --once --settle 0 args...`, fails
// the test unless it exits with want, and returns its output.
func runOnce(tb testing.TB, root string, want int, args ...string) string {
	tb.Helper()
	code, out, errOut := lagoon(tb, append([]string{"run", "--root", root, "--once", "--settle", "0"}, args...)...)
	if code != want {
		tb.Fatalf("run %v: exit %d, want %d\n%s\n%s", args, code, want, out, errOut)
	}
	return out
}
