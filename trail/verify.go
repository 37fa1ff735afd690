package trail

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrBroken classifies a trail that fails verification.
var ErrBroken = errors.New("trail broken")

// Report is the outcome of Verify.
type Report struct {
	Records uint64 `json:"records"`
	Signed  uint64 `json:"signed"`
	// Break, when set, is the first broken link: where and why.
	Break *Break `json:"break,omitempty"`
}

// Break locates the first problem found.
type Break struct {
	Seq    uint64 `json:"seq"`
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

// Verify walks the chain from its first record and reports the first
// broken link: a record that does not parse, a sequence number that is
// missing (a removed record) or does not match its key (a moved one), a
// predecessor hash that does not match (an edited, reordered or inserted
// record), or, with pub set, a missing or bad signature. The error wraps
// ErrBroken when the trail is broken.
func Verify(ctx context.Context, st Store, pub ed25519.PublicKey) (Report, error) {
	var rep Report
	recs, stray, err := keys(ctx, st)
	if err != nil {
		return rep, err
	}
	if len(stray) > 0 {
		return rep.broke(0, stray[0], "an object that is not a record sits among the records")
	}
	var prev [32]byte
	for i, key := range recs {
		want := uint64(i)
		if seq, _ := seqOf(key); seq != want {
			return rep.broke(want, KeyOf(want), fmt.Sprintf("record %d is missing (next present: %s)", want, key))
		}
		data, err := readAll(ctx, st, key)
		if err != nil {
			return rep, err
		}
		if reason := check(data, want, prev, pub); reason != "" {
			return rep.broke(want, key, reason)
		}
		rec, _ := Decode(data)
		if len(rec.Signature) > 0 {
			rep.Signed++
		}
		prev = Hash(data)
		rep.Records++
	}
	return rep, nil
}

func (r Report) broke(seq uint64, key, reason string) (Report, error) {
	r.Break = &Break{Seq: seq, Key: key, Reason: reason}
	return r, fmt.Errorf("%w at record %d (%s): %s", ErrBroken, seq, key, reason)
}

// check returns why data is not record seq following prev, or "".
func check(data []byte, seq uint64, prev [32]byte, pub ed25519.PublicKey) string {
	rec, err := Decode(data)
	switch {
	case err != nil:
		return err.Error()
	case rec.Seq != seq:
		return fmt.Sprintf("holds sequence number %d, expected %d (records were moved)", rec.Seq, seq)
	case rec.Prev != prev:
		return "its predecessor hash does not match the previous record (a record was edited, removed, reordered or inserted)"
	case pub != nil && len(rec.Signature) == 0:
		return "unsigned, but a public key was given"
	case pub != nil && !ed25519.Verify(pub, signed(data), rec.Signature):
		return "bad signature (the record was edited, or signed by another key)"
	}
	return ""
}

// Filter selects records for List.
type Filter struct {
	Table string // exact db.table
	Key   string // substring of the event's key
	Kind  Kind   // 0: any
	Since time.Time
	Until time.Time
}

func (f Filter) match(r Record) bool {
	switch {
	case f.Table != "" && r.Event.Table != f.Table,
		f.Key != "" && !slices.ContainsFunc(r.Event.Keys(), func(k string) bool { return strings.Contains(k, f.Key) }),
		f.Kind != 0 && r.Kind != f.Kind,
		!f.Since.IsZero() && r.Time.Before(f.Since),
		!f.Until.IsZero() && !r.Time.Before(f.Until):
		return false
	}
	return true
}

// Listed is a record as List found it, with the SHA-256 of its bytes
// (the next record's Prev).
type Listed struct {
	Record
	Hash [32]byte
}

// List returns the records matching f, in sequence order. It reads the
// records as they are; Verify says whether they can be trusted.
func List(ctx context.Context, st Store, f Filter) ([]Listed, error) {
	recs, _, err := keys(ctx, st)
	if err != nil {
		return nil, err
	}
	var out []Listed
	for _, key := range recs {
		data, err := readAll(ctx, st, key)
		if err != nil {
			return nil, err
		}
		rec, err := Decode(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		if f.match(rec) {
			out = append(out, Listed{Record: rec, Hash: Hash(data)})
		}
	}
	return out, nil
}
