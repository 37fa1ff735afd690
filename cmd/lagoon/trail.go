package main

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lagoon-dev/lagoon/trail"
)

func trailCmd() *command {
	var pubFile, table, key, kind, since, until string
	return &command{
		name:    "trail",
		logs:    true,
		args:    "verify|list|rebuild",
		summary: "verify, list or rebuild the audit trail",
		help: `trail verify walks the hash chain under trail/records/ and reports the first
broken link (an edited, removed, reordered or inserted record); with
--public-key (an Ed25519 public key, PEM) it also checks every signature. Exit
status 0 when the chain is whole, 4 when it is broken.

trail list prints records, filtered by --table DB.TABLE, --key (substring),
--kind (received, prepared, loaded, deleted, rejected, table_created,
schema_changed, skipped_duplicate, maintained), --since and --until (RFC 3339 or YYYY-MM-DD).

trail rebuild drops the trail's Iceberg table (lagoon.trail, under
trail/metadata/) and builds it again from the records. The daemon keeps the
table current by itself; rebuild is for a table lost or damaged.`,
		flags: func(fs *flag.FlagSet, g *globals) {
			fs.BoolVar(&g.json, "json", false, "print JSON")
			fs.StringVar(&pubFile, "public-key", "", "verify: Ed25519 public key (PEM) the records must be signed with")
			fs.StringVar(&table, "table", "", "list: only this DB.TABLE")
			fs.StringVar(&key, "key", "", "list: only records whose key contains this")
			fs.StringVar(&kind, "kind", "", "list: only this kind of record")
			fs.StringVar(&since, "since", "", "list: from this time")
			fs.StringVar(&until, "until", "", "list: before this time")
		},
		run: func(ctx context.Context, g *globals, args []string) int {
			if !g.wantArgs("trail", args, 1, "verify, list or rebuild") {
				return exitUsage
			}
			switch args[0] {
			case "verify":
				return trailVerify(ctx, g, pubFile)
			case "list":
				f, err := trailFilter(table, key, kind, since, until)
				if err != nil {
					fmt.Fprintf(g.stderr, "lagoon trail list: %v\n", err)
					return exitUsage
				}
				return trailList(ctx, g, f)
			case "rebuild":
				return trailRebuild(ctx, g)
			}
			fmt.Fprintf(g.stderr, "lagoon trail: unknown subcommand %q (verify, list or rebuild)\n", args[0])
			return exitUsage
		},
	}
}

const exitBroken = 4

func trailVerify(ctx context.Context, g *globals, pubFile string) int {
	var pub ed25519.PublicKey
	if pubFile != "" {
		var err error
		if pub, err = readPublicKey(pubFile); err != nil {
			return g.fail("trail verify", err)
		}
	}
	lk, err := g.openLake(ctx)
	if err != nil {
		return g.fail("trail verify", err)
	}
	defer lk.Close()
	rep, err := trail.Verify(ctx, lk.Store, pub)
	if err != nil && !errors.Is(err, trail.ErrBroken) {
		return g.fail("trail verify", err)
	}
	if g.json {
		_ = printJSON(g.stdout, rep)
	} else if rep.Break != nil {
		fmt.Fprintf(g.stdout, "BROKEN at record %d (%s): %s\n%d records before it are whole\n", rep.Break.Seq, rep.Break.Key, rep.Break.Reason, rep.Records)
	} else {
		fmt.Fprintf(g.stdout, "trail whole: %d records, %d signed\n", rep.Records, rep.Signed)
	}
	if rep.Break != nil {
		return exitBroken
	}
	return exitOK
}

func trailFilter(table, key, kind, since, until string) (trail.Filter, error) {
	f := trail.Filter{Table: table, Key: key}
	if kind != "" {
		k, ok := trail.ParseKind(kind)
		if !ok {
			return f, fmt.Errorf("unknown --kind %q", kind)
		}
		f.Kind = k
	}
	var err error
	if f.Since, err = parseSince("--since", since); err != nil {
		return f, err
	}
	f.Until, err = parseSince("--until", until)
	return f, err
}

