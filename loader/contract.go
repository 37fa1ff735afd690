package loader

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/lagoon-dev/lagoon/contract"
	"github.com/lagoon-dev/lagoon/lake"
)

// ContractProperty is the table property holding the SHA-256 of the
// contract the table was last committed under.
const ContractProperty = "lagoon.contract-sha256"

// loadContract reads the table's contract (nil: none). A broken one is an
// error of the table, not of its files: they wait until it is fixed.
func (l *Loader) loadContract(ctx context.Context, ref lake.TableRef) (*contract.Contract, error) {
	c, err := contract.Load(ctx, l.st, ref)
	if err != nil {
		return nil, fmt.Errorf("table %s: %w", ref, err)
	}
	return c, nil
}

// noteDiscarded logs the columns the contract left out of each file (the
// log table keeps warnings).
func (l *Loader) noteDiscarded(ref lake.TableRef, srcs []*source) {
	for _, s := range srcs {
		if len(s.discarded) > 0 {
			l.log.Warn("columns discarded: the table's contract discards new and conflicting columns (mode discard_columns)",
				"table", ref.String(), "key", s.info.Key, "columns", strings.Join(s.discarded, ","))
		}
	}
}

// defaultSpec is lagoon's partitioning: by the day of _etl_loaded_at.
func defaultSpec(sc *iceberg.Schema) (iceberg.PartitionSpec, error) {
	return lake.DayPartition(sc, LoadedAtColumn)
}

// createOptions are the spec, sort order and properties a new table of
// schema sc takes under contract c. A contract that names a column the
// first file lacks rejects that file.
func (l *Loader) createOptions(first *source, sc *iceberg.Schema, c *contract.Contract) (iceberg.PartitionSpec, table.SortOrder, iceberg.Properties, error) {
	def, err := defaultSpec(sc)
	if err != nil {
		return iceberg.PartitionSpec{}, table.SortOrder{}, nil, err
	}
	spec, err := c.Spec(sc, def)
	if err == nil {
		var order table.SortOrder
		if order, err = c.Order(sc); err == nil {
			return spec, order, contractProps(l.cfg.Lake.TableProperties(), c), nil
		}
	}
	return iceberg.PartitionSpec{}, table.SortOrder{}, nil, reject(first.info.Key, "does not fit the table's contract", err)
}

func contractProps(props iceberg.Properties, c *contract.Contract) iceberg.Properties {
	if c == nil {
		return props
	}
	out := iceberg.Properties{ContractProperty: c.SHA256}
	for k, v := range props {
		out[k] = v
	}
	return out
}

// applyContract brings an existing table, in transaction tx (its schema
// evolved for the batch already), to its contract: the partition spec
// evolves to the contract's (old files keep theirs), the sort order is
// replaced, and the contract's hash is set. It reports whether the
// contract is new to the table (for the trail).
func applyContract(tx *table.Transaction, tbl *table.Table, c *contract.Contract) (bool, error) {
	if c == nil || tbl.Properties()[ContractProperty] == c.SHA256 {
		return false, nil
	}
	staged, err := tx.StagedTable()
	if err != nil {
		return false, err
	}
	if err := evolveTypes(tx, staged.Schema(), c); err != nil {
		return false, err
	}
	if staged, err = tx.StagedTable(); err != nil {
		return false, err
	}
	if err := evolveSpec(tx, staged.Table, c); err != nil {
		return false, err
	}
	order, err := c.Order(staged.Schema())
	if err != nil {
		return false, err
	}
	if !order.Equals(staged.SortOrder()) {
		if err := tx.ReplaceSortOrder(order); err != nil {
			return false, fmt.Errorf("sort order: %w", err)
		}
	}
	return true, tx.SetProperties(iceberg.Properties{ContractProperty: c.SHA256})
}

