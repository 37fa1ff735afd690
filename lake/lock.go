package lake

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrLocked is returned by LockLocal when another process holds the lake.
var ErrLocked = errors.New("lake is in use by another lagoon process")

// LockFile is the key of the lock a local lake's daemon holds.
const LockFile = PrefixTmp + "lagoon/run.lock"

// Lock is an exclusive hold on a local lake; the kernel releases it when
// the process dies, so a SIGKILLed daemon never leaves it stuck.
type Lock struct{ f *os.File }

// LockLocal takes the lake's run lock without waiting. It fails with an
// error wrapping ErrLocked (naming the holder's pid) when it is held.
func LockLocal(st *Local) (*Lock, error) {
	p := st.Path(LockFile)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", p, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(p)
		f.Close()
		return nil, fmt.Errorf("%w (pid %s)", ErrLocked, strings.TrimSpace(string(holder)))
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return &Lock{f: f}, nil
}

// Release gives the lock up.
func (l *Lock) Release() error { return l.f.Close() }
