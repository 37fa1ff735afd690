package lake

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strings"
)

// Top-level prefixes of a lake (see DESIGN.md, "The bucket").
const (
	PrefixPrepare = "prepare/"
	PrefixLoad    = "load/"
	PrefixStg     = "stg/"
	PrefixPrd     = "prd/"
	PrefixTmp     = "tmp/"
	PrefixTrail   = "trail/"
	PrefixStats   = "stats/"
	PrefixLog     = "log/"
	PrefixAssets  = "assets/"
	PrefixQueries = "queries/"
	// PrefixCatalog holds the embedded SQLite catalog of a local lake.
	PrefixCatalog = "catalog/"
)

// LoadedAtColumn is the column every lagoon table carries: when the row was
// appended. Tables are partitioned by its day.
const LoadedAtColumn = "_etl_loaded_at"

// LineageColumn holds, in each row, the key of the file it came from (a
// source under prepare/, or a Parquet file dropped into load/).
const LineageColumn = "_etl_source_key"

// ReceivedAtMetadata is the Parquet key-value metadata in which prepare
// records when its batch's oldest source arrived (RFC 3339).
const ReceivedAtMetadata = "lagoon.received-at"

// OriginsMetadata is the Parquet key-value metadata in which prepare
// lists the sources an output was made from, as SourceID(key, version)
// joined by ",", and PrepareBatchMetadata the prepare batch (an output of
// one batch shares its origins with the batch's other outputs). The
// loader's fence uses them: an origin loaded by another prepare batch is
// there already.
const (
	OriginsMetadata      = "lagoon.origins"
	PrepareBatchMetadata = "lagoon.prepare-batch"
)

// SourceID names one version of one file: 16 hex digits of the SHA-256
// of its key and version.
func SourceID(key, version string) string {
	sum := sha256.Sum256([]byte(key + "\x00" + version))
	return hex.EncodeToString(sum[:8])
}

// MaintenanceProperty is the snapshot-summary property naming the table
// maintenance step that made a snapshot ("compaction").
const MaintenanceProperty = "lagoon.maintenance"

// ReceivedProperty is the snapshot-summary property in which the loader
// records when the commit's oldest file arrived (Unix milliseconds): a
// load's latency is its commit time minus this.
const ReceivedProperty = "lagoon.received-ms"

// RegisterMetadata is the Parquet key-value metadata that marks a file
// prepare wrote for the loader to add to its table as it is: its value is
// the table's SchemaMark when the file was written, or the FreshMark of the
// schema the table will take when it does not exist yet; the file then
// holds the table's field ids and its _etl_loaded_at column.
const RegisterMetadata = "lagoon.register"

// Prefixes lists every top-level prefix that `lagoon init` creates.
var Prefixes = []string{
	PrefixPrepare, PrefixLoad, PrefixStg, PrefixPrd, PrefixTmp,
	PrefixTrail + "records/", PrefixTrail + "metadata/",
	PrefixStats, PrefixLog, PrefixAssets, PrefixQueries, PrefixCatalog,
}

// ErrBadKey classifies keys that cannot be mapped to a table.
var ErrBadKey = errors.New("bad key")

// TableRef names a table of the lake: <db>.<table>, both normalised.
type TableRef struct {
	DB    string
	Table string
}

// String returns "db.table".
func (t TableRef) String() string { return t.DB + "." + t.Table }

// ParseTableRef parses "db.table" as typed by a user. Names are normalised
// as keys are.
func ParseTableRef(s string) (TableRef, error) {
	db, tbl, ok := strings.Cut(s, ".")
	if !ok || strings.Contains(tbl, ".") {
		return TableRef{}, fmt.Errorf("table %q: want DB.TABLE", s)
	}
	return newTableRef(db, tbl)
}

func newTableRef(db, tbl string) (TableRef, error) {
	d, err := NormalizeIdent(db)
	if err != nil {
		return TableRef{}, fmt.Errorf("database %q: %w", db, err)
	}
	t, err := NormalizeIdent(tbl)
	if err != nil {
		return TableRef{}, fmt.Errorf("table %q: %w", tbl, err)
	}
	return TableRef{DB: d, Table: t}, nil
}

// Dir returns the key prefix of the table's folder under zone (e.g. "stg/").
func (t TableRef) Dir(zone string) string { return zone + t.DB + "/" + t.Table + "/" }

// PartitionValue is a name=value segment of a key below the table folder.
type PartitionValue struct {
	Name  string // normalised column name
	Value string
}