// evolveSpec changes the table's partition spec to the contract's (the
// default when it names none): fields it lacks are added, others removed.
func evolveSpec(tx *table.Transaction, tbl *table.Table, c *contract.Contract) error {
	def, err := defaultSpec(tbl.Schema())
	if err != nil {
		return err
	}
	want, err := c.Spec(tbl.Schema(), def)
	if err != nil {
		return err
	}
	have := tbl.Spec()
	if have.CompatibleWith(&want) {
		return nil
	}
	up := tx.UpdateSpec(true)
	wanted := map[string]bool{}
	for _, f := range want.Fields() {
		wanted[f.Name] = true
	}
	for _, f := range have.Fields() {
		if !wanted[f.Name] {
			up.RemoveField(f.Name)
		}
	}
	for _, f := range want.Fields() {
		if !hasField(have, f.Name) {
			col, _ := tbl.Schema().FindColumnName(f.SourceIDs[0])
			up.AddField(col, f.Transform, f.Name)
		}
	}
	if err := up.Commit(); err != nil {
		return fmt.Errorf("partition spec: %w", err)
	}
	return nil
}

func hasField(spec iceberg.PartitionSpec, name string) bool {
	for _, f := range spec.Fields() {
		if f.Name == name {
			return true
		}
	}
	return false
}

// defaultPartitioned reports whether tbl is partitioned as lagoon
// partitions by default (what registering prepared files needs: each file
// holds one load time, so one partition).
func defaultPartitioned(tbl *table.Table) bool {
	def, err := defaultSpec(tbl.Schema())
	spec := tbl.Spec()
	return err == nil && spec.CompatibleWith(&def)
}

// recordContract puts the contract a table now follows in the trail
// (kind contract_changed, with its SHA-256).
func (l *Loader) recordContract(ctx context.Context, ref lake.TableRef, c *contract.Contract) error {
	if c == nil {
		return nil
	}
	l.log.Info("table contract applied", "table", ref.String(), "contract", contract.Key(ref), "sha256", c.SHA256)
	return l.cfg.Audit.Record(ctx, lake.AuditEvent{Kind: lake.AuditContractChanged, Table: ref.String(),
		Key: contract.Key(ref), Detail: c.SHA256})
}

// withContractTypes gives the top-level columns of a new table's schema sc
// the contract's explicit types. A column's values must convert to its
// type exactly: the same type, or a widening (int to long, float to
// double, a decimal's precision); anything else is an error naming it.
func withContractTypes(sc *iceberg.Schema, c *contract.Contract) (*iceberg.Schema, error) {
	if c == nil || len(c.Columns) == 0 {
		return sc, nil
	}
	fields := sc.Fields()
	changed := false
	for i, f := range fields {
		want, ok := c.Columns[f.Name]
		if !ok || c.PII[f.Name] != "" {
			continue // a hashed or masked column is a string
		}
		t, err := contractType(f.Name, f.Type, want)
		if err != nil {
			return nil, err
		}
		if !t.Equals(f.Type) {
			fields[i].Type, changed = t, true
		}
	}
	if !changed {
		return sc, nil
	}
	return iceberg.NewSchema(sc.ID, fields...), nil
}

// contractType is the contract's type for a column now of type have, if
// have's values convert to it exactly.
func contractType(name string, have iceberg.Type, want string) (iceberg.Type, error) {
	t, err := contract.ParseType(want)
	if err != nil {
		return nil, err
	}
	if have.Equals(t) {
		return t, nil
	}
	_, binToString := have.(iceberg.BinaryType)
	if _, err := iceberg.PromoteType(have, t); err != nil || binToString {
		return nil, fmt.Errorf("columns: %s is %s, and the contract's %s is not a type its values convert to exactly", name, have, t)
	}
	return t, nil
}

// evolveTypes widens the table's columns to the contract's explicit types
// (a contract changed after the table was made); a type the values do not
// convert to exactly is an error of the table.
func evolveTypes(tx *table.Transaction, sc *iceberg.Schema, c *contract.Contract) error {
	up := tx.UpdateSchema(true, false)
	changed := false
	for name, want := range c.Columns {
		f, ok := sc.FindFieldByName(name)
		if !ok || c.PII[name] != "" {
			continue
		}
		t, err := contractType(name, f.Type, want)
		if err != nil {
			return err
		}
		if !t.Equals(f.Type) {
			up.UpdateColumn([]string{name}, table.ColumnUpdate{FieldType: iceberg.Optional[iceberg.Type]{Val: t, Valid: true}})
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return up.Commit()
}
