package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/lagoon-dev/lagoon/prepare"
)

type convertFlags struct {
	out     string
	rejects string
	lineage bool
	opt     prepare.Options
	asJSON  bool
}

func convertCmd() *command {
	f := convertFlags{opt: prepare.DefaultOptions()}
	f.opt.FileBytes = 1 << 62 // one output file unless asked
	return &command{
		name:    "convert",
		args:    "INPUT... --out PATH",
		summary: "convert local JSON/CSV/TSV/Avro/ORC files to Parquet (no lake needed)",
		noRoot:  true,
		help: `Converts local files to one Parquet file with the engine of the prepare stage:
JSON (an array, one object, or objects one per line), NDJSON/JSONL, CSV, TSV,
Avro, each also .gz or .zst; the schema is inferred across all inputs. An ORC
file converts alone, typed as it types its columns.

Bad records go to PATH.rejects.ndjson (or --rejects) with file, line, reason
and raw text; the rest converts. Exit status 0 when every record converted, 3
when some were bad or an input could not be read, 1 on other errors.`,
		flags: func(fs *flag.FlagSet, g *globals) {
			fs.StringVar(&f.out, "out", "", "output Parquet file (required)")
			fs.StringVar(&f.rejects, "rejects", "", "where bad records go (default PATH.rejects.ndjson)")
			fs.BoolVar(&f.lineage, "lineage", false, "add "+prepare.LineageColumn+" (the input path) to every row")
			fs.Int64Var(&f.opt.FileBytes, "file-bytes", f.opt.FileBytes, "start a new output file past this size (PATH-00001.parquet, …)")
			fs.Int64Var(&f.opt.RowGroupRows, "row-group-rows", f.opt.RowGroupRows, "rows per Parquet row group")
			fs.BoolVar(&f.asJSON, "json", false, "print the summary as JSON")
		},
		run: func(ctx context.Context, g *globals, args []string) int {
			if len(args) == 0 || f.out == "" {
				fmt.Fprintln(g.stderr, "lagoon convert: want INPUT... --out PATH; see 'lagoon convert --help'")
				return exitUsage
			}
			return f.run(ctx, g, args)
		},
	}
}

func (f *convertFlags) run(ctx context.Context, g *globals, inputs []string) int {
	srcs := make([]prepare.Source, 0, len(inputs))
	for _, in := range inputs {
		src, err := prepare.LocalSource(in)
		if err != nil {
			return g.fail("convert", err)
		}
		if f.lineage {
			src.Consts = []prepare.Const{{Name: prepare.LineageColumn, Value: in}}
		}
		srcs = append(srcs, src)
	}
	rej := &localRejects{path: f.rejects}
	if rej.path == "" {
		rej.path = f.out + ".rejects.ndjson"
	}
	f.opt.Rejects, f.opt.ResetRejects = rej.write, rej.reset
	sink := &prepare.FileSink{Path: f.out}
	start := time.Now()
	stop := f.progress(g, srcs)
	res, err := prepare.Convert(ctx, srcs, sink, f.opt)
	stop()
	if err == nil {
		err = rej.close()
	}
	if err != nil {
		sink.Reset()
		return g.fail("convert", err)
	}
	outs, err := sink.Commit()
	if err != nil {
		return g.fail("convert", err)
	}
	return f.report(g, res, outs, rej, time.Since(start))
}

// progress shows, on a terminal, the bytes read of the inputs, the rows
// converted, the rate and the time left.
func (f *convertFlags) progress(g *globals, srcs []prepare.Source) (stop func()) {
	var done workDone
	var total int64
	for i := range srcs {
		total += srcs[i].Size
		open := srcs[i].Open
		srcs[i].Open = func() (io.ReadCloser, error) {
			rc, err := open()
			if err != nil {
				return nil, err
			}
			return countingReader{ReadCloser: rc, n: &done.bytes}, nil
		}
	}
	f.opt.OnRows = func(n int64) { done.rows.Add(n) }
	return startProgress(g.stderr, func(elapsed time.Duration) string {
		return "converting: " + progressText(done.bytes.Load(), total, done.rows.Load(), elapsed)
	})
}

func (f *convertFlags) report(g *globals, res prepare.Result, outs []string, rej *localRejects, took time.Duration) int {
	var failed []string
	var cut int64
	for _, s := range res.Sources {
		if s.Err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", s.Key, s.Err))
		}
		cut += s.Truncated
	}
	if f.asJSON {
		_ = printJSON(g.stdout, map[string]any{"rows": res.Rows, "outputs": outs, "bad_records": rej.n,
			"rejects": rej.written(), "failed_inputs": failed, "timestamps_truncated": cut, "seconds": took.Seconds()})
	} else {
		fmt.Fprintf(g.stdout, "converted %s rows from %s into %s in %s", groupDigits(res.Rows),
			plural(len(res.Sources), "file"), plural(len(outs), "Parquet file"), took.Round(time.Millisecond))
		if rej.n > 0 {
			fmt.Fprintf(g.stdout, "; %s bad records in %s", groupDigits(rej.n), rej.path)
		}
		if cut > 0 {
			fmt.Fprintf(g.stdout, "; %s timestamps cut to microseconds", groupDigits(cut))
		}
		fmt.Fprintln(g.stdout)
		for _, s := range failed {
			fmt.Fprintf(g.stdout, "  could not read %s\n", s)
		}
	}
	if rej.n > 0 || len(failed) > 0 {
		return exitRejected
	}
	return exitOK
}

// localRejects writes bad records as NDJSON to a local file, created on
// the first one.
type localRejects struct {
	path string
	f    *os.File
	n    int64
}

func (r *localRejects) write(b prepare.BadRecord) error {
	if r.f == nil {
		if err := os.MkdirAll(filepath.Dir(r.path), 0o755); err != nil {
			return err
		}
		f, err := os.Create(r.path)
		if err != nil {
			return err
		}
		r.f = f
	}
	r.n++
	return writeJSONLine(r.f, b)
}

func (r *localRejects) reset() error {
	r.n = 0
	if r.f == nil {
		return nil
	}
	err := errors.Join(r.f.Close(), os.Remove(r.path))
	r.f = nil
	return err
}

func (r *localRejects) close() error {
	if r.f == nil {
		return nil
	}
	return r.f.Close()
}

func (r *localRejects) written() string {
	if r.n == 0 {
		return ""
	}
	return r.path
}
