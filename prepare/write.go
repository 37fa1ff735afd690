package prepare

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/lagoon-dev/lagoon/lake"
)

// converter is one pass of a conversion: records → batches → Parquet.
type converter struct {
	t      *Type
	sc     *arrow.Schema
	consts []string // names of the constant columns, after the record's
	opt    Options
	sink   Sink
	w      *outWriter
	rb     *array.RecordBuilder
	rows   int64
	dec    *decoder
	final  bool
	pii    *piiPlan // the contract's personal-data actions (nil: none)
}

// convertAll is one pass over every source. In the final pass (the type
// was inferred from every record) a value that does not fit makes its
// record bad instead of asking to widen again.
func convertAll(ctx context.Context, srcs []Source, t *Type, sink Sink, opt Options, final bool) (Result, error) {
	c := &converter{t: t, opt: opt, sink: sink, dec: newDecoder(), final: final}
	c.sc, c.consts = outputSchema(t, srcs)
	if err := checkPII(c.sc, opt.PII); err != nil {
		return Result{}, err
	}
	var err error
	if c.pii, err = newPIIPlan(c.sc, opt.PII, opt.PIIKey); err != nil {
		return Result{}, err
	}
	c.rb = array.NewRecordBuilder(opt.Mem, c.sc)
	defer c.rb.Release()
	out := c.pii.schema(c.sc)
	reg := registrable(out, opt.Register)
	c.w = startWriter(out, reg, opt, sink)
	res := Result{Schema: out, Registrable: reg != nil}
	for _, src := range srcs {
		var sr SourceResult
		err := lake.ProtectFile(src.Key, func() (err error) {
			sr, err = c.source(ctx, src)
			return err
		})
		if err != nil {
			c.w.abort()
			return Result{}, err
		}
		res.Sources = append(res.Sources, sr)
	}
	outs, err := c.w.close()
	if err != nil {
		return Result{}, err
	}
	res.Rows, res.Outputs = c.rows, outs
	return res, nil
}

// outputSchema is the record columns then the constant columns (in order
// of first appearance across the sources).
func outputSchema(t *Type, srcs []Source) (*arrow.Schema, []string) {
	fields := t.arrowFields()
	var consts []string
	for _, s := range srcs {
		for _, c := range s.Consts {
			if !slices.Contains(consts, c.Name) {
				consts = append(consts, c.Name)
				fields = append(fields, arrow.Field{Name: c.Name, Type: arrow.BinaryTypes.String, Nullable: true})
			}
		}
	}
	return arrow.NewSchema(fields, nil), consts
}

// source converts one file, batch by batch.
func (c *converter) source(ctx context.Context, src Source) (SourceResult, error) {
	sr := SourceResult{Key: src.Key}
	hr := &hashingReader{}
	if c.opt.HashSources {
		hr.h = sha256.New()
		open := src.Open
		src.Open = func() (io.ReadCloser, error) {
			rc, err := open()
			hr.rc = rc
			return hr, err
		}
	}

	batch := make([]Record, 0, c.opt.BatchRows)
	flush := func() error {
		n, bad, err := c.appendBatch(src, batch)
		sr.Rows += n
		sr.Bad += bad
		batch = batch[:0]
		return err
	}
	err := eachRecord(ctx, src, c.opt, true, func(r Record, release func()) error {
		if r.Err != nil {
			sr.Bad++
			return c.reject(src, r, r.Err.Error())
		}
		batch = append(batch, r)
		if len(batch) == cap(batch) {
			err := flush()
			release() // the batch is in the builders (copied) or rejected
			return err
		}
		return nil
	})
	if err == nil || isFileErr(err) {
		if ferr := flush(); ferr != nil {
			return sr, ferr
		}
	}
	if hr.whole { // eachRecord closed it: read to its end
		sr.SHA256 = hex.EncodeToString(hr.h.Sum(nil))
	}
	if isFileErr(err) {
		sr.Err = err
		return sr, nil
	}
	return sr, err
}

// appendBatch appends a batch's records and writes them out. A record that
// does not convert is rejected and the batch rebuilt without it; a value
// that needs a wider type stops the pass with errWiden.
func (c *converter) appendBatch(src Source, batch []Record) (good, bad int64, err error) {
	skip := map[int]bool{}
	for {
		i, cerr := c.tryBatch(src, batch, skip)
		if cerr == nil {
			break
		}
		var ce *convError
		if !errors.As(cerr, &ce) {
			return 0, 0, cerr
		}
		if ce.widen && !c.final {
			return 0, 0, fmt.Errorf("%w: %s line %d: %v", errWiden, src.Key, batch[i].Line, ce)
		}
		skip[i] = true
		if err := c.reject(src, batch[i], c.reason(ce)); err != nil {
			return 0, 0, err
		}
		c.resetBuilders()
	}
	n := int64(len(batch) - len(skip))
	if n == 0 {
		return 0, int64(len(skip)), nil
	}
	c.rows += n
	if c.opt.OnRows != nil {
		c.opt.OnRows(n)
	}
	rec := c.rb.NewRecordBatch()
	reserveLike(c.rb.Fields(), rec.Columns())
	return n, int64(len(skip)), c.w.write(c.pii.apply(rec, c.opt.Mem))
}

