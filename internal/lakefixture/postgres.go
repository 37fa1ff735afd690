package lakefixture

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Postgres starts a throwaway PostgreSQL server on a free loopback port
// (trust auth) and returns its connection URL; it is stopped at cleanup.
// As root it runs as the "postgres" user. It skips the test, saying why,
// when PostgreSQL is not installed (scripts/install-test-deps installs it).
func Postgres(tb testing.TB) string {
	tb.Helper()
	initdb, postgres := pgBinary("initdb"), pgBinary("postgres")
	if initdb == "" || postgres == "" {
		tb.Skip("PostgreSQL server binaries not found: run scripts/install-test-deps")
	}
	// Not tb.TempDir: its parent is private to us, and the server may run
	// as another user.
	dir, err := os.MkdirTemp("", "lagoon-pg-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	data := filepath.Join(dir, "data")
	port := freePort(tb)
	cred := pgUser(tb, dir)
	run := func(name string, args ...string) *exec.Cmd {
		cmd := exec.Command(name, args...)
		if cred != nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		}
		return cmd
	}
	if out, err := run(initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8").CombinedOutput(); err != nil {
		tb.Fatalf("initdb: %v\n%s", err, out)
	}
	srv := run(postgres, "-D", data, "-p", strconv.Itoa(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off")
	if err := srv.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Process.Signal(os.Interrupt); srv.Wait() })
	waitTCP(tb, fmt.Sprintf("127.0.0.1:%d", port))
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
}

// pgUser returns the credentials to run the server as "postgres" when we
// are root (it refuses to run as root), and hands it the directory.
func pgUser(tb testing.TB, dir string) *syscall.Credential {
	tb.Helper()
	if os.Getuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		tb.Skip("running as root and there is no postgres user")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		tb.Fatal(err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

func pgBinary(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
	if len(matches) > 0 {
		return matches[len(matches)-1]
	}
	return ""
}

func waitTCP(tb testing.TB, addr string) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("%s did not come up", addr)
}
