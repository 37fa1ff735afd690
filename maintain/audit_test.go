package maintain_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/maintain"
	"github.com/lagoon-dev/lagoon/trail"
)

// cutAuditor is the trail, but its first record fails, as a process
// killed between a maintenance commit and its record would leave it.
type cutAuditor struct {
	lake.Auditor
	cut bool
}

func (a *cutAuditor) Record(ctx context.Context, ev lake.AuditEvent) error {
	if !a.cut {
		a.cut = true
		return errors.New("killed before the record")
	}
	return a.Auditor.Record(ctx, ev)
}

// TestCutRunIsRecordedOnce: a run whose commit landed but whose record
// did not is recorded by the table's next run, from what the table shows
// (its compaction snapshot); a run that completes is recorded once; no
// intent is left behind.
func TestCutRunIsRecordedOnce(t *testing.T) {
	l := lakefixture.Open(t)
	loads(t, l, 12)
	ctx := context.Background()
	audit := &cutAuditor{Auditor: trail.NewWriter(l.Store, nil)}
	rec := maintain.Recorder{Store: l.Store, Audit: audit, Log: quiet()}
	if rep, err := rec.Run(ctx, maintainer(l), ref); err == nil || rep.FilesRewritten != 12 {
		t.Fatalf("the cut run: %+v %v", rep, err)
	}
	if recs := maintained(t, l); len(recs) != 0 {
		t.Fatalf("recorded already: %v", recs)
	}
	loads(t, l, 1) // the table moves on meanwhile
	if _, err := rec.Run(ctx, maintainer(l), ref); err != nil {
		t.Fatal(err)
	}
	recs := maintained(t, l)
	if len(recs) != 1 || !strings.Contains(recs[0], "a run cut before its record") || !strings.Contains(recs[0], "replace snapshots") {
		t.Errorf("records after recovery: %v", recs)
	}
	loads(t, l, 12)
	if rep, err := rec.Run(ctx, maintainer(l), ref); err != nil || rep.FilesRewritten == 0 {
		t.Fatalf("a whole run: %+v %v", rep, err)
	}
	if recs := maintained(t, l); len(recs) != 2 || strings.Contains(recs[1], "cut") {
		t.Errorf("records after a whole run: %v", recs)
	}
	for info, err := range l.Store.List(ctx, maintain.RunPrefix) {
		t.Errorf("intent left: %s %v", info.Key, err)
	}
}

// maintained is the details of the trail's maintained records.
func maintained(tb testing.TB, l *lake.Lake) []string {
	tb.Helper()
	recs, err := trail.List(context.Background(), l.Store, trail.Filter{Kind: trail.KindMaintained})
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.Event.Detail)
	}
	return out
}
