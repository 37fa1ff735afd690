package lake

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseKey(t *testing.T) {
	cases := []struct {
		key     string
		table   string
		parts   string
		name    string
		wantErr string
	}{
		{key: "load/Sales/Orders-2024/x.parquet", table: "sales.orders_2024", parts: "[]", name: "x.parquet"},
		{key: "prepare/db/t/ingest_date=2025-10-23/Region=EU/a/b.csv", table: "db.t", parts: "[{ingest_date 2025-10-23} {region EU}]", name: "b.csv"},
		{key: "load/db/t/a=1/a=2/x.parquet", wantErr: "column a given twice"},
		{key: "load/db/t/==1/x.parquet", wantErr: "no usable column name"},
		{key: "load/x.parquet", wantErr: "files go under load/<db>/<table>/"},
		{key: "load/db/x.parquet", wantErr: "files go under load/<db>/<table>/"},
		{key: "load/db//t/x.parquet", wantErr: "empty, '.' or '..'"},
		{key: "load/db/../t/x.parquet", wantErr: "empty, '.' or '..'"},
		{key: "prepare/Lagoon/trail/x.json", wantErr: "reserved for lagoon's own tables"},
		{key: "load/9lives/t/x.parquet", wantErr: "must start with a letter"},
		{key: "load/db/€€/x.parquet", wantErr: "no letters or digits"},
		{key: "stg/db/t/x.parquet", wantErr: "not under prepare/ or load/"},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			k, err := ParseKey(tc.key)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrBadKey) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want ErrBadKey with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.Table.String() != tc.table || fmt.Sprint(k.Partitions) != tc.parts || k.Name != tc.name {
				t.Errorf("got %s %v %s", k.Table, k.Partitions, k.Name)
			}
		})
	}
}

func TestNormalizeColumn(t *testing.T) {
	for in, want := range map[string]string{
		"Order ID": "order_id", "order-id": "order_id", "_id": "_id", "a__b": "a__b",
		"  Total (USD) ": "total_usd", "Größe": "gr_e", "€": "", "CamelCase": "camelcase",
	} {
		if got := NormalizeColumn(in); got != want {
			t.Errorf("NormalizeColumn(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIgnored(t *testing.T) {
	for key, want := range map[string]bool{
		"load/db/t/x.parquet": false, "load/db/t/.x.parquet": true, "load/db/t/_SUCCESS": true,
		"load/db/t/_temporary/0/x.parquet": true, "load/db/t/x.parquet.tmp": true, "load/db/t/x.csv.part": true,
		"load/db/t/x.crdownload": true, "load/db/t/x~": true, "load/db/.hidden/t/x.parquet": true,
	} {
		if got := Ignored(key); got != want {
			t.Errorf("Ignored(%q) = %v, want %v", key, got, want)
		}
	}
}
