package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// closeWatch reports files closed after writing, or moved into a watched
// folder: inotify's IN_CLOSE_WRITE and IN_MOVED_TO, which fsnotify keeps
// to itself. It sees every writer on the machine's kernel, in any
// process or container, so a closed file needs no quiet period to be
// known whole; writers on other machines (NFS) send nothing, and their
// files settle as before.
type closeWatch struct {
	f    *os.File
	mu   sync.Mutex
	wds  map[int32]string // watch descriptor → folder
	full bool             // inotify's watch limit met: no more folders
}

func newCloseWatch() (*closeWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	return &closeWatch{f: os.NewFile(uintptr(fd), "inotify"), wds: map[int32]string{}}, nil
}

// add watches dir for files closed or moved in. Once inotify's watch
// limit is met it says so once, then adds nothing more (those folders'
// files settle).
func (c *closeWatch) add(dir string) error {
	if c == nil || c.full {
		return nil
	}
	wd, err := unix.InotifyAddWatch(int(c.f.Fd()), dir, unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO|unix.IN_ONLYDIR)
	if errors.Is(err, unix.ENOSPC) {
		c.full = true
		return fmt.Errorf("watch %s: inotify's watch limit (fs.inotify.max_user_watches) is reached: folders from here on get no close events", dir)
	}
	if err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	c.mu.Lock()
	c.wds[int32(wd)] = dir
	c.mu.Unlock()
	return nil
}

// run reads events until the watch is closed, calling closed with the
// path of each file closed after writing or moved in.
func (c *closeWatch) run(closed func(path string) bool) error {
	buf := make([]byte, 64<<10)
	for {
		n, err := c.f.Read(buf)
		if errors.Is(err, os.ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("inotify: %w", err)
		}
		for _, p := range c.paths(buf[:n]) {
			if !closed(p) {
				return nil
			}
		}
	}
}

// paths decodes the events of one read: the paths of files (not folders)
// closed or moved in.
func (c *closeWatch) paths(b []byte) []string {
	var out []string
	for len(b) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		end := unix.SizeofInotifyEvent + int(ev.Len)
		if end > len(b) {
			break
		}
		name := string(bytes.TrimRight(b[unix.SizeofInotifyEvent:end], "\x00"))
		b = b[end:]
		c.mu.Lock()
		dir, ok := c.wds[ev.Wd]
		c.mu.Unlock()
		if ok && name != "" && ev.Mask&unix.IN_ISDIR == 0 {
			out = append(out, filepath.Join(dir, name))
		}
	}
	return out
}

func (c *closeWatch) close() {
	if c != nil {
		c.f.Close()
	}
}

// watchCloses runs c until ctx ends, sending a Closed event per file.
func (l *Local) watchCloses(ctx context.Context, c *closeWatch, out chan<- Event) error {
	stop := context.AfterFunc(ctx, c.close)
	defer stop()
	return c.run(func(p string) bool { return send(ctx, out, Event{Key: l.key(p), Closed: true}) })
}
