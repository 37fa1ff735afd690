package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/relocate"
)

// lakeConfig is the lake the global flags name.
func (g *globals) lakeConfig() lake.Config {
	return lake.Config{Root: g.root, Catalog: g.catalog, S3PathStyle: g.pathStyle, REST: g.rest}
}

// openLake opens a lake that exists already (lake.ErrNoLake when there
// is none: nothing is created), for commands that read it or its trail;
// they take no lock. A lake copied or moved is read as its catalog names
// it (see relocate), with a warning.
func (g *globals) openLake(ctx context.Context) (*lake.Lake, error) {
	cfg := g.lakeConfig()
	cfg.MustExist = true
	lk, err := lake.Open(ctx, cfg)
	if err == nil && errors.Is(lk.IdentityErr, lake.ErrMoved) {
		g.log.Warn("this lake was copied or moved; lagoon run (or init) relocates it", "root", g.root)
	}
	return lk, err
}

// openOwnLake opens the lake for a command that writes its tables: a lake
// copied or moved is relocated first (see relocate).
func (g *globals) openOwnLake(ctx context.Context, cfg lake.Config) (*lake.Lake, error) {
	lk, err := lake.Open(ctx, cfg)
	if err != nil || !errors.Is(lk.IdentityErr, lake.ErrMoved) {
		return lk, err
	}
	lk.Close()
	if err := g.relocate(ctx); err != nil {
		return nil, err
	}
	return lake.Open(ctx, cfg)
}

// relocate makes a local lake on its embedded catalog that was copied or
// moved its own (see package relocate) and says so; any other lake is
// left as it is (a shared catalog cannot follow: RequireIdentity says
// what to do).
func (g *globals) relocate(ctx context.Context) error {
	if lake.IsS3(g.root) || (g.catalog != "" && g.catalog != lake.CatalogSQLite) {
		return nil
	}
	st, err := lake.NewLocal(g.root)
	if err != nil {
		return err
	}
	rep, err := relocate.Run(ctx, st, g.log)
	if err != nil || rep.From == "" {
		return err
	}
	kind := "moved"
	if rep.Copy {
		kind = "copied (it has a lake id of its own now: " + rep.ID + ")"
	}
	fmt.Fprintf(g.stderr, "lagoon: this lake was %s from %s; relocated %d tables (%d metadata files)\n",
		kind, rep.From, rep.Tables, rep.Files)
	for _, m := range rep.Missing {
		fmt.Fprintf(g.stderr, "lagoon: relocating: %s is named by a table but is not in the folder (an old snapshot's)\n", m)
	}
	return nil
}

// located is a store in a bucket (lake.S3).
type located interface {
	Bucket() string
	Prefix() string
}

// bucketOf is where lk's store is in its bucket ("", "" for a store in
// none: a local lake), for telling its notifications from others'.
func bucketOf(lk *lake.Lake) (bucket, prefix string) {
	if loc, ok := lk.Store.(located); ok {
		return loc.Bucket(), loc.Prefix()
	}
	return "", ""
}
