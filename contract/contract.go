// Package contract reads table contracts: the optional YAML file at
// assets/lagoon/tables/<db>/<table>.yaml that says what a table's rows
// are — keys to upsert by, explicit column types, partitioning, sort
// order, what a new column or a type conflict does, a JSON Schema every
// record must pass, and columns of personal data to hash, mask or drop.
// Without one a table keeps lagoon's defaults (append-only, inferred
// types, partitioned by day(_etl_loaded_at)).
package contract

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// MaxBytes bounds a contract file.
const MaxBytes = 1 << 20

// ErrInvalid is wrapped by every error about a contract's content.
var ErrInvalid = errors.New("invalid table contract")

// Mode says what a file's new column or a type conflict does to a table.
type Mode string

// The modes.
const (
	// Evolve adds new columns and widens types (lagoon's default); a type
	// that cannot widen rejects the file.
	Evolve Mode = "evolve"
	// Freeze rejects a file with a column the table lacks, or of another
	// type.
	Freeze Mode = "freeze"
	// DiscardColumns loads the file without its new or conflicting
	// columns, each recorded with its reason.
	DiscardColumns Mode = "discard_columns"
	// DiscardRows sends a file's rows that carry a new or conflicting
	// column to the rejects file, and loads the rest.
	DiscardRows Mode = "discard_rows"
)

// PIIAction is what happens to a column of personal data before any byte
// of it is written.
type PIIAction string

// The PII actions.
const (
	// Hash replaces a value with its HMAC-SHA-256 under the lake's secret
	// (hex): equal values stay equal, so the column still joins.
	Hash PIIAction = "hash"
	// Mask keeps only the value's last four characters.
	Mask PIIAction = "mask"
	// Drop leaves the column out.
	Drop PIIAction = "drop"
)

// Contract is one table's contract. Every field is optional.
type Contract struct {
	// Keys are the columns that identify a row: a row whose keys a stored
	// row has replaces it (an upsert).
	Keys []string `yaml:"keys"`
	// OrderBy is the column that says which of two rows of one key is the
	// newer; an older arrival never replaces a newer row. Empty: the last
	// arrival wins.
	OrderBy string `yaml:"order_by"`
	// Partition is the table's partition spec, in Iceberg transforms:
	// col, identity(col), year(col), month(col), day(col), hour(col),
	// bucket[N](col), truncate[W](col). Empty: day(_etl_loaded_at).
	Partition []Field `yaml:"partition"`
	// SortOrder is the table's sort order: col [asc|desc] [nulls
	// first|nulls last], or a transform of a column.
	SortOrder []SortField `yaml:"sort_order"`
	// Mode is what a new column or a type conflict does (default evolve).
	Mode Mode `yaml:"mode"`
	// Columns are explicit Iceberg types (long, decimal(18,4),
	// timestamptz, …) that win over inference.
	Columns map[string]string `yaml:"columns"`
	// Schema is a JSON Schema (2020-12) every record must pass, relative to
	// assets/lagoon/.
	Schema string `yaml:"schema"`
	// PII are columns of personal data and what to do with them.
	PII map[string]PIIAction `yaml:"pii"`

	// SHA256 is the contract file's SHA-256 (hex).
	SHA256 string `yaml:"-"`
}

// Parse reads and checks a contract. Unknown fields are errors (a typo
// must not silently drop a rule), and so is anything a field's rules
// refuse; every error wraps ErrInvalid and names the field.
func Parse(b []byte) (*Contract, error) {
	if len(b) > MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes, over %d", ErrInvalid, len(b), MaxBytes)
	}
	var c Contract
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %v%s", ErrInvalid, err, hint(b))
	}
	if err := dec.Decode(new(any)); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: more than one YAML document", ErrInvalid)
	}
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	sum := sha256.Sum256(b)
	c.SHA256 = hex.EncodeToString(sum[:])
	return &c, nil
}

// hint explains the YAML mistake a bucket or truncate transform in a flow
// list makes: brackets and commas end its items.
func hint(b []byte) string {
	if bytes.Contains(b, []byte("bucket")) || bytes.Contains(b, []byte("truncate")) {
		return ` (inside [...] YAML ends an item at a bracket or a comma: quote the transform, "bucket[16](id)", or list it as a block, "- bucket[16](id)")`
	}
	return ""
}

// UpsertMode reports whether the table is upserted by keys.
func (c *Contract) UpsertMode() bool { return c != nil && len(c.Keys) > 0 }

// ModeOrDefault is the contract's mode, Evolve when none is set (or there
// is no contract).
func (c *Contract) ModeOrDefault() Mode {
	if c == nil || c.Mode == "" {
		return Evolve
	}
	return c.Mode
}
