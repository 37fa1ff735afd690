package lake

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// WriterFinder is a Store that can tell which of its objects a process
// holds open for writing: such a file is not finished, however long it
// has been quiet (a writer that pauses longer than the settle time).
type WriterFinder interface {
	// OpenForWriting returns the keys held open for writing now. It may
	// be a moment old (see writersTTL).
	OpenForWriting(ctx context.Context) (map[string]bool, error)
}

var _ WriterFinder = (*Local)(nil)

// writersTTL is how long one look at /proc serves: a sweep asks once per
// table.
const writersTTL = 500 * time.Millisecond

// writerCache holds the last look at the processes' open files.
type writerCache struct {
	mu   sync.Mutex
	at   time.Time
	keys map[string]bool
}

// OpenForWriting implements WriterFinder on Linux by reading every
// process's /proc/<pid>/fd links and the access mode in fdinfo (processes
// of other users are seen as far as permissions allow: run as the writers'
// user, or as root). Without /proc it finds nothing, and settling alone
// decides.
func (l *Local) OpenForWriting(ctx context.Context) (map[string]bool, error) {
	l.writers.mu.Lock()
	defer l.writers.mu.Unlock()
	if time.Since(l.writers.at) < writersTTL {
		return l.writers.keys, nil
	}
	keys := map[string]bool{}
	root, err := filepath.EvalSymlinks(l.root) // /proc shows resolved paths
	if err != nil {
		root = l.root
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if _, err := strconv.Atoi(p.Name()); err == nil {
			addWriting(keys, root, "/proc/"+p.Name())
		}
	}
	l.writers.at, l.writers.keys = time.Now(), keys
	return keys, nil
}

// addWriting adds the keys under root that process dir (/proc/<pid>)
// holds open for writing.
func addWriting(keys map[string]bool, root, dir string) {
	fds, _ := os.ReadDir(dir + "/fd")
	prefix := root + string(filepath.Separator)
	for _, fd := range fds {
		target, err := os.Readlink(dir + "/fd/" + fd.Name())
		if err != nil || !strings.HasPrefix(target, prefix) || !openedForWriting(dir+"/fdinfo/"+fd.Name()) {
			continue
		}
		keys[filepath.ToSlash(strings.TrimPrefix(target, prefix))] = true
	}
}

// openedForWriting reads the flags line of an fdinfo file: the access
// mode (O_ACCMODE) is write-only or read-write.
func openedForWriting(fdinfo string) bool {
	f, err := os.Open(fdinfo)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "flags:")
		if !ok {
			continue
		}
		flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
		return err == nil && flags&3 != uint64(os.O_RDONLY)
	}
	return false
}