// Key is a parsed object key under prepare/ or load/.
type Key struct {
	Raw        string // the key as found in the store
	Zone       string // PrefixPrepare or PrefixLoad
	Table      TableRef
	Partitions []PartitionValue
	Name       string // base name of the file
}

// ParseKey maps a key under prepare/ or load/ to its table. It returns an
// error wrapping ErrBadKey, with the reason, for keys that cannot be mapped:
// files straight under the zone or the database folder, empty or dot-dot
// segments, names that do not normalise. Callers check Ignored first.
func ParseKey(raw string) (Key, error) {
	zone := ""
	for _, z := range []string{PrefixPrepare, PrefixLoad} {
		if strings.HasPrefix(raw, z) {
			zone = z
		}
	}
	if zone == "" {
		return Key{}, fmt.Errorf("%w: %s: not under prepare/ or load/", ErrBadKey, raw)
	}
	segs := strings.Split(strings.TrimPrefix(raw, zone), "/")
	if len(segs) < 3 {
		return Key{}, fmt.Errorf("%w: %s: files go under %s<db>/<table>/", ErrBadKey, raw, zone)
	}
	for _, s := range segs {
		if s == "" || s == "." || s == ".." {
			return Key{}, fmt.Errorf("%w: %s: empty, '.' or '..' path segment", ErrBadKey, raw)
		}
	}
	ref, err := newTableRef(segs[0], segs[1])
	if err != nil {
		return Key{}, fmt.Errorf("%w: %s: %w", ErrBadKey, raw, err)
	}
	if ref.DB == SideNamespace {
		return Key{}, fmt.Errorf("%w: %s: database %q is reserved for lagoon's own tables", ErrBadKey, raw, SideNamespace)
	}
	k := Key{Raw: raw, Zone: zone, Table: ref, Name: segs[len(segs)-1]}
	k.Partitions, err = partitionValues(segs[2 : len(segs)-1])
	if err != nil {
		return Key{}, fmt.Errorf("%w: %s: %w", ErrBadKey, raw, err)
	}
	return k, nil
}

// partitionValues turns name=value folder segments into columns. Other
// segments are plain sub-folders and carry no value.
func partitionValues(segs []string) ([]PartitionValue, error) {
	var out []PartitionValue
	seen := map[string]bool{}
	for _, s := range segs {
		name, value, ok := strings.Cut(s, "=")
		if !ok {
			continue
		}
		col := NormalizeColumn(name)
		if col == "" {
			return nil, fmt.Errorf("segment %q: no usable column name", s)
		}
		if seen[col] {
			return nil, fmt.Errorf("segment %q: column %s given twice", s, col)
		}
		seen[col] = true
		out = append(out, PartitionValue{Name: col, Value: value})
	}
	return out, nil
}

// tempSuffixes mark files that a writer has not finished yet.
var tempSuffixes = []string{".tmp", ".temp", ".part", ".partial", ".crdownload", ".inprogress", ".filepart", ".swp", "~"}

// Ignored reports whether a key names something lagoon must not touch: a
// dot-file or an underscore file (_SUCCESS, _temporary/…) anywhere in its
// path, or a temporary name of a writer that has not finished.
func Ignored(key string) bool {
	for _, seg := range strings.Split(key, "/") {
		if strings.HasPrefix(seg, ".") || strings.HasPrefix(seg, "_") {
			return true
		}
	}
	base := strings.ToLower(path.Base(key))
	for _, s := range tempSuffixes {
		if strings.HasSuffix(base, s) {
			return true
		}
	}
	return false
}

// NormalizeIdent maps a database or table name to lowercase
// [a-z][a-z0-9_]* as NormalizeColumn does. A name that
// is empty afterwards or does not start with a letter is an error: it is
// never guessed at.
func NormalizeIdent(s string) (string, error) {
	n := NormalizeColumn(s)
	if n == "" {
		return "", errors.New("no letters or digits")
	}
	if n[0] < 'a' || n[0] > 'z' {
		return "", fmt.Errorf("%q must start with a letter", n)
	}
	return n, nil
}

// NormalizeColumn maps a column name to Athena-safe lowercase [a-z0-9_]:
// ASCII letters are lowercased, underscores kept, and each run of other
// characters becomes one underscore (none at either end). It may return ""
// for a name with no letters, digits or underscores; callers choose a
// fallback.
func NormalizeColumn(s string) string {
	var b strings.Builder
	pendingSep := false
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
			fallthrough
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			if pendingSep && b.Len() > 0 {
				b.WriteByte('_')
			}
			pendingSep = false
			b.WriteRune(r)
		default:
			pendingSep = true
		}
	}
	return b.String()
}
