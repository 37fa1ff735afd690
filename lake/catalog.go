package lake

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/glue"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // s3:// table IO
	"github.com/aws/aws-sdk-go-v2/aws"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // pure-Go SQLite driver "sqlite"
)

// Catalog kinds (Config.Catalog).
const (
	CatalogSQLite = "sqlite" // embedded, inside a local lake (its default)
	CatalogGlue   = "glue"   // AWS Glue Data Catalog (the default on S3)
)

// openCatalog opens the catalog cfg names: "" (the default for the root),
// "sqlite", "glue", "postgres://…" (an SQL catalog on PostgreSQL), or
// "rest+https://…" (an Iceberg REST catalog). io props carry the table IO
// settings (s3.* for an S3 lake). The closer releases what it holds.
func openCatalog(ctx context.Context, cfg Config, st Store, awsCfg *aws.Config, props iceberg.Properties) (catalog.Catalog, io.Closer, error) {
	kind := cfg.Catalog
	if kind == "" {
		kind = CatalogSQLite
		if _, ok := st.(*S3); ok {
			kind = CatalogGlue
		}
	}
	switch {
	case kind == CatalogSQLite:
		local, ok := st.(*Local)
		if !ok {
			return nil, nil, fmt.Errorf("catalog sqlite: only for a local lake; use glue, postgres://… or rest+https://… on S3")
		}
		return openSQLite(local)
	case kind == CatalogGlue:
		if awsCfg == nil {
			return nil, nil, fmt.Errorf("catalog glue: needs AWS configuration")
		}
		cat, err := glue.NewCatalog(glue.WithAwsConfig(*awsCfg), glue.WithAwsProperties(glue.AwsProperties(props)))
		return cat, io.NopCloser(nil), err
	case strings.HasPrefix(kind, "postgres://"), strings.HasPrefix(kind, "postgresql://"):
		return openSQL("pgx", kind, sqlcat.Postgres, props)
	case strings.HasPrefix(kind, "rest+"):
		return openREST(ctx, strings.TrimPrefix(kind, "rest+"), cfg.REST, awsCfg, props)
	}
	return nil, nil, fmt.Errorf("catalog %q: want sqlite, glue, postgres://… or rest+https://…", Redact(kind))
}

func openSQLite(st *Local) (catalog.Catalog, io.Closer, error) {
	p := st.Path(CatalogFile)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, nil, err
	}
	return openSQL("sqlite", SQLiteDSN(st), sqlcat.SQLite, iceberg.Properties{"warehouse": st.URL(PrefixStg)})
}

// SQLiteDSN is the data source name of a local lake's embedded catalog
// (database/sql driver "sqlite").
func SQLiteDSN(st *Local) string {
	return "file:" + st.Path(CatalogFile) + "?_pragma=busy_timeout(30000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"
}

func openSQL(driver, dsn string, dialect sqlcat.SupportedDialect, props iceberg.Properties) (catalog.Catalog, io.Closer, error) {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("sql catalog: %w", err)
	}
	cat, err := sqlcat.NewCatalog(CatalogName, db, dialect, props)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("sql catalog (%s): %w", dialect, err)
	}
	return cat, db, nil
}

// s3Props are the table IO settings of an S3 lake: region, endpoint
// override and addressing. Credentials are not among them: the IO takes
// them from the standard chain, so they never travel in properties.
func s3Props(awsCfg aws.Config, pathStyle bool) iceberg.Properties {
	p := iceberg.Properties{
		"s3.region":                   awsCfg.Region,
		"s3.force-virtual-addressing": strconv.FormatBool(!pathStyle),
	}
	for _, env := range []string{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"} {
		if v := os.Getenv(env); v != "" {
			p["s3.endpoint"] = v
			break
		}
	}
	return p
}

// Redact hides the password of a connection URL, for messages and logs.
func Redact(s string) string {
	i := strings.Index(s, "://")
	at := strings.LastIndex(s, "@")
	if i < 0 || at < i {
		return s
	}
	creds := s[i+3 : at]
	if user, _, ok := strings.Cut(creds, ":"); ok {
		return s[:i+3] + user + ":***" + s[at:]
	}
	return s
}
