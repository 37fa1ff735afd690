package prepare

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/lagoon-dev/lagoon/lake"
)

// buildPool turns batches of records into Arrow record batches on several
// goroutines (Options.Builders), each with builders and a decoder of its
// own: decoding JSON into builders is most of a conversion's work. A
// source's batches are taken back in the order they were read (see
// sourcePipeline), so rejects, row counts and the output keep the file's
// order whatever goroutine built them.
type buildPool struct {
	jobs chan *buildJob
	wg   sync.WaitGroup
}

// buildJob is one batch of a source: its records, then what building
// them made.
type buildJob struct {
	src     Source
	batch   []Record
	reclaim func() // gives the records' memory back to the reader
	done    chan struct{}

	rec     arrow.RecordBatch // nil: no good record
	good    int64
	rejects []rejectedRecord // in the batch's order
	err     error
}

// rejectedRecord is a record of a batch that goes to the rejects, and why.
type rejectedRecord struct {
	i      int
	reason string
}

// batchBuilder is one goroutine's builders.
type batchBuilder struct {
	c   *converter
	rb  *array.RecordBuilder
	dec *decoder
}

// startBuilders starts n builders (at least one); stop ends them.
func (c *converter) startBuilders(n int) *buildPool {
	p := &buildPool{jobs: make(chan *buildJob)}
	n = max(n, 1)
	c.t.withHints(n)
	for slot := range n {
		b := &batchBuilder{c: c, rb: array.NewRecordBuilder(c.opt.Mem, c.sc), dec: newDecoder(slot)}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			defer b.rb.Release()
			for j := range p.jobs {
				if j.err = lake.ProtectFile(j.src.Key, func() error { return b.build(j) }); j.err != nil {
					b.resetBuilders() // the pass ends; the builders hold part of the batch
				}
				close(j.done)
			}
		}()
	}
	return p
}

// stop ends the builders once the jobs handed to them are done.
func (p *buildPool) stop() {
	close(p.jobs)
	p.wg.Wait()
}

// build appends the batch's records. A record that does not convert is
// noted as rejected and the batch rebuilt without it; a value that needs a
// wider type stops the pass with errWiden.
func (b *batchBuilder) build(j *buildJob) error {
	skip := map[int]bool{}
	for i, r := range j.batch {
		if r.Err != nil {
			skip[i] = true
			j.rejects = append(j.rejects, rejectedRecord{i, r.Err.Error()})
		}
	}
	defer func() { slices.SortFunc(j.rejects, func(x, y rejectedRecord) int { return x.i - y.i }) }()
	for {
		i, cerr := b.tryBatch(j.src, j.batch, skip)
		if cerr == nil {
			break
		}
		var ce *convError
		if !errors.As(cerr, &ce) {
			return cerr
		}
		if ce.widen && !b.c.final {
			return fmt.Errorf("%w: %s line %d: %v", errWiden, j.src.Key, j.batch[i].Line, ce)
		}
		skip[i] = true
		j.rejects = append(j.rejects, rejectedRecord{i, b.c.reason(ce)})
		b.resetBuilders()
	}
	j.good = int64(len(j.batch) - len(skip))
	if j.good > 0 {
		j.rec = b.rb.NewRecordBatch()
		reserveLike(b.rb.Fields(), j.rec.Columns())
	}
	return nil
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

// tryBatch appends the batch's records but those in skip; on error it
// returns the index of the failing record.
func (b *batchBuilder) tryBatch(src Source, batch []Record, skip map[int]bool) (int, error) {
	all := b.rb.Fields()
	builders := all[:len(all)-len(b.c.consts)]
	consts := b.c.constColumns(src, all[len(builders):])
	for i, r := range batch {
		if skip[i] {
			continue
		}
		var err error
		if r.Unparsed {
			err = b.dec.record(builders, b.c.t, r.Raw)
		} else {
			err = appendRecord(builders, b.c.t, r.Val, b.dec.slot)
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

// resetBuilders drops whatever the builders hold. After a record failed
// midway they differ in length, so each is emptied on its own.
func (b *batchBuilder) resetBuilders() {
	for _, f := range b.rb.Fields() {
		f.NewArray().Release()
	}
}

// sourcePipeline takes one source's batches to the builders and their
// results back, in order, on a goroutine of its own: rejects written, rows
// counted, record batches handed to the Parquet writer. At most
// Options.Builders+1 batches are on their way (and one being read), which
// bounds memory.
type sourcePipeline struct {
	src     Source
	pool    *buildPool
	ordered chan *buildJob
	result  chan error
	failed  atomic.Pointer[error]
}

// startSource starts the pipeline of src, whose results go into sr; wait
// ends it.
func (c *converter) startSource(src Source, sr *SourceResult) *sourcePipeline {
	// The collector waits on one batch, the channel holds Builders-1, and
	// the reader waits to send one more: Builders+1 on their way.
	p := &sourcePipeline{src: src, pool: c.pool, ordered: make(chan *buildJob, max(c.opt.Builders, 2)-1), result: make(chan error, 1)}
	go func() { p.result <- c.collect(src, sr, p) }()
	return p
}

// submit hands a batch to the builders; reclaim gives its records' memory
// back. It fails once the pipeline has.
func (p *sourcePipeline) submit(batch []Record, reclaim func()) error {
	if err := p.failed.Load(); err != nil {
		reclaim()
		return *err
	}
	j := &buildJob{src: p.src, batch: batch, reclaim: reclaim, done: make(chan struct{})}
	p.ordered <- j
	p.pool.jobs <- j
	return nil
}

// wait waits for every batch submitted and returns the first error.
func (p *sourcePipeline) wait() error {
	close(p.ordered)
	return <-p.result
}

// collect takes the batches' results in order. After a failure it only
// drains them.
func (c *converter) collect(src Source, sr *SourceResult, p *sourcePipeline) error {
	var first error
	for j := range p.ordered {
		<-j.done
		if first == nil {
			if first = c.take(src, sr, j); first != nil {
				p.failed.Store(&first)
			}
		} else if j.rec != nil {
			j.rec.Release()
		}
		j.reclaim()
	}
	return first
}

// take writes a built batch's rejects, then its rows, out.
func (c *converter) take(src Source, sr *SourceResult, j *buildJob) error {
	for _, r := range j.rejects {
		sr.Bad++
		if err := c.reject(src, j.batch[r.i], r.reason); err != nil {
			if j.rec != nil {
				j.rec.Release()
			}
			return err
		}
	}
	if j.err != nil {
		return j.err
	}
	if j.good == 0 {
		return nil
	}
	sr.Rows += j.good
	c.rows += j.good
	if c.opt.OnRows != nil {
		c.opt.OnRows(j.good)
	}
	return c.w.write(c.pii.apply(j.rec, c.opt.Mem))
}
