package stats

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/lake"
)

// Zones whose tables the statistics cover.
const (
	ZoneStg = "stg"
	ZonePrd = "prd"
)

// Config says which tables the statistics cover.
type Config struct {
	// Prd adds the Iceberg tables users' pipelines write under
	// prd/<db>/<table>/, found by their metadata files.
	Prd bool
}

// DefaultConfig covers the tables lagoon loads (stg/).
func DefaultConfig() Config { return Config{} }

// Syncer keeps the statistics tables current: each sync adds a row per
// table snapshot committed since the last one, and the column statistics
// of each table's current snapshot. A table's progress mark (the last
// snapshot recorded) commits with its rows, so rows land once.
type Syncer struct {
	lk  *lake.Lake
	cfg Config
	log *slog.Logger
	now func() time.Time
}

// NewSyncer returns a syncer over lk's tables.
func NewSyncer(lk *lake.Lake, cfg Config, log *slog.Logger) *Syncer {
	return &Syncer{lk: lk, cfg: cfg, log: log, now: time.Now}
}

// Name implements the daemon's side task.
func (s *Syncer) Name() string { return "stats" }

// Target is a table the statistics cover.
type Target struct {
	Name, Zone string
	Table      *table.Table
}

func markOf(t Target) string { return "lagoon.stats." + t.Zone + "." + t.Name }

// mark is the last snapshot a table's rows cover: "<id>@<commit ms>".
type mark struct {
	id, ms int64
}

func parseMark(s string) mark {
	id, ms, _ := strings.Cut(s, "@")
	var m mark
	m.id, _ = strconv.ParseInt(id, 10, 64)
	m.ms, _ = strconv.ParseInt(ms, 10, 64)
	return m
}

// Sync records what changed since the last sync and returns the number
// of table rows added.
func (s *Syncer) Sync(ctx context.Context) (int, error) {
	for conflicts := 0; ; conflicts++ {
		n, err := s.step(ctx)
		if errors.Is(err, lake.ErrSideConflict) && conflicts < 10 {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("sync stats: %w", err)
		}
		return n, nil
	}
}

func (s *Syncer) step(ctx context.Context) (int, error) {
	targets, err := s.Targets(ctx)
	if err != nil {
		return 0, err
	}
	tt, err := s.lk.OpenSide(ctx, TablesDef)
	if err != nil {
		return 0, err
	}
	ct, err := s.lk.OpenSide(ctx, ColumnsDef)
	if err != nil {
		return 0, err
	}
	now := s.now().UTC()
	var trows, crows [][]any
	tprops, cprops := iceberg.Properties{}, iceberg.Properties{}
	for _, t := range targets {
		cur := t.Table.CurrentSnapshot()
		if cur == nil {
			continue
		}
		id := fmt.Sprintf("%d@%d", cur.SnapshotID, cur.TimestampMs)
		if mark := tt.Properties()[markOf(t)]; mark != id {
			for _, r := range history(t.Table, t.Name, t.Zone, parseMark(mark)) {
				trows = append(trows, r.row(now))
			}
			tprops[markOf(t)] = id
		}
		if ct.Properties()[markOf(t)] != id {
			cols, err := Columns(ctx, t.Table)
			if err != nil {
				return 0, err
			}
			at := time.UnixMilli(cur.TimestampMs).UTC()
			for _, c := range cols {
				crows = append(crows, c.row(t, cur.SnapshotID, at, now))
			}
			cprops[markOf(t)] = id
		}
	}
	if err := s.commit(ctx, TablesDef, tt, trows, tprops); err != nil {
		return 0, err
	}
	if err := s.commit(ctx, ColumnsDef, ct, crows, cprops); err != nil {
		return 0, err
	}
	if len(trows)+len(crows) > 0 {
		s.log.Debug("statistics synced", "table_rows", len(trows), "column_rows", len(crows))
	}
	return len(trows), nil
}

func (s *Syncer) commit(ctx context.Context, d lake.SideTable, tbl *table.Table, rows [][]any, props iceberg.Properties) error {
	var err error
	switch {
	case len(rows) > 0:
		_, err = s.lk.AppendSide(ctx, d, tbl, rows, props, nil)
	case len(props) > 0:
		_, err = s.lk.CommitSide(ctx, d, tbl, func(tx *table.Transaction) error { return tx.SetProperties(props) })
	}
	return err
}

func (r TableRow) row(now time.Time) []any {
	var parent, latency any
	if r.ParentID != nil {
		parent = *r.ParentID
	}
	if r.LoadLatencyMS != nil {
		latency = *r.LoadLatencyMS
	}
	return []any{r.Table, r.Zone, r.SnapshotID, parent, lake.OrNull(r.Operation), r.CommittedAt, r.RecordCount,
		r.DataFiles, r.DeleteFiles, r.Bytes, r.RowsAdded, r.FilesAdded, latency, now, lake.OrNull(r.Maintenance)}
}

