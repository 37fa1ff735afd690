package prepare_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/internal/orccraft"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/internal/loadfixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/prepare"
	"github.com/lagoon-dev/lagoon/prepare/orc"
)

const orcCorpus = "../testdata/orc"

// TestORCConformance: every file of the ORC project's examples with
// expected rows, dropped under prepare/, loads exactly those rows into a
// table, value for value as DuckDB reads the table's data files
// (timestamps to the microsecond; the cut ones counted in the trail). A
// file of no rows is recorded and deleted.
func TestORCConformance(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(orcCorpus, "*.orc"))
	for _, p := range paths {
		name := filepath.Base(p)
		exp := filepath.Join(orcCorpus, "expected", strings.TrimSuffix(name, ".orc")+".jsn.gz")
		if _, err := os.Stat(exp); err != nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			l := lakefixture.Open(t)
			body, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			key := "prepare/db/t/" + name
			lakefixture.Drop(t, l, key, body)
			audit := &auditLog{}
			res := prepareAll(t, newStage(l, func(c *prepare.StageConfig) { c.Audit = audit }))
			if len(res.Rejected) > 0 {
				t.Fatalf("rejected: %+v", res.Rejected)
			}
			if lakefixture.Exists(l, key) {
				t.Fatalf("%s still under prepare/", key)
			}
			loadORC(t, l)
			sc, isStruct, hive11 := orcShape(t, p)
			want := expectedORC(t, exp, sc, isStruct)
			if len(want) == 0 {
				assertNoTable(t, l)
				return
			}
			got := duckORCRows(t, l, sc, key, hive11)
			if len(got) != len(want) {
				t.Fatalf("%d rows, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("row %d of %d (sorted):\n got %s\nwant %s", i, len(want), got[i], want[i])
				}
			}
			assertTruncatedInTrail(t, audit, key, countCut(t, exp))
			assertColumnTypes(t, l, orcTableTypes[name])
		})
	}
}

// orcTableTypes are Iceberg types the corpus files' columns must get.
var orcTableTypes = map[string]map[string]string{
	"TestOrcFile.test1.orc": {"boolean1": "boolean", "byte1": "int", "short1": "int", "int1": "int", "long1": "long",
		"float1": "float", "double1": "double", "bytes1": "binary", "string1": "string"},
	"TestOrcFile.testUnionAndTimestamp.orc": {"time": "timestamp", "decimal": "decimal(38, 18)"},
	"TestOrcFile.testDate1900.orc":          {"time": "timestamp", "date": "date"},
	"orc-file-11-format.orc":                {"decimal1": "decimal(38, 18)", "ts": "timestamp"},
}

// assertColumnTypes checks the types of table db.t's columns.
func assertColumnTypes(tb testing.TB, l *lake.Lake, want map[string]string) {
	tb.Helper()
	sc := lakefixture.Table(tb, l, "db.t").Schema()
	for name, typ := range want {
		f, ok := sc.FindFieldByName(name)
		if !ok || f.Type.String() != typ {
			tb.Errorf("column %s: %v, want %s", name, f.Type, typ)
		}
	}
}

// loadORC loads what prepare wrote; nothing may be rejected.
func loadORC(tb testing.TB, l *lake.Lake) {
	tb.Helper()
	loadfixture.Load(tb, l)
	if got := files(tb, l, lake.RejectedPrefix); got != nil {
		tb.Fatalf("rejected at load: %v", got)
	}
}

func assertNoTable(tb testing.TB, l *lake.Lake) {
	tb.Helper()
	if files(tb, l, "load/") != nil {
		tb.Errorf("outputs under load/ for a file of no rows: %v", files(tb, l, "load/"))
	}
}

// orcShape is the Arrow schema lagoon reads ORC file p with, whether its
// root is a struct, and whether it is a Hive 0.11 file, whose decimals the
// ORC project's C++ reader prints cut to 6 digits after the point.
func orcShape(tb testing.TB, p string) (sc *arrow.Schema, isStruct, hive11 bool) {
	tb.Helper()
	of := orccraft.OpenFile(tb, p)
	sc, err := of.Schema()
	if err != nil {
		tb.Fatal(err)
	}
	v := of.PostScript.Version
	return sc, of.Footer.Types[0].Kind == orc.Struct, len(v) == 2 && v[0] == 0 && v[1] == 11
}

func decodeJSON(tb testing.TB, s string) any {
	tb.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		tb.Fatalf("%s: %v", s, err)
	}
	return v
}

// expectedORC is the expected rows in canonical form (see orcCanon),
// sorted.
func expectedORC(tb testing.TB, path string, sc *arrow.Schema, isStruct bool) []string {
	tb.Helper()
	c := orcCanon{expected: true}
	var out []string
	for _, line := range orccraft.ExpectedLines(tb, path) {
		v := decodeJSON(tb, line)
		if !isStruct {
			v = map[string]any{orc.RootColumn: v}
		}
		out = append(out, c.row(tb, v, sc))
	}
	slices.Sort(out)
	return out
}

