package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/rejected"
	"github.com/lagoon-dev/lagoon/trail"
)

type retryFlags struct {
	table  string
	all    bool
	trail  bool
	keyPEM string
}

func retryCmd() *command {
	var f retryFlags
	return &command{
		name:    "retry",
		args:    "KEY... | --table DB.TABLE | --all",
		summary: "move rejected files back to where they came from, to be taken again",
		help: `retry moves rejected files (under log/rejected/) back to where they came from —
prepare/… or load/… — for the daemon to take again; each file's reason file is
deleted, never moved. A KEY names a file where it was (prepare/db/t/x.csv) or
where it is (log/rejected/prepare/db/t/x.csv). Each retry is recorded in the
audit trail ("retried"). A file whose old key holds a file again is left where
it is. Exit status: 0 when every file named moved back, 1 when some did not,
2 on wrong usage (or no lake at --root).`,
		flags: func(fs *flag.FlagSet, g *globals) {
			fs.StringVar(&f.table, "table", "", "retry every rejected file of this table (db.table)")
			fs.BoolVar(&f.all, "all", false, "retry every rejected file")
			fs.BoolVar(&f.trail, "trail", true, "record each retry in the audit trail")
			fs.StringVar(&f.keyPEM, "trail-key", os.Getenv("LAGOON_TRAIL_KEY"), "Ed25519 private key file (PEM, PKCS#8) signing trail records ($LAGOON_TRAIL_KEY)")
			fs.BoolVar(&g.json, "json", false, "print what was retried as JSON")
		},
		run: func(ctx context.Context, g *globals, args []string) int {
			chosen := 0
			for _, on := range []bool{len(args) > 0, f.table != "", f.all} {
				if on {
					chosen++
				}
			}
			if chosen != 1 {
				fmt.Fprintln(g.stderr, "lagoon retry: want KEY..., --table DB.TABLE or --all (one of them); see 'lagoon retry --help'")
				return exitUsage
			}
			return f.run(ctx, g, args)
		},
	}
}

// retried is what retry says of one file.
type retried struct {
	Key     string `json:"key"`
	From    string `json:"from"`
	Reason  string `json:"reason"`
	Retried bool   `json:"retried"`
	Error   string `json:"error,omitempty"`
}

func (f *retryFlags) run(ctx context.Context, g *globals, keys []string) int {
	lk, err := g.openLake(ctx)
	if err != nil {
		return g.fail("retry", err)
	}
	defer lk.Close()
	audit, err := f.auditor(lk)
	if err != nil {
		return g.fail("retry", err)
	}
	files, err := rejected.List(ctx, lk.Store)
	if err != nil {
		return g.fail("retry", err)
	}
	picked, missing := rejected.Select(files, keys, f.table, f.all)
	var out []retried
	for _, k := range missing {
		out = append(out, retried{Key: k, Error: "no rejected file has this key"})
	}
	for _, rf := range picked {
		r := retried{Key: rf.Key, From: rf.MovedTo, Reason: rf.Reason.Reason, Retried: true}
		if err := rejected.Retry(ctx, lk.Store, audit, rf); err != nil {
			r.Retried, r.Error = false, err.Error()
		}
		out = append(out, r)
	}
	return report(g, out)
}

func (f *retryFlags) auditor(lk *lake.Lake) (lake.Auditor, error) {
	if !f.trail {
		return lake.NoAudit{}, nil
	}
	key, err := readPrivateKey(f.keyPEM)
	if err != nil {
		return nil, err
	}
	return trail.NewWriter(lk.Store, key), nil
}

func report(g *globals, out []retried) int {
	failed := 0
	for _, r := range out {
		if !r.Retried {
			failed++
		}
	}
	if g.json {
		if out == nil {
			out = []retried{}
		}
		_ = printJSON(g.stdout, out)
	} else {
		rows := make([][]string, 0, len(out))
		for _, r := range out {
			what := "moved back (rejected: " + r.Reason + ")"
			if !r.Retried {
				what = "not retried: " + r.Error
			}
			rows = append(rows, []string{r.Key, what})
		}
		fmt.Fprintf(g.stdout, "retried %s of %d\n", plural(len(out)-failed, "file"), len(out))
		if len(rows) > 0 {
			printTable(g.stdout, []string{"KEY", "WHAT"}, rows)
		}
	}
	if failed > 0 {
		return exitError
	}
	return exitOK
}
