package web

import (
	"context"
	"crypto/subtle"
	"embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/iceberg-go"

	"github.com/lagoon-dev/lagoon/internal/human"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/logs"
	"github.com/lagoon-dev/lagoon/rejected"
	"github.com/lagoon-dev/lagoon/stats"
	"github.com/lagoon-dev/lagoon/status"
	"github.com/lagoon-dev/lagoon/trail"
)

//go:embed assets/dashboard.html
var assets embed.FS

var page = template.Must(template.ParseFS(assets, "assets/dashboard.html"))

// Dashboard is the page at /: the lake at a glance, from its statistics,
// log and trail tables and its folders. Anyone who reaches it may read
// it; retrying a rejected file takes Token.
type Dashboard struct {
	Lake *lake.Lake
	// Token, when set, lets a form retry rejected files ("": no retry).
	Token string
	Audit lake.Auditor // records retries
	Days  int          // of the rows-per-day chart
	Now   func() time.Time
	Log   *slog.Logger
}

// DefaultDashboard shows 14 days.
func DefaultDashboard(lk *lake.Lake) *Dashboard {
	return &Dashboard{Lake: lk, Audit: lake.NoAudit{}, Days: 14, Now: time.Now, Log: slog.Default()}
}

func (d *Dashboard) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	v, err := d.view(r.Context())
	if err != nil {
		d.Log.Warn("dashboard", "err", err)
		http.Error(w, "the lake cannot be read now: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	v.Message = r.URL.Query().Get("msg")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	if err := page.Execute(w, v); err != nil {
		d.Log.Warn("dashboard: render", "err", err)
	}
}

// retry moves one rejected file back (POST key, token).
func (d *Dashboard) retry(w http.ResponseWriter, r *http.Request) {
	if d.Token == "" || subtle.ConstantTimeCompare([]byte(r.PostFormValue("token")), []byte(d.Token)) != 1 {
		http.Error(w, "retrying takes the token ($LAGOON_HTTP_TOKEN)", http.StatusForbidden)
		return
	}
	key := r.PostFormValue("key")
	msg := "retried " + key
	if err := d.retryKey(r.Context(), key); err != nil {
		msg = "could not retry " + key + ": " + err.Error()
	}
	http.Redirect(w, r, "./?msg="+url.QueryEscape(msg), http.StatusSeeOther)
}

func (d *Dashboard) retryKey(ctx context.Context, key string) error {
	files, err := rejected.List(ctx, d.Lake.Store)
	if err != nil {
		return err
	}
	picked, missing := rejected.Select(files, []string{key}, "", false)
	if len(missing) > 0 || len(picked) != 1 {
		return fmt.Errorf("no rejected file has this key")
	}
	return rejected.Retry(ctx, d.Lake.Store, d.Audit, picked[0])
}

// view is what the page shows.
type view struct {
	Root     string
	Now      time.Time
	Message  string
	Tables   []tableView
	Days     []dayBar
	Backlog  []backlogRow
	Rejected []rejected.File
	Errors   []logs.Entry
	Trail    string
	CanRetry bool
}

type tableView struct {
	Name, Records, Size, Files, LastLoad, Since, Usual string
	Stale                                              bool
	Columns                                            []string
	SchemaVersions                                     int
	SchemaHistory                                      []string
}

type dayBar struct {
	Day, Label, Rows string
	Percent          int
}

type backlogRow struct {
	Table, Prepare, Load, InFlight string
	Rejected                       int
}

func (d *Dashboard) view(ctx context.Context) (view, error) {
	now := d.Now()
	v := view{Root: d.Lake.Store.URL(""), Now: now, CanRetry: d.Token != ""}
	history, err := stats.History(ctx, d.Lake)
	if err != nil {
		return v, fmt.Errorf("statistics: %w", err)
	}
	if v.Tables, err = d.tables(ctx, history, now); err != nil {
		return v, err
	}
	v.Days = dayBars(history, now, d.Days)
	if v.Backlog, err = backlog(ctx, d.Lake.Store, now); err != nil {
		return v, err
	}
	if v.Rejected, err = rejected.List(ctx, d.Lake.Store); err != nil {
		return v, err
	}
	slices.Reverse(v.Rejected) // newest first
	if v.Errors, err = recentErrors(ctx, d.Lake, now); err != nil {
		return v, err
	}
	v.Trail = trailText(ctx, d.Lake.Store)
	return v, nil
}

