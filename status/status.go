// Package status says what a lake's pipeline has before it, from the
// store alone: per table the files and bytes waiting in each stage and
// the oldest of them, the batches in flight (their intents), the claims
// workers hold and the files rejected. It reads; it never changes
// anything.
package status

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/lagoon-dev/lagoon/internal/human"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/loader"
	"github.com/lagoon-dev/lagoon/prepare"
)

// Stages are the zones files wait in, by stage name.
var Stages = map[string]string{"prepare": lake.PrefixPrepare, "load": lake.PrefixLoad}

// intentPrefixes are where the stages keep the intents of batches in
// flight, one folder per table (<db>.<table>/<batch>.json).
var intentPrefixes = map[string]string{"prepare": prepare.IntentPrefix, "load": loader.IntentPrefix}

// Waiting is what waits in one stage of one table.
type Waiting struct {
	Files  int       `json:"files"`
	Bytes  int64     `json:"bytes"`
	Oldest time.Time `json:"oldest,omitzero"`
}

// Text says what waits: "3 files, 1.2 MiB, oldest 5m0s" ("" for none).
func (w Waiting) Text(now time.Time) string {
	if w.Files == 0 {
		return ""
	}
	files := human.Digits(int64(w.Files)) + " files"
	if w.Files == 1 {
		files = "1 file"
	}
	return fmt.Sprintf("%s, %s, oldest %s", files, human.Bytes(w.Bytes), now.Sub(w.Oldest).Round(time.Second))
}

// Claim is a worker's claim on one stage of a table.
type Claim struct {
	Stage    string    `json:"stage"`
	Owner    string    `json:"owner"` // host:pid
	Since    time.Time `json:"since"`
	Renewed  time.Time `json:"renewed"`
	Stale    bool      `json:"stale"` // not renewed within its TTL: another worker may take it over
	Released bool      `json:"released,omitempty"`
}

// Table is one table's status.
type Table struct {
	Table    string             `json:"table"`
	Waiting  map[string]Waiting `json:"waiting"`   // by stage
	InFlight map[string]int     `json:"in_flight"` // batch intents, by stage
	Claims   []Claim            `json:"claims,omitempty"`
	Rejected int                `json:"rejected"` // files under log/rejected/
}

// Report is the lake's status, tables in name order. Unmapped counts the
// files waiting whose key maps to no table (they are rejected when their
// stage next looks).
type Report struct {
	Tables   []*Table `json:"tables"`
	Unmapped int      `json:"unmapped"`
}

// Collect reads the status of the lake in st at now.
func Collect(ctx context.Context, st lake.Store, now time.Time) (Report, error) {
	c := collector{st: st, now: now, tables: map[string]*Table{}}
	steps := []func(context.Context) error{c.waiting, c.intents, c.claims, c.rejected}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return Report{}, err
		}
	}
	rep := Report{Unmapped: c.unmapped}
	for _, name := range slices.Sorted(maps.Keys(c.tables)) {
		rep.Tables = append(rep.Tables, c.tables[name])
	}
	return rep, nil
}

type collector struct {
	st       lake.Store
	now      time.Time
	tables   map[string]*Table
	unmapped int
}

func (c *collector) table(name string) *Table {
	t, ok := c.tables[name]
	if !ok {
		t = &Table{Table: name, Waiting: map[string]Waiting{}, InFlight: map[string]int{}}
		c.tables[name] = t
	}
	return t
}

func (c *collector) waiting(ctx context.Context) error {
	for stage, prefix := range Stages {
		for info, err := range c.st.List(ctx, prefix) {
			if err != nil {
				return fmt.Errorf("list %s: %w", prefix, err)
			}
			if lake.Ignored(info.Key) {
				continue
			}
			k, err := lake.ParseKey(info.Key)
			if err != nil {
				c.unmapped++
				continue
			}
			t := c.table(k.Table.String())
			w := t.Waiting[stage]
			w.Files++
			w.Bytes += info.Size
			if w.Oldest.IsZero() || info.ModTime.Before(w.Oldest) {
				w.Oldest = info.ModTime
			}
			t.Waiting[stage] = w
		}
	}
	return nil
}

func (c *collector) intents(ctx context.Context) error {
	for stage, prefix := range intentPrefixes {
		for info, err := range c.st.List(ctx, prefix) {
			if err != nil {
				return fmt.Errorf("list %s: %w", prefix, err)
			}
			table, _, ok := strings.Cut(strings.TrimPrefix(info.Key, prefix), "/")
			if ok && strings.HasSuffix(info.Key, ".json") {
				c.table(table).InFlight[stage]++
			}
		}
	}
	return nil
}

func (c *collector) claims(ctx context.Context) error {
	for info, err := range c.st.List(ctx, lake.ClaimPrefix) {
		if err != nil {
			return fmt.Errorf("list claims: %w", err)
		}
		stage, table, ok := strings.Cut(strings.TrimPrefix(info.Key, lake.ClaimPrefix), "/")
		if !ok {
			continue
		}
		var l lake.LeaseOwner
		if err := lake.GetJSON(ctx, c.st, info.Key, &l); errors.Is(err, lake.ErrNotExist) {
			continue // released and gone meanwhile
		} else if err != nil {
			return fmt.Errorf("claim %s: %w", info.Key, err)
		}
		t := c.table(table)
		t.Claims = append(t.Claims, Claim{Stage: stage, Owner: fmt.Sprintf("%s:%d", l.Host, l.PID), Since: l.Since,
			Renewed: l.Renewed, Released: l.Released, Stale: !l.Released && l.TTL > 0 && c.now.Sub(l.Renewed) > l.TTL})
	}
	return nil
}

func (c *collector) rejected(ctx context.Context) error {
	for info, err := range c.st.List(ctx, lake.RejectedPrefix) {
		if err != nil {
			return fmt.Errorf("list rejected files: %w", err)
		}
		if strings.HasSuffix(info.Key, lake.ReasonSuffix) {
			continue
		}
		if k, err := lake.ParseKey(strings.TrimPrefix(info.Key, lake.RejectedPrefix)); err == nil {
			c.table(k.Table.String()).Rejected++
		}
	}
	return nil
}