// parseSince parses a time flag: RFC 3339, a date, or a duration back
// from now ("90m", "24h", "7d"); "" is no bound.
func parseSince(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.ParseFloat(days, 64); err == nil && n >= 0 {
			return time.Now().Add(-time.Duration(n * 24 * float64(time.Hour))), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return time.Now().Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%s %q: want a time (2026-11-22T10:00:00Z, or 2026-11-22) or a duration back from now: a number and a unit of ns, us, ms, s, m, h or d (90s, 15m, 24h, 7d)", flag, s)
}

type trailRow struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Kind string    `json:"kind"`
	Prev string    `json:"prev_hash"`
	Hash string    `json:"hash"`
	trail.Event
}

func trailList(ctx context.Context, g *globals, f trail.Filter) int {
	lk, err := g.openLake(ctx)
	if err != nil {
		return g.fail("trail list", err)
	}
	defer lk.Close()
	recs, err := trail.List(ctx, lk.Store, f)
	if err != nil {
		return g.fail("trail list", err)
	}
	rows := make([]trailRow, 0, len(recs))
	for _, r := range recs {
		rows = append(rows, trailRow{Seq: r.Seq, Time: r.Time, Kind: r.Kind.String(),
			Prev: hex.EncodeToString(r.Prev[:]), Hash: hex.EncodeToString(r.Hash[:]), Event: r.Event})
	}
	if g.json {
		_ = printJSON(g.stdout, rows)
		return exitOK
	}
	var out [][]string
	for _, r := range rows {
		what := r.Key
		if keys := r.Keys(); len(keys) > 0 {
			what = keys[0]
			if len(keys) > 1 {
				what += fmt.Sprintf(" (+%d more)", len(keys)-1)
			}
		}
		if r.Reason != "" {
			what += " (" + r.Reason + ")"
		}
		rows := ""
		if r.Rows > 0 {
			rows = groupDigits(r.Rows)
		}
		out = append(out, []string{strconv.FormatUint(r.Seq, 10), r.Time.Local().Format(time.DateTime), r.Kind, r.Table, rows, what})
	}
	printTable(g.stdout, []string{"SEQ", "TIME", "KIND", "TABLE", "ROWS", "KEY"}, out)
	return exitOK
}

func trailRebuild(ctx context.Context, g *globals) int {
	lk, err := g.openLake(ctx)
	if err != nil {
		return g.fail("trail rebuild", err)
	}
	defer lk.Close()
	n, err := trail.NewSyncer(lk, g.log).Rebuild(ctx)
	if err != nil {
		return g.fail("trail rebuild", err)
	}
	if g.json {
		_ = printJSON(g.stdout, map[string]int{"records": n})
	} else {
		fmt.Fprintf(g.stdout, "trail table rebuilt: %s\n", plural(n, "record"))
	}
	return exitOK
}

// readPublicKey reads an Ed25519 public key in PEM (PKIX).
func readPublicKey(file string) (ed25519.PublicKey, error) {
	return readPEMKey[ed25519.PublicKey](file, x509.ParsePKIXPublicKey)
}

// readPrivateKey reads an Ed25519 private key in PEM (PKCS#8); "" is no
// key (records are not signed).
func readPrivateKey(file string) (ed25519.PrivateKey, error) {
	if file == "" {
		return nil, nil
	}
	return readPEMKey[ed25519.PrivateKey](file, x509.ParsePKCS8PrivateKey)
}

// readPEMKey reads the first PEM block of file and parses it as a K.
func readPEMKey[K any](file string, parse func([]byte) (any, error)) (K, error) {
	var zero K
	data, err := os.ReadFile(file)
	if err != nil {
		return zero, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return zero, fmt.Errorf("%s: not PEM", file)
	}
	k, err := parse(block.Bytes)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", file, err)
	}
	key, ok := k.(K)
	if !ok {
		return zero, fmt.Errorf("%s: not an Ed25519 key", file)
	}
	return key, nil
}
