package prepare

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/lagoon-dev/lagoon/lake"
)

// newColumn names a top-level field of r with a value that table (the
// existing table's schema) has no column for, or returns "" (mode
// discard_rows: such a record is a bad record).
func newColumn(r Record, table *arrow.Schema) string {
	has := func(name string) bool { return len(table.FieldIndices(lake.NormalizeColumn(name))) > 0 }
	if !r.Unparsed {
		for _, f := range r.Val.Fields {
			if !f.Val.isNullish() && !has(f.Name) {
				return f.Name
			}
		}
		return ""
	}
	return newJSONColumn(r.Raw, has)
}

// newJSONColumn scans a JSON object's top-level members for a non-null one
// that has says is not the table's.
func newJSONColumn(raw []byte, has func(string) bool) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return ""
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return ""
		}
		if !bytes.Equal(bytes.TrimSpace(v), []byte("null")) && !has(name) {
			return name
		}
	}
	return ""
}

// discardRowError is the reason a record with a new column is bad.
func discardRowError(col string) error {
	return fmt.Errorf("column %q is not the table's: its contract discards rows with new columns (mode discard_rows)", col)
}
