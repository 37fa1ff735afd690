package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
)

// TestSecretsStayOutOfLogs: with debug logging, on success and on
// failure, neither the AWS secret key nor a catalog password appears in
// what lagoon prints.
func TestSecretsStayOutOfLogs(t *testing.T) {
	lakefixture.Moto(t)
	const secret = "Zq9-very-secret-key-do-not-print"
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret) // moto accepts any key
	ctx := context.Background()
	c := lakefixture.S3Client(t)
	lakefixture.Bucket(t, c, "secrets")
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("secrets"), Key: aws.String("lake/load/db/t/x.parquet"),
		Body: bytes.NewReader(lakefixture.ParquetBytes(t, lakefixture.Ints(0, 3)))}); err != nil {
		t.Fatal(err)
	}
	root := "s3://secrets/lake"
	var printed strings.Builder
	code, out, errOut := lagoon(t, "run", "--root", root, "--s3-path-style", "--once", "--settle", "0", "--log-level", "debug")
	if code != exitOK {
		t.Fatalf("run: %d %s %s", code, out, errOut)
	}
	printed.WriteString(out + errOut)
	t.Setenv("AWS_ENDPOINT_URL_GLUE", "http://127.0.0.1:1") // the catalog cannot be reached
	code, out, errOut = lagoon(t, "tables", "--root", root, "--s3-path-style")
	if code != exitError {
		t.Errorf("tables with an unreachable catalog: exit %d", code)
	}
	printed.WriteString(out + errOut)
	for _, cat := range []string{"postgres://lagoon:pg-" + secret + "@127.0.0.1:1/x", "mysql://lagoon:" + secret + "@db/x"} {
		_, out, errOut = lagoon(t, "tables", "--root", root, "--catalog", cat)
		printed.WriteString(out + errOut)
	}
	if strings.Contains(printed.String(), secret) {
		t.Errorf("a secret was printed:\n%s", printed.String())
	}
	if !strings.Contains(printed.String(), "lagoon tables:") {
		t.Errorf("the failures said nothing:\n%s", printed.String())
	}
}

// TestRESTCatalogFlags: --rest-token (or $LAGOON_REST_TOKEN) and
// --rest-warehouse reach a REST catalog's requests; the token is never
// printed, even when the catalog fails.
func TestRESTCatalogFlags(t *testing.T) {
	const token = "lkp-secret-token-xyz"
	var mu sync.Mutex
	var auths, warehouses []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths, warehouses = append(auths, r.Header.Get("Authorization")), append(warehouses, r.URL.Query().Get("warehouse"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/v1/config"):
			w.Write([]byte(`{"defaults":{},"overrides":{}}`))
		case strings.HasSuffix(r.URL.Path, "/v1/namespaces"):
			w.Write([]byte(`{"namespaces":[]}`))
		default:
			http.Error(w, `{"error":{"message":"no","type":"NotFound","code":404}}`, 404)
		}
	}))
	defer srv.Close()
	root := t.TempDir()
	lakefixture.OpenAt(t, root) // the lake exists
	t.Setenv("LAGOON_REST_TOKEN", token)
	code, out, errOut := lagoon(t, "tables", "--root", root, "--catalog", "rest+"+srv.URL, "--rest-warehouse", "lakekeeper-wh")
	if code != exitOK {
		t.Fatalf("tables on a REST catalog: %d %s %s", code, out, errOut)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(auths) == 0 || auths[len(auths)-1] != "Bearer "+token || warehouses[0] != "lakekeeper-wh" {
		t.Errorf("requests carried %q, warehouse %q", auths, warehouses)
	}
	srv.Close()
	_, out, errOut = lagoon(t, "tables", "--root", root, "--catalog", "rest+"+srv.URL)
	if strings.Contains(out+errOut, token) || errOut == "" {
		t.Errorf("a failing REST catalog printed the token or nothing: %s %s", out, errOut)
	}
}
