package lakefixture

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// MinIO starts a MinIO server on a free loopback port with extra
// environment (e.g. MINIO_NOTIFY_WEBHOOK_* targets), points the AWS SDK at
// it through the standard variables for the rest of the test, and stops it
// at cleanup. It skips the test when the minio binary is missing
// (scripts/install-test-deps installs it).
func MinIO(tb testing.TB, env map[string]string) string {
	tb.Helper()
	bin := minioBinary()
	if bin == "" {
		tb.Skip("minio is not installed: run scripts/install-test-deps")
	}
	port, console := freePort(tb), freePort(tb)
	cmd := exec.Command(bin, "server", tb.TempDir(), "--quiet",
		"--address", fmt.Sprintf("127.0.0.1:%d", port), "--console-address", fmt.Sprintf("127.0.0.1:%d", console))
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER=lagoontest", "MINIO_ROOT_PASSWORD=lagoontest-secret", "MINIO_BROWSER=off")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHTTP(tb, endpoint+"/minio/health/live")
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "lagoontest", "AWS_SECRET_ACCESS_KEY": "lagoontest-secret",
		"AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
	} {
		tb.Setenv(k, v)
	}
	return endpoint
}

func minioBinary() string {
	if p, err := exec.LookPath("minio"); err == nil {
		return p
	}
	for _, dir := range []string{os.Getenv("GOBIN"), filepath.Join(os.Getenv("HOME"), "go", "bin"), "/root/go/bin"} {
		p := filepath.Join(dir, "minio")
		if _, err := os.Stat(p); dir != "" && err == nil {
			return p
		}
	}
	return ""
}

// FreePort returns a free loopback TCP port.
func FreePort(tb testing.TB) int { return freePort(tb) }
