package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDockerfile: the image is built in two stages, the binary static
// (CGO_ENABLED=0: the SQLite catalog is pure Go) on an empty base, run as
// a non-root user, with lagoon as its entrypoint; and the binary builds
// so, with the Dockerfile's own command, and runs. (No Docker daemon runs
// here: the image itself is not built.)
func TestDockerfile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds lagoon without cgo: skipped with -short")
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, want := range []string{"FROM golang:", " AS build", "CGO_ENABLED=0", "FROM gcr.io/distroless/static",
		"COPY --from=build", "USER nonroot", `ENTRYPOINT ["/lagoon"]`} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	const buildLine = `RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/lagoon ./cmd/lagoon`
	if !strings.Contains(df, buildLine) {
		t.Fatalf("the Dockerfile builds lagoon otherwise than this test does: want %s", buildLine)
	}
	bin := filepath.Join(t.TempDir(), "lagoon")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=test", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", build.Args, err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || strings.TrimSpace(string(out)) != "lagoon test" {
		t.Errorf("the static binary says %q: %v", out, err)
	}
	if file, err := exec.Command("file", bin).Output(); err == nil && !strings.Contains(string(file), "statically linked") {
		t.Errorf("not static: %s", file)
	}
}
