package prepare

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	pool   *buildPool
	rows   int64
	final  bool
	pii    *piiPlan // the contract's personal-data actions (nil: none)
}

// convertAll is one pass over every source. In the final pass (the type
// was inferred from every record) a value that does not fit makes its
// record bad instead of asking to widen again.
func convertAll(ctx context.Context, srcs []Source, t *Type, sink Sink, opt Options, final bool) (Result, error) {
	c := &converter{t: t, opt: opt, sink: sink, final: final}
	c.sc, c.consts = outputSchema(t, srcs)
	if err := checkPII(c.sc, opt.PII); err != nil {
		return Result{}, err
	}
	var err error
	if c.pii, err = newPIIPlan(c.sc, opt.PII, opt.PIIKey); err != nil {
		return Result{}, err
	}
	c.pool = c.startBuilders(opt.Builders)
	defer c.pool.stop()
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

	p := c.startSource(src, &sr)
	batch := make([]Record, 0, c.opt.BatchRows)
	var mem recordMemory
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := p.submit(batch, mem.detach())
		batch = make([]Record, 0, c.opt.BatchRows)
		return err
	}
	err := eachRecord(ctx, src, c.opt, true, func(r Record, m recordMemory) error {
		mem = m
		batch = append(batch, r)
		if len(batch) == cap(batch) {
			return flush()
		}
		return nil
	})
	if err == nil || isFileErr(err) {
		if ferr := flush(); ferr != nil && err == nil {
			err = ferr
		}
	}
	if perr := p.wait(); perr != nil && (err == nil || isFileErr(err)) {
		return sr, perr
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