// duckORCRows is the table's rows as DuckDB reads its data files, in
// canonical form, sorted; each row's lineage must be key.
func duckORCRows(tb testing.TB, l *lake.Lake, sc *arrow.Schema, key string, hive11 bool) []string {
	tb.Helper()
	c := orcCanon{hive11: hive11}
	var out []string
	for _, r := range lakefixture.DuckDB(tb, "SELECT * EXCLUDE ("+lake.LoadedAtColumn+") FROM "+lakefixture.DuckTable(tb, l, "db.t")) {
		if r[lake.LineageColumn] != key {
			tb.Fatalf("row %v: lineage is not %s", r, key)
		}
		delete(r, lake.LineageColumn)
		out = append(out, c.row(tb, any(r), sc))
	}
	slices.Sort(out)
	return out
}

// countCut counts the expected timestamps with digits past microseconds.
func countCut(tb testing.TB, path string) int64 {
	tb.Helper()
	var n int64
	for _, line := range orccraft.ExpectedLines(tb, path) {
		for _, m := range strings.Split(line, `"`) {
			if _, frac, ok := strings.Cut(m, "."); ok && len(m) >= 19 && m[4] == '-' && m[13] == ':' && len(frac) > 6 && strings.Trim(frac[6:], "0") != "" {
				n++
			}
		}
	}
	return n
}

// assertTruncatedInTrail: the trail's "prepared" record of key counts
// want cut timestamps.
func assertTruncatedInTrail(tb testing.TB, audit *auditLog, key string, want int64) {
	tb.Helper()
	var got int64
	for _, ev := range audit.events {
		for _, f := range ev.Files {
			if ev.Kind == lake.AuditPrepared && f.Key == key {
				got += f.Truncated
			}
		}
	}
	if got != want {
		tb.Errorf("the trail counts %d timestamps cut, want %d", got, want)
	}
}

// auditLog keeps the events recorded, for tests.
type auditLog struct {
	mu     sync.Mutex
	events []lake.AuditEvent
}

func (a *auditLog) Record(_ context.Context, e lake.AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
	return nil
}

// orcCanon turns an expected value (as the ORC project's reader prints
// it) or DuckDB's (as @duckdb/node-api prints it) into one form, by the
// column's Arrow type: integers and decimals as exact text, floats as the
// reader prints them (%.7g, %.14g), timestamps as microseconds, binary as
// hex, a union as its tag and value.
type orcCanon struct {
	expected bool // the value is the ORC project's, not DuckDB's
	hive11   bool // DuckDB's decimals are cut to 6 digits as expected ones are (see orcShape)
}

func (c orcCanon) row(tb testing.TB, v any, sc *arrow.Schema) string {
	tb.Helper()
	obj, ok := v.(map[string]any)
	if !ok {
		tb.Fatalf("row %v is not an object", v)
	}
	out := map[string]any{}
	for _, f := range sc.Fields() {
		val, ok := obj[f.Name]
		if !ok {
			val, ok = obj[lake.NormalizeColumn(f.Name)]
		}
		if !ok {
			tb.Fatalf("row %v has no column %s", v, f.Name)
		}
		out[f.Name] = c.value(tb, val, f.Type)
	}
	if len(obj) != len(sc.Fields()) {
		tb.Fatalf("row %v: %d columns, want %d", v, len(obj), len(sc.Fields()))
	}
	b, err := json.Marshal(out)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func (c orcCanon) value(tb testing.TB, v any, dt arrow.DataType) any {
	tb.Helper()
	if v == nil {
		return nil
	}
	switch t := dt.(type) {
	case *arrow.StructType:
		return c.structValue(tb, v, t)
	case *arrow.MapType:
		return c.mapValue(tb, v, t)
	case *arrow.ListType:
		items, _ := v.([]any)
		out := make([]any, len(items))
		for i, it := range items {
			out[i] = c.value(tb, it, t.Elem())
		}
		return out
	}
	return c.scalar(tb, v, dt)
}

func (c orcCanon) structValue(tb testing.TB, v any, t *arrow.StructType) any {
	obj, _ := v.(map[string]any)
	if t.Field(0).Name == "tag" && t.NumFields() > 1 && t.Field(1).Name == "field0" { // a union
		tag, err := strconv.Atoi(fmt.Sprint(obj["tag"]))
		if err != nil || tag+1 >= t.NumFields() {
			tb.Fatalf("union %v: bad tag", v)
		}
		val := obj["value"]
		if !c.expected {
			val = obj["field"+strconv.Itoa(tag)]
		}
		return map[string]any{"tag": tag, "value": c.value(tb, val, t.Field(tag+1).Type)}
	}
	out := map[string]any{}
	for _, f := range t.Fields() {
		val, ok := obj[f.Name]
		if !ok {
			val = obj[lake.NormalizeColumn(f.Name)]
		}
		out[f.Name] = c.value(tb, val, f.Type)
	}
	return out
}

func (c orcCanon) mapValue(tb testing.TB, v any, t *arrow.MapType) any {
	items, _ := v.([]any)
	out := make([]any, len(items))
	for i, it := range items {
		kv, _ := it.(map[string]any)
		out[i] = []any{c.value(tb, kv["key"], t.KeyType()), c.value(tb, kv["value"], t.ItemType())}
	}
	return out
}

func (c orcCanon) scalar(tb testing.TB, v any, dt arrow.DataType) any {
	tb.Helper()
	s := fmt.Sprint(v)
	if f, ok := v.(float64); ok {
		s = strconv.FormatFloat(f, 'f', -1, 64)
	}
	switch t := dt.(type) {
	case *arrow.Int32Type, *arrow.Int64Type:
		if _, ok := new(big.Int).SetString(s, 10); !ok {
			tb.Fatalf("integer %v", v)
		}
		return s
	case *arrow.Float32Type:
		return c.printed(tb, s, 7)
	case *arrow.Float64Type:
		return c.printed(tb, s, 14)
	case *arrow.Decimal128Type:
		return c.decimal(tb, s, t.Scale)
	case *arrow.TimestampType:
		return microsText(tb, s)
	case *arrow.BinaryType:
		return c.binary(tb, v)
	}
	return v // strings, booleans, dates
}

// printed is float text as the ORC project's reader prints it: with
// digits significant digits.
func (c orcCanon) printed(tb testing.TB, s string, digits int) string {
	switch s {
	case "NaN", "Infinity", "-Infinity":
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		tb.Fatalf("float %s: %v", s, err)
	}
	return fmt.Sprintf("%.*g", digits, f)
}

// decimal is exact decimal text; DuckDB's value of a Hive 0.11 file is
// cut as the C++ reader cuts it.
func (c orcCanon) decimal(tb testing.TB, s string, scale int32) string {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		tb.Fatalf("decimal %s", s)
	}
	if c.hive11 && !c.expected {
		unit := new(big.Int).Exp(big.NewInt(10), big.NewInt(6), nil)
		q := new(big.Int).Quo(new(big.Int).Mul(r.Num(), unit), r.Denom())
		r.SetFrac(q, unit)
	}
	return r.RatString()
}