// tables are the users' tables, their latest row and freshness taken
// from the statistics' history (read once for the page).
func (d *Dashboard) tables(ctx context.Context, history []stats.TableRow, now time.Time) ([]tableView, error) {
	var out []tableView
	for _, t := range stats.Newest(history, "") {
		if t.Zone != "stg" {
			continue
		}
		var rows []stats.TableRow
		for _, r := range history {
			if r.Table == t.Table && r.Zone == t.Zone {
				rows = append(rows, r)
			}
		}
		f := stats.FreshnessOf(rows, now)
		tv := tableView{Name: t.Table, Records: human.Digits(t.RecordCount), Size: human.Bytes(t.Bytes), Files: human.Digits(t.DataFiles),
			Stale: f.Stale, LastLoad: when(f.LastLoad), Since: roundish(now.Sub(f.LastLoad))}
		if f.Usual > 0 {
			tv.Usual = roundish(f.Usual)
		}
		d.schema(ctx, t.Table, &tv)
		out = append(out, tv)
	}
	return out, nil
}

// schema fills tv's columns from the catalog (left empty when the table
// cannot be loaded now).
func (d *Dashboard) schema(ctx context.Context, name string, tv *tableView) {
	ref, err := lake.ParseTableRef(name)
	if err != nil {
		return
	}
	tbl, err := d.Lake.LoadTable(ctx, ref)
	if err != nil {
		d.Log.Warn("dashboard: table", "table", name, "err", err)
		return
	}
	for _, f := range tbl.Schema().Fields() {
		tv.Columns = append(tv.Columns, f.Name+" "+f.Type.String())
	}
	tv.SchemaVersions = len(tbl.Metadata().Schemas())
	tv.SchemaHistory = schemaHistory(tbl.Metadata().Schemas())
}

// schemaHistory says, version by version, which columns each schema
// added and dropped.
func schemaHistory(schemas []*iceberg.Schema) []string {
	var out []string
	prev := map[string]bool{}
	for i, sc := range schemas {
		cur := map[string]bool{}
		var added, dropped []string
		for _, f := range sc.Fields() {
			cur[f.Name] = true
			if !prev[f.Name] {
				added = append(added, f.Name)
			}
		}
		for name := range prev {
			if !cur[name] {
				dropped = append(dropped, name)
			}
		}
		slices.Sort(dropped)
		line := fmt.Sprintf("version %d (schema id %d): %d columns", i+1, sc.ID, len(sc.Fields()))
		if i > 0 && len(added) > 0 {
			line += "; added " + strings.Join(added, ", ")
		}
		if len(dropped) > 0 {
			line += "; dropped " + strings.Join(dropped, ", ")
		}
		out = append(out, line)
		prev = cur
	}
	return out
}

func dayBars(history []stats.TableRow, now time.Time, days int) []dayBar {
	start := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(days - 1))
	per := stats.RowsPerDay(history, start)
	var most int64 = 1
	for _, n := range per {
		most = max(most, n)
	}
	out := make([]dayBar, days)
	for i := range out {
		day := start.AddDate(0, 0, i).Format(time.DateOnly)
		n := per[day]
		out[i] = dayBar{Day: day, Label: day[5:], Rows: human.Digits(n), Percent: int(100 * n / most)}
	}
	return out
}

func backlog(ctx context.Context, st lake.Store, now time.Time) ([]backlogRow, error) {
	rep, err := status.Collect(ctx, st, now)
	if err != nil {
		return nil, err
	}
	var out []backlogRow
	for _, t := range rep.Tables {
		r := backlogRow{Table: t.Table, Prepare: waiting(t.Waiting["prepare"], now), Load: waiting(t.Waiting["load"], now),
			Rejected: t.Rejected}
		var parts []string
		for stage, n := range t.InFlight {
			parts = append(parts, stage+" "+strconv.Itoa(n))
		}
		slices.Sort(parts)
		r.InFlight = strings.Join(parts, ", ")
		out = append(out, r)
	}
	return out, nil
}

func waiting(w status.Waiting, now time.Time) string {
	if w.Files == 0 {
		return "–"
	}
	return w.Text(now)
}

// recentErrors is the log table's last 50 warnings and errors of the
// last day, newest first.
func recentErrors(ctx context.Context, lk *lake.Lake, now time.Time) ([]logs.Entry, error) {
	es, err := logs.Query(ctx, lk, logs.Filter{Level: "warn", Since: now.Add(-24 * time.Hour)})
	if err != nil {
		return nil, fmt.Errorf("log table: %w", err)
	}
	slices.SortFunc(es, func(a, b logs.Entry) int { return b.Time.Compare(a.Time) })
	return es[:min(len(es), 50)], nil
}

func trailText(ctx context.Context, st lake.Store) string {
	rep, err := trail.Verify(ctx, st, nil)
	switch {
	case err != nil:
		return "cannot be read now: " + err.Error()
	case rep.Break != nil:
		return fmt.Sprintf("BROKEN at record %d (%s): %s", rep.Break.Seq, rep.Break.Key, rep.Break.Reason)
	}
	return fmt.Sprintf("verifies: %s records, every link whole (%s signed)", human.Digits(int64(rep.Records)), human.Digits(int64(rep.Signed)))
}

// roundish is d to the second, or to the millisecond below one.
func roundish(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
