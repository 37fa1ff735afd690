package relocate

import (
	"context"
	"database/sql"
	"fmt"

	_ "modernc.org/sqlite" // the embedded catalog's driver

	"github.com/lagoon-dev/lagoon/lake"
)

// row is a table of the embedded catalog.
type row struct {
	ns, name  string
	loc, prev sql.NullString
}

// catalogRows lists the tables of lagoon's catalog in the database.
func catalogRows(ctx context.Context, db *sql.DB) ([]row, error) {
	rs, err := db.QueryContext(ctx, `SELECT table_namespace, table_name, metadata_location, previous_metadata_location
		FROM iceberg_tables WHERE catalog_name = ?`, lake.CatalogName)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.ns, &r.name, &r.loc, &r.prev); err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

// rebaseRow rebases a table and points its row at its rebased metadata
// file. A table outside the lake is not the lake's to move.
func rebaseRow(ctx context.Context, db *sql.DB, rb rebaser, r row, rep *Report) error {
	if _, ok := rb.key(r.loc.String); !ok {
		return nil
	}
	if err := rebaseTable(ctx, rb, r.loc.String, rep); err != nil {
		return fmt.Errorf("table %s.%s: %w", r.ns, r.name, err)
	}
	loc, _ := rb.rebase(r.loc.String)
	prev, _ := rb.rebase(r.prev.String)
	if err := beforeWrite("catalog"); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, `UPDATE iceberg_tables SET metadata_location = ?, previous_metadata_location = ?
		WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?`,
		loc, sql.NullString{String: prev, Valid: r.prev.Valid}, lake.CatalogName, r.ns, r.name)
	if err != nil {
		return fmt.Errorf("table %s.%s: catalog: %w", r.ns, r.name, err)
	}
	rep.Tables++
	return nil
}

// rebaseNamespaces rebases the locations namespaces were given.
func rebaseNamespaces(ctx context.Context, db *sql.DB, rb rebaser) error {
	rs, err := db.QueryContext(ctx, `SELECT namespace, property_value FROM iceberg_namespace_properties
		WHERE catalog_name = ? AND property_key = 'location'`, lake.CatalogName)
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	moved := map[string]string{}
	for rs.Next() {
		var ns string
		var loc sql.NullString
		if err := rs.Scan(&ns, &loc); err != nil {
			rs.Close()
			return fmt.Errorf("catalog: %w", err)
		}
		if to, changed := rb.rebase(loc.String); changed {
			moved[ns] = to
		}
	}
	err = rs.Err()
	rs.Close()
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	for ns, to := range moved {
		if err := beforeWrite("catalog"); err != nil {
			return err
		}
		if _, err := db.ExecContext(ctx, `UPDATE iceberg_namespace_properties SET property_value = ?
			WHERE catalog_name = ? AND namespace = ? AND property_key = 'location'`, to, lake.CatalogName, ns); err != nil {
			return fmt.Errorf("catalog: namespace %s: %w", ns, err)
		}
	}
	return nil
}
