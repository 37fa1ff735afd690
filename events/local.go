// Package events turns the ways a lake learns of new objects into one
// stream of hints: "an object appeared (or changed) at this key", and
// "look at everything again". Events are hints; the store is the truth.
package events

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Event is one hint. Rescan asks the consumer to list the lake again (a
// periodic sweep, or events were lost); otherwise Key names an object.
// Closed says that its writer closed it, or that it was moved into place:
// it is whole as it stands, and needs no quiet period (see
// lake.Finished); a later write makes it settle again.
type Event struct {
	Key    string
	Rescan bool
	Closed bool
}

// LocalConfig tunes the local watcher.
type LocalConfig struct {
	// Prefixes are the key prefixes watched, recursively ("load/").
	Prefixes []string
	// Rescan is the period of the sweep that catches missed events.
	Rescan time.Duration
}

// DefaultLocalConfig watches load/ and sweeps every 30 seconds.
func DefaultLocalConfig() LocalConfig {
	return LocalConfig{Prefixes: []string{"load/"}, Rescan: 30 * time.Second}
}

// Local watches folders of a local lake with fsnotify, recursively: new
// sub-folders are watched as they appear and their contents reported. On
// Linux it also reports files closed after writing (see closeWatch).
type Local struct {
	root string
	cfg  LocalConfig
	log  *slog.Logger
	w    *fsnotify.Watcher
	cw   *closeWatch // nil: no close events, files settle
	// ready, when set, is called once the watches are in place.
	ready func()
}

// OnReady has f called once Run has its watches in place: from then on a
// file dropped is reported.
func (l *Local) OnReady(f func()) { l.ready = f }

// NewLocal returns a watcher of the lake at root (an absolute directory).
func NewLocal(root string, cfg LocalConfig, log *slog.Logger) *Local {
	return &Local{root: root, cfg: cfg, log: log}
}

// Run sends events to out until ctx ends; it owns the fsnotify watcher
// and the close watch, and the close watch's reader, and closes them on
// return. It returns nil when ctx ends, or the error that stopped
// watching.
func (l *Local) Run(ctx context.Context, out chan<- Event) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", l.root, err)
	}
	defer w.Close()
	l.w = w
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	if l.cw, err = newCloseWatch(); err != nil {
		l.log.Info("no close events: files settle before they are taken", "err", err)
	} else {
		defer l.cw.close()
		wg.Go(func() { l.readCloses(ctx, out) })
	}
	for _, p := range l.cfg.Prefixes {
		dir := filepath.Join(l.root, filepath.FromSlash(p))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("watch %s: %w", dir, err)
		}
		if err := l.addTree(ctx, dir, nil); err != nil {
			return err
		}
	}
	if l.ready != nil {
		l.ready()
	}
	tick := time.NewTicker(l.cfg.Rescan)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if !send(ctx, out, Event{Rescan: true}) {
				return nil
			}
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("watcher closed")
			}
			if !l.handle(ctx, ev, out) {
				return nil
			}
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("watcher closed")
			}
			// Overflow and friends: events were lost, so sweep.
			l.log.Warn("file watcher error; rescanning", "err", err)
			if !send(ctx, out, Event{Rescan: true}) {
				return nil
			}
		}
	}
}

// readCloses sends the close watch's events until ctx ends; should it
// fail, files settle instead.
func (l *Local) readCloses(ctx context.Context, out chan<- Event) {
	if err := l.watchCloses(ctx, l.cw, out); err != nil {
		l.log.Warn("close events stopped: files settle before they are taken", "err", err)
	}
}

func (l *Local) handle(ctx context.Context, ev fsnotify.Event, out chan<- Event) bool {
	if !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Write) {
		return true
	}
	info, err := os.Stat(ev.Name)
	if err != nil {
		return true // gone already
	}
	if info.IsDir() {
		// Files may have landed before the watch was added: report them.
		if err := l.addTree(ctx, ev.Name, out); err != nil {
			l.log.Warn("cannot watch new folder; rescanning", "dir", ev.Name, "err", err)
			return send(ctx, out, Event{Rescan: true})
		}
		return true
	}
	return send(ctx, out, Event{Key: l.key(ev.Name)})
}

// addTree watches dir and every folder below it. With out set, it reports
// every file found as an event.
func (l *Local) addTree(ctx context.Context, dir string, out chan<- Event) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			if err := l.w.Add(p); err != nil {
				return fmt.Errorf("watch %s: %w", p, err)
			}
			if err := l.cw.add(p); err != nil {
				// inotify's watch limit, say: this folder's files settle
				l.log.Warn("no close events for a folder: its files settle before they are taken", "dir", p, "err", err)
			}
			return nil
		}
		if out != nil && !send(ctx, out, Event{Key: l.key(p)}) {
			return fs.SkipAll
		}
		return nil
	})
}

func (l *Local) key(p string) string {
	return filepath.ToSlash(strings.TrimPrefix(p, l.root+string(filepath.Separator)))
}

func send(ctx context.Context, out chan<- Event, ev Event) bool {
	select {
	case out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}