// microsText is a timestamp ("2006-01-02 15:04:05[.fffffffff][+00]") as
// microseconds since the epoch, digits past them cut.
func microsText(tb testing.TB, s string) string {
	s = strings.TrimSuffix(s, "+00")
	wall, frac, _ := strings.Cut(s, ".")
	t, err := time.Parse(time.DateTime, wall)
	if err != nil {
		tb.Fatalf("timestamp %s: %v", s, err)
	}
	frac = (frac + "000000")[:6]
	us, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		tb.Fatalf("timestamp %s: %v", s, err)
	}
	return strconv.FormatInt(t.Unix()*1_000_000+us, 10)
}

// binary is bytes as hex: expected as a list of byte values, DuckDB's
// as text with \xHH escapes.
func (c orcCanon) binary(tb testing.TB, v any) string {
	if list, ok := v.([]any); ok {
		b := make([]byte, len(list))
		for i, x := range list {
			n, err := strconv.Atoi(fmt.Sprint(x))
			if err != nil {
				tb.Fatalf("byte %v", x)
			}
			b[i] = byte(n)
		}
		return hex.EncodeToString(b)
	}
	s, _ := v.(string)
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' {
			h, err := hex.DecodeString(s[i+2 : i+4])
			if err != nil {
				tb.Fatalf("blob %q", s)
			}
			b = append(b, h...)
			i += 3
			continue
		}
		b = append(b, s[i])
	}
	return hex.EncodeToString(b)
}

// TestCorruptORCRejected: the ORC project's corrupt files, a truncated
// file and bytes that are no ORC file, dropped under prepare/, are moved
// to log/rejected/ with a reason naming what is wrong; nothing reaches
// load/, and another table's file still prepares.
func TestCorruptORCRejected(t *testing.T) {
	test1, err := os.ReadFile(filepath.Join(orcCorpus, "TestOrcFile.test1.orc"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{"truncated.orc": test1[:len(test1)/2], "junk.orc": []byte("ORC but not really")}
	paths, _ := filepath.Glob(filepath.Join(orcCorpus, "corrupt", "*.orc"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		cases[filepath.Base(p)] = b
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			l := lakefixture.Open(t)
			key := "prepare/db/t/" + name
			lakefixture.Drop(t, l, key, body)
			lakefixture.Drop(t, l, "prepare/db/other/ok.orc", test1)
			res := prepareAll(t, newStage(l))
			if len(res.Rejected) != 1 || res.Rejected[0].Key != key || !strings.Contains(res.Rejected[0].Reason, "ORC") {
				t.Fatalf("rejected = %+v, want %s with a reason", res.Rejected, key)
			}
			t.Logf("%s: %s", name, res.Rejected[0].Reason)
			if !lakefixture.Exists(l, lake.RejectedPrefix+key) || !lakefixture.Exists(l, lake.RejectedPrefix+key+lake.ReasonSuffix) {
				t.Errorf("%s not under log/rejected/ with its reason", key)
			}
			if got := files(t, l, "load/db/t/"); got != nil {
				t.Errorf("outputs of a rejected file: %v", got)
			}
			if files(t, l, "load/db/other/") == nil {
				t.Errorf("the other table's ORC file did not prepare")
			}
		})
	}
}
