package pqencode

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/lagoon-dev/lagoon/pqcompat"
	"github.com/lagoon-dev/lagoon/pqcopy"
)

// Parquet page types (parquet.thrift).
const (
	pageData       = 0
	pageDictionary = 2
)

// rowsPerStep is how many rows' levels are collected before the page's
// size is checked (arrow-go's write batch size).
const rowsPerStep = 1024

// column is one leaf's chunk in the row group being written: its data
// pages, compressed, and what the chunk's footer entry needs.
type column struct {
	path  leafPath
	desc  *schema.Column
	enc   valueEncoder
	dict  bool // new chunks start with a dictionary
	codec compress.Codec
	level int
	limit Options

	lv            levels
	defs, reps    rleEncoder
	pageLevels    int
	pageNulls     int
	scratch, zbuf []byte
	pages         []byte // the chunk's data pages
	head          []byte // its dictionary page, once sealed
	headSize      int64  // that page uncompressed
	levels, nulls int64
	uncompressed  int64
	dictPages     int // data pages written with the dictionary
	plainPages    int
}

func newColumn(path leafPath, t arrow.DataType, desc *schema.Column, dict bool, opt Options) (*column, error) {
	if desc.MaxDefinitionLevel() != path.maxDef || desc.MaxRepetitionLevel() != path.maxRep {
		return nil, fmt.Errorf("pqencode: column %s: levels %d/%d, the schema says %d/%d", desc.Path(),
			path.maxDef, path.maxRep, desc.MaxDefinitionLevel(), desc.MaxRepetitionLevel())
	}
	codec, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		return nil, err
	}
	c := &column{path: path, desc: desc, enc: newValueEncoder(t), dict: dict, codec: codec, level: opt.ZstdLevel, limit: opt}
	c.reset()
	return c, nil
}

// reset starts a new chunk.
func (c *column) reset() {
	c.enc.reset(c.dict)
	c.pages = c.pages[:0]
	c.levels, c.nulls, c.uncompressed, c.dictPages, c.plainPages = 0, 0, 0, 0, 0
	c.startPage()
}

func (c *column) startPage() {
	c.defs = newRLE(bitWidth(uint64(c.path.maxDef)), c.defs.out[:0])
	c.reps = newRLE(bitWidth(uint64(c.path.maxRep)), c.reps.out[:0])
	c.pageLevels, c.pageNulls = 0, 0
}

// write adds rows [from, to) of the batch whose column on the leaf's path
// is top.
func (c *column) write(top arrow.Array, from, to int) error {
	arrs := c.path.arrays(top)
	leaf := arrs[len(arrs)-1].a
	for r := from; r < to; r += rowsPerStep {
		c.lv.reset()
		c.path.collect(&c.lv, arrs, r, min(r+rowsPerStep, to))
		c.addLevels(leaf)
		if c.enc.pageSize()+len(c.defs.out)+len(c.reps.out) >= int(c.limit.PageBytes) {
			if err := c.flushPage(); err != nil {
				return err
			}
		}
		if c.enc.dictSize() >= int(c.limit.DictionaryBytes) {
			if err := c.flushPage(); err != nil {
				return err
			}
			c.enc.fallBack()
		}
	}
	return nil
}

func (c *column) addLevels(leaf arrow.Array) {
	n := len(c.lv.idx)
	levels := n
	if c.path.maxDef > 0 {
		levels = len(c.lv.def)
		putRuns(&c.defs, c.lv.def)
	}
	if c.path.maxRep > 0 {
		putRuns(&c.reps, c.lv.rep)
	}
	c.enc.put(leaf, c.lv.idx)
	c.pageLevels += levels
	c.pageNulls += levels - n
}

// putRuns adds vs to e run by run.
func putRuns(e *rleEncoder, vs []uint16) {
	for i := 0; i < len(vs); {
		j := i + 1
		for j < len(vs) && vs[j] == vs[i] {
			j++
		}
		e.putRun(uint64(vs[i]), j-i)
		i = j
	}
}

// flushPage compresses the page into the chunk's pages.
func (c *column) flushPage() error {
	if c.pageLevels == 0 {
		return nil
	}
	if c.pageLevels > math.MaxInt32 {
		return fmt.Errorf("pqencode: column %s: a page of %d values", c.desc.Path(), c.pageLevels)
	}
	body := c.scratch[:0]
	if c.path.maxRep > 0 {
		body = levelSection(body, c.reps.finish())
	}
	if c.path.maxDef > 0 {
		body = levelSection(body, c.defs.finish())
	}
	body, enc := c.enc.page(body)
	c.scratch = body
	hdr := pqcompat.Struct(field(5, pqcompat.Struct(
		field(1, pqcompat.I32(int32(c.pageLevels))),
		field(2, pqcompat.I32(enc)),
		field(3, pqcompat.I32(encRLE)),
		field(4, pqcompat.I32(encRLE)),
	)))
	var unc int64
	var err error
	if c.pages, unc, err = c.encodePage(c.pages, pageData, hdr, body); err != nil {
		return err
	}
	c.uncompressed += unc
	if enc == encDict {
		c.dictPages++
	} else {
		c.plainPages++
	}
	c.levels += int64(c.pageLevels)
	c.nulls += int64(c.pageNulls)
	c.startPage()
	return nil
}

