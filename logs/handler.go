package logs

import (
	"context"
	"log/slog"
	"strings"
	"time"
)

// Handler is a slog.Handler that passes every record on to next and also
// writes records at Level or above (warnings and errors by default) to a
// Sink, as log-table entries. Attributes map to columns: "stage" (or
// "zone"), "table" ("db.table"), "db", "key", "err"/"error"; the rest go
// to the entry's detail. A record's Handle returns once its entry is
// durable, or after Timeout if the lake cannot be reached (the entry then
// stays pending in memory and goes with the next write).
type Handler struct {
	next    slog.Handler
	sink    *Sink
	Level   slog.Level
	Timeout time.Duration
	attrs   []slog.Attr
}

// KeepKey is the attribute that has a record below the handler's level
// written to the log table too: slog.Bool(logs.KeepKey, true) on an event
// of record (a table's maintenance) that is not a warning.
const KeepKey = "log_table"

// NewHandler tees warnings and errors of next into sink.
func NewHandler(next slog.Handler, sink *Sink) *Handler {
	return &Handler{next: next, sink: sink, Level: slog.LevelWarn, Timeout: 10 * time.Second}
}

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.Level || h.next.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	keep := kept(r)
	if h.next.Enabled(ctx, r.Level) {
		out := r
		if keep {
			out = without(r, KeepKey) // the console need not see it
		}
		err = h.next.Handle(ctx, out)
	}
	if r.Level < h.Level && !keep {
		return err
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), h.Timeout)
	defer cancel()
	if serr := h.sink.Write(wctx, h.entry(r)); serr != nil && err == nil {
		err = serr
	}
	return err
}

// WithAttrs implements slog.Handler.
func (h *Handler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(as)
	c.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	return &c
}

// WithGroup implements slog.Handler. Entries flatten groups.
func (h *Handler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	return &c
}

// kept reports whether r asks to be in the log table (KeepKey).
func kept(r slog.Record) bool {
	keep := false
	r.Attrs(func(a slog.Attr) bool {
		keep = a.Key == KeepKey && a.Value.Kind() == slog.KindBool && a.Value.Bool()
		return !keep
	})
	return keep
}

// without is r less its attributes named key.
func without(r slog.Record, key string) slog.Record {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != key {
			out.AddAttrs(a)
		}
		return true
	})
	return out
}

func (h *Handler) entry(r slog.Record) Entry {
	e := Entry{Time: r.Time.UTC(), Level: strings.ToLower(r.Level.String()), Message: r.Message}
	for _, a := range h.attrs {
		e.set(a)
	}
	r.Attrs(func(a slog.Attr) bool {
		e.set(a)
		return true
	})
	if e.Stage == "" {
		e.Stage = stageOf(e.Key)
	}
	return e
}

func (e *Entry) set(a slog.Attr) {
	v := a.Value.Resolve()
	switch a.Key {
	case KeepKey:
	case "stage", "zone":
		e.Stage = strings.TrimSuffix(v.String(), "/")
	case "table":
		if db, t, ok := strings.Cut(v.String(), "."); ok {
			e.DB, e.Table = db, t
		} else {
			e.Table = v.String()
		}
	case "db":
		e.DB = v.String()
	case "key":
		e.Key = v.String()
	case "err", "error":
		e.Error = v.String()
	default:
		if e.Detail == nil {
			e.Detail = map[string]any{}
		}
		e.Detail[a.Key] = detailValue(v)
	}
}

func detailValue(v slog.Value) any {
	switch v.Kind() {
	case slog.KindDuration, slog.KindTime:
		return v.String()
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return err.Error()
		}
	}
	return v.Any()
}

// stageOf names the stage a key belongs to, from its zone.
func stageOf(key string) string {
	for _, z := range []string{"prepare", "load"} {
		if strings.HasPrefix(key, z+"/") {
			return z
		}
	}
	return ""
}