func (c ColumnRow) row(t Target, snap int64, at, now time.Time) []any {
	return []any{t.Name, t.Zone, snap, at, c.Column, int32(c.FieldID), c.Type, ptr(c.ValueCount), ptr(c.NullCount),
		ptr(c.NaNCount), ptr(c.Min), ptr(c.Max), now, ptr(c.MinExact), ptr(c.MaxExact)}
}

func ptr[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// Targets lists the tables the statistics cover: lagoon's tables in the
// catalog (not its own side tables), and with Prd the tables under prd/.
func (s *Syncer) Targets(ctx context.Context) ([]Target, error) {
	refs, err := s.lk.Tables(ctx)
	if err != nil {
		return nil, err
	}
	var out []Target
	seen := map[string]bool{} // locations
	prdURL := strings.TrimSuffix(s.lk.Store.URL(lake.PrefixPrd), "/")
	for _, ref := range refs {
		if ref.DB == lake.SideNamespace {
			continue
		}
		tbl, err := s.lk.LoadTable(ctx, ref)
		if err != nil {
			return nil, err
		}
		zone := ZoneStg
		if strings.HasPrefix(tbl.Location(), prdURL+"/") {
			zone = ZonePrd // a pipeline's table, registered in the lake's catalog
		}
		if zone == ZoneStg || s.cfg.Prd {
			out = append(out, Target{Name: ref.String(), Zone: zone, Table: tbl})
			seen[strings.TrimSuffix(tbl.Location(), "/")] = true
		}
	}
	if !s.cfg.Prd {
		return out, nil
	}
	prd, err := s.prdTables(ctx)
	for _, t := range prd {
		if !seen[strings.TrimSuffix(t.Table.Location(), "/")] {
			out = append(out, t)
		}
	}
	return out, err
}

// prdTables opens each prd/<db>/<table>/ Iceberg table at its newest
// metadata file (the one version-hint.text names, if any).
func (s *Syncer) prdTables(ctx context.Context) ([]Target, error) {
	latest := map[string]string{} // db.table -> metadata key
	hints := map[string]string{}
	for info, err := range s.lk.Store.List(ctx, lake.PrefixPrd) {
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", lake.PrefixPrd, err)
		}
		segs := strings.Split(strings.TrimPrefix(info.Key, lake.PrefixPrd), "/")
		if len(segs) != 4 || segs[2] != "metadata" {
			continue
		}
		name := segs[0] + "." + segs[1]
		switch {
		case segs[3] == "version-hint.text":
			hints[name] = info.Key
		case strings.HasSuffix(segs[3], ".metadata.json") && newer(segs[3], path.Base(latest[name])):
			latest[name] = info.Key
		}
	}
	var out []Target
	for name, key := range latest {
		if h, ok := hints[name]; ok {
			key = s.hinted(ctx, h, key)
		}
		db, tb, _ := strings.Cut(name, ".")
		url := s.lk.Store.URL(key)
		tbl, err := table.NewFromLocation(ctx, table.Identifier{db, tb}, url, icebergio.LoadFSFunc(s.lk.Props, url), nil)
		if err != nil {
			return nil, fmt.Errorf("open %s%s: %w", lake.PrefixPrd, name, err)
		}
		out = append(out, Target{Name: name, Zone: ZonePrd, Table: tbl})
	}
	return out, nil
}

// hinted returns the metadata file version-hint.text names, if it exists.
func (s *Syncer) hinted(ctx context.Context, hintKey, fallback string) string {
	obj, err := s.lk.Store.Open(ctx, hintKey)
	if err != nil {
		return fallback
	}
	defer obj.Close()
	b, _ := io.ReadAll(io.LimitReader(obj, 256))
	v := strings.TrimSpace(string(b))
	if _, err := strconv.Atoi(v); err == nil {
		v = "v" + v
	}
	key := path.Dir(hintKey) + "/" + v + ".metadata.json"
	if _, err := s.lk.Store.Stat(ctx, key); err != nil {
		return fallback
	}
	return key
}

// newer orders metadata file names by their version: "v12.metadata.json"
// or "00012-<uuid>.metadata.json".
func newer(a, b string) bool {
	if b == "" {
		return true
	}
	return version(a) > version(b)
}

func version(name string) int {
	v := strings.TrimPrefix(name, "v")
	if i := strings.IndexAny(v, "-."); i >= 0 {
		v = v[:i]
	}
	n, _ := strconv.Atoi(v)
	return n
}
