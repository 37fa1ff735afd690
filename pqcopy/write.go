// Package pqcopy writes a Parquet file anew without re-encoding it: the
// column chunks of a source file are copied byte for byte (pages
// untouched), constant columns are added as chunks of one dictionary
// value, and the footer is written fresh, with the caller's schema (its
// names, logical types and field ids) and statistics computed from the
// decoded values, never taken from the source.
//
// Every byte of the source is hostile: a chunk whose pages do not fill it
// exactly, a page whose CRC fails, a chunk that does not decode or whose
// levels disagree with its metadata is refused (ErrUnfit), and the caller
// re-encodes the file instead, which rejects it if it is truly broken.
package pqcopy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/schema"
	"golang.org/x/sync/errgroup"
)

// ErrUnfit classifies a source file that cannot be copied as it is: its
// layout, its bytes or its metadata are not what a copy may trust, or the
// plan asks for what a copy cannot do. The caller re-encodes it instead.
var ErrUnfit = errors.New("parquet file cannot be copied as it is")

// Plan says what Write makes of a source file.
type Plan struct {
	// Schema is the output's schema. Each leaf copied from the source must
	// have the source leaf's physical type and the same repetitions on its
	// path (its levels are copied); names, logical types (of the same
	// values) and field ids are free.
	Schema *schema.Schema
	// Columns says where each leaf of Schema comes from, in order.
	Columns []Column
	// CreatedBy is the footer's created_by.
	CreatedBy string
	// Metadata is the footer's key-value metadata (the source's is not kept).
	Metadata metadata.KeyValueMetadata
}

// Column is the origin of one output leaf: a leaf of the source, or one
// value for every row.
type Column struct {
	// Source is the source leaf copied; -1 for a constant.
	Source int
	// Value is a constant's value as statistics hold it: PLAIN, a
	// BYTE_ARRAY's bytes without their length.
	Value []byte
}

// Source is a file copied: its bytes, and arrow-go's reader of them.
type Source struct {
	R    io.ReaderAt
	Size int64
	File *file.Reader
}

// Part is one source file and the plan for it. The parts of one Write
// share the output schema; their constants' values may differ.
type Part struct {
	Source Source
	Plan   Plan
}

// Write writes the parts as one file to w, row group by row group: each
// part's row groups in turn, their copied chunks and constants in the
// plan's order, then the footer (the first plan's CreatedBy and
// Metadata). Row groups without rows are left out. An error wrapping
// ErrUnfit means a source cannot be copied; w then holds a part, to
// discard. It returns the bytes written. A panic reading a source's
// metadata is ErrUnfit too.
func Write(ctx context.Context, w io.Writer, parts ...Part) (n int64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: reading the file panicked: %v", ErrUnfit, r)
		}
	}()
	if len(parts) == 0 {
		return 0, errors.New("pqcopy: nothing to write")
	}
	stats := make([][][]metadata.EncodedStatistics, len(parts))
	for i, p := range parts {
		if err := check(p.Source.File, p.Plan, parts[0].Plan); err != nil {
			return 0, err
		}
		if stats[i], err = scanAll(ctx, p.Source.File, p.Plan); err != nil {
			return 0, err
		}
	}
	out := &counter{w: w}
	if _, err := io.WriteString(out, "PAR1"); err != nil {
		return out.n, err
	}
	var groups []RowGroup
	for i, p := range parts {
		if groups, err = writeGroups(ctx, out, p, stats[i], groups); err != nil {
			return out.n, err
		}
	}
	return out.n, WriteFooter(out, parts[0].Plan.Schema, parts[0].Plan.CreatedBy, parts[0].Plan.Metadata, groups)
}

// writeGroups writes a part's row groups with rows, after groups.
func writeGroups(ctx context.Context, out *counter, p Part, stats [][]metadata.EncodedStatistics, groups []RowGroup) ([]RowGroup, error) {
	pf := p.Source.File
	for i := range pf.NumRowGroups() {
		if err := ctx.Err(); err != nil {
			return groups, err
		}
		rg := pf.MetaData().RowGroup(i)
		if rg.NumRows() == 0 {
			continue
		}
		g, err := writeGroup(out, p.Source, rg, p.Plan, stats[i], len(groups))
		if err != nil {
			return groups, err
		}
		groups = append(groups, g)
	}
	return groups, nil
}

// check refuses a plan a copy cannot carry out, or one whose output
// schema is not first's.
func check(pf *file.Reader, plan, first Plan) error {
	if len(plan.Columns) != plan.Schema.NumColumns() {
		return fmt.Errorf("pqcopy: %d columns planned for a schema of %d", len(plan.Columns), plan.Schema.NumColumns())
	}
	if plan.SchemaString() != first.SchemaString() {
		return errors.New("pqcopy: the parts of one file have different schemas")
	}
	src := pf.MetaData().Schema
	for i, c := range plan.Columns {
		if c.Source < 0 {
			continue
		}
		if c.Source >= src.NumColumns() {
			return fmt.Errorf("pqcopy: source column %d of %d", c.Source, src.NumColumns())
		}
		if err := sameLevels(src.Column(c.Source), plan.Schema.Column(i)); err != nil {
			return err
		}
	}
	if pf.MetaData().IsSetEncryptionAlgorithm() {
		return fmt.Errorf("%w: an encrypted file", ErrUnfit)
	}
	return nil
}

// SchemaString is the plan's output schema as arrow-go prints it: names,
// types, field ids. Plans of one string may be parts of one file.
func (p Plan) SchemaString() string {
	var b strings.Builder
	schema.PrintSchema(p.Schema.Root(), &b, 1)
	return b.String()
}

// sameLevels checks that out can take in's pages: the same physical type
// and length, and the same repetition at every level of the path.
func sameLevels(in, out *schema.Column) error {
	if in.PhysicalType() != out.PhysicalType() || in.TypeLength() != out.TypeLength() {
		return fmt.Errorf("%w: column %s is %s, planned as %s", ErrUnfit, in.Path(), in.PhysicalType(), out.PhysicalType())
	}
	a, b := repetitions(in.SchemaNode()), repetitions(out.SchemaNode())
	if len(a) != len(b) {
		return fmt.Errorf("%w: column %s: paths of %d and %d levels", ErrUnfit, in.Path(), len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			return fmt.Errorf("%w: column %s: repetition differs at level %d", ErrUnfit, in.Path(), i)
		}
	}
	return nil
}

// repetitions lists the repetitions from n up to (not including) the root.
func repetitions(n schema.Node) []int {
	var out []int
	for ; n != nil && n.Parent() != nil; n = n.Parent() {
		out = append(out, int(n.RepetitionType()))
	}
	return out
}

// scanAll decodes every copied chunk for its statistics (see scan), a
// chunk per core at a time: stats[row group][output leaf].
func scanAll(ctx context.Context, pf *file.Reader, plan Plan) ([][]metadata.EncodedStatistics, error) {
	stats := make([][]metadata.EncodedStatistics, pf.NumRowGroups())
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range stats {
		stats[i] = make([]metadata.EncodedStatistics, len(plan.Columns))
		rg := pf.RowGroup(i)
		if rg.NumRows() == 0 {
			continue
		}
		for j, c := range plan.Columns {
			if c.Source < 0 {
				continue
			}
			g.Go(func() (err error) {
				if err := ctx.Err(); err != nil {
					return err
				}
				stats[i][j], err = scan(rg, c.Source, plan.Schema.Column(j))
				return err
			})
		}
	}
	return stats, g.Wait()
}

// counter is a writer that counts what it wrote.
type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}
