package lakefixture

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
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
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	waitQuery(tb, url)
	return url
}

// waitQuery waits until the server at url answers a query: an open port
// is not a server ready for queries ("the database system is starting
// up").
func waitQuery(tb testing.TB, url string) {
	tb.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		var one int
		err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("PostgreSQL at %s does not answer: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
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