// tryBatch appends the batch's records but those in skip; on error it
// returns the index of the failing record.
func (c *converter) tryBatch(src Source, batch []Record, skip map[int]bool) (int, error) {
	all := c.rb.Fields()
	builders := all[:len(all)-len(c.consts)]
	consts := c.constColumns(src, all[len(builders):])
	for i, r := range batch {
		if skip[i] {
			continue
		}
		var err error
		if r.Unparsed {
			err = c.dec.record(builders, c.t, r.Raw)
		} else {
			err = appendRecord(builders, c.t, r.Val)
		}
		if err != nil {
			return i, err
		}
		for _, k := range consts {
			if k.null {
				k.b.AppendNull()
			} else {
				k.b.Append(k.value)
			}
		}
	}
	return 0, nil
}

// constColumn is one constant column's builder and its value for a source.
type constColumn struct {
	b     *array.StringBuilder
	value string
	null  bool // the source has no such column (e.g. no name=value folder)
}

// constColumns resolves the constant columns' values for src once, so the
// per-row loop only appends.
func (c *converter) constColumns(src Source, builders []array.Builder) []constColumn {
	out := make([]constColumn, len(c.consts))
	for j, name := range c.consts {
		out[j] = constColumn{b: builders[j].(*array.StringBuilder), null: true}
		if i := slices.IndexFunc(src.Consts, func(k Const) bool { return k.Name == name }); i >= 0 {
			out[j].value, out[j].null = src.Consts[i].Value, false
		}
	}
	return out
}

// resetBuilders drops whatever the builders hold. After a record failed
// midway they differ in length, so each is emptied on its own.
func (c *converter) resetBuilders() {
	for _, b := range c.rb.Fields() {
		b.NewArray().Release()
	}
}

// reason is a conversion error as the rejects file says it: the value of
// a personal-data column is withheld.
func (c *converter) reason(ce *convError) string {
	col, _, _ := strings.Cut(strings.TrimPrefix(ce.path, "$."), ".")
	if _, private := c.opt.PII[lake.NormalizeColumn(col)]; private && !ce.syntax {
		return ce.path + ": a value of a personal-data column does not convert (withheld)"
	}
	return ce.Error()
}

func (c *converter) reject(src Source, r Record, reason string) error {
	if c.opt.Rejects == nil {
		return nil
	}
	raw := string(cut(r.Raw))
	if len(c.opt.PII) > 0 {
		raw = WithheldRaw
	}
	return c.opt.Rejects(BadRecord{Key: src.Key, Line: r.Line, Record: r.Num, Reason: reason, Raw: raw})
}

// hashingReader hashes what is read through it; Close reads the rest (a
// reader may stop before the end, as at a JSON array's closing bracket),
// so the hash is the whole file's.
type hashingReader struct {
	rc    io.ReadCloser
	h     hash.Hash
	whole bool
}

func (r *hashingReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.h.Write(p[:n])
	return n, err
}

func (r *hashingReader) Close() error {
	_, err := io.Copy(r.h, r.rc)
	r.whole = err == nil
	return r.rc.Close()
}

// reserveLike sizes builders for a batch like rec (the previous one), so
// that appending does not grow their buffers step by step.
func reserveLike(bs []array.Builder, cols []arrow.Array) {
	for i, b := range bs {
		reserveArray(b, cols[i])
	}
}

func reserveArray(b array.Builder, a arrow.Array) {
	b.Reserve(a.Len())
	switch b := b.(type) {
	case *array.StringBuilder:
		b.ReserveData(len(a.(*array.String).ValueBytes()))
	case *array.BinaryBuilder:
		if a, ok := a.(*array.Binary); ok {
			b.ReserveData(len(a.ValueBytes()))
		}
	case *array.StructBuilder:
		s := a.(*array.Struct)
		for i := range b.NumField() {
			reserveArray(b.FieldBuilder(i), s.Field(i))
		}
	case *array.ListBuilder:
		reserveArray(b.ValueBuilder(), a.(*array.List).ListValues())
	}
}