// levelSection appends a v1 data page's levels: their length, then them.
func levelSection(dst, rle []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(rle)))
	return append(dst, rle...)
}

// encodePage appends the page of body under hdr, whose type and sizes it
// sets, compressed, to dst; and its uncompressed size (header included).
func (c *column) encodePage(dst []byte, typ int32, hdr pqcompat.Value, body []byte) ([]byte, int64, error) {
	c.zbuf = c.codec.EncodeLevel(c.zbuf[:0], body, c.level)
	if len(body) > math.MaxInt32 || len(c.zbuf) > math.MaxInt32 {
		return dst, 0, fmt.Errorf("pqencode: column %s: a page of %d bytes", c.desc.Path(), len(body))
	}
	hdr.Set(1, pqcompat.I32(typ))
	hdr.Set(2, pqcompat.I32(int32(len(body))))
	hdr.Set(3, pqcompat.I32(int32(len(c.zbuf))))
	before := len(dst)
	dst = hdr.Encode(dst)
	unc := int64(len(dst)-before) + int64(len(body))
	return append(dst, c.zbuf...), unc, nil
}

// size is about how many bytes the chunk takes so far.
func (c *column) size() int64 { return int64(len(c.pages) + c.enc.pageSize() + c.enc.dictSize()) }

// seal ends the chunk's pages: the pending data page, and the dictionary
// page, if any, into head. Columns are sealed in parallel.
func (c *column) seal() error {
	if err := c.flushPage(); err != nil {
		return err
	}
	c.head, c.headSize = c.head[:0], 0
	if !c.enc.dictionary() {
		return nil
	}
	page, n := c.enc.dictPage(c.scratch[:0])
	c.scratch = page
	hdr := pqcompat.Struct(field(7, pqcompat.Struct(field(1, pqcompat.I32(int32(n))), field(2, pqcompat.I32(encPlain)))))
	var err error
	c.head, c.headSize, err = c.encodePage(c.head, pageDictionary, hdr, page)
	return err
}

// finish writes the sealed chunk, its dictionary page first, to out and
// returns its footer entry and uncompressed size; it starts a new chunk.
func (c *column) finish(out *counter) (pqcompat.Value, int64, error) {
	cc := pqcopy.Chunk{Codec: compress.Codecs.Zstd, Values: c.levels, Start: out.n, PageStats: map[pqcopy.PageKind]int32{}}
	encs := []int32{encRLE}
	if len(c.head) > 0 {
		if _, err := out.Write(c.head); err != nil {
			return pqcompat.Value{}, 0, err
		}
		cc.Dictionary = true
		cc.PageStats[pqcopy.PageKind{Page: pageDictionary, Encoding: encPlain}] = 1
		encs = append(encs, encPlain, encDict)
	}
	cc.Data = out.n
	if _, err := out.Write(c.pages); err != nil {
		return pqcompat.Value{}, 0, err
	}
	c.notePages(&cc, &encs)
	cc.Compressed = out.n - cc.Start
	cc.Uncompressed = c.headSize + c.uncompressed
	slices.Sort(encs)
	cc.Encodings = slices.Compact(encs)
	entry := cc.Entry(c.desc, c.stats())
	c.reset()
	return entry, cc.Uncompressed, nil
}

func (c *column) notePages(cc *pqcopy.Chunk, encs *[]int32) {
	if c.dictPages > 0 {
		cc.PageStats[pqcopy.PageKind{Page: pageData, Encoding: encDict}] = int32(c.dictPages)
	}
	if c.plainPages > 0 {
		cc.PageStats[pqcopy.PageKind{Page: pageData, Encoding: encPlain}] = int32(c.plainPages)
		*encs = append(*encs, encPlain)
	}
}

// stats are the chunk's statistics: its nulls, and its min and max unless
// either is longer than MaxStatsBytes.
func (c *column) stats() metadata.EncodedStatistics {
	st := metadata.EncodedStatistics{HasNullCount: true, NullCount: c.nulls}
	lo, hi, ok := c.enc.bounds()
	if ok && len(lo) <= int(c.limit.MaxStatsBytes) && len(hi) <= int(c.limit.MaxStatsBytes) {
		st.HasMin, st.Min, st.HasMax, st.Max = true, lo, true, hi
	}
	return st
}

func field(id int16, v pqcompat.Value) pqcompat.Field { return pqcompat.Field{ID: id, Value: v} }
