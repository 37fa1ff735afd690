package lake_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/lagoon-dev/lagoon/lake"
)

// restServer is a minimal Iceberg REST catalog that records what it is
// sent: the config, OAuth2 token and namespace endpoints.
type restServer struct {
	mu       sync.Mutex
	requests []*http.Request
	forms    []string
}

func (s *restServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	s.mu.Lock()
	s.requests = append(s.requests, r)
	s.forms = append(s.forms, r.Form.Encode())
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case strings.HasSuffix(r.URL.Path, "/v1/config"):
		json.NewEncoder(w).Encode(map[string]any{"defaults": map[string]string{}, "overrides": map[string]string{}})
	case strings.HasSuffix(r.URL.Path, "/v1/oauth/tokens"):
		json.NewEncoder(w).Encode(map[string]any{"access_token": "token-from-oauth", "token_type": "bearer", "expires_in": 3600,
			"issued_token_type": "urn:ietf:params:oauth:token-type:access_token"})
	case strings.HasSuffix(r.URL.Path, "/v1/namespaces"):
		json.NewEncoder(w).Encode(map[string]any{"namespaces": [][]string{}})
	default:
		http.NotFound(w, r)
	}
}

// listNamespaces opens a local lake on the REST catalog at srv with rc
// and lists its namespaces; it returns what the server was sent.
func listNamespaces(t *testing.T, rc lake.RESTConfig) ([]*http.Request, []string) {
	t.Helper()
	s := &restServer{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	l, err := lake.Open(context.Background(), lake.Config{Root: t.TempDir(), Catalog: "rest+" + srv.URL, REST: rc})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Catalog.ListNamespaces(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.forms
}

func lastTo(reqs []*http.Request, suffix string) *http.Request {
	var out *http.Request
	for _, r := range reqs {
		if strings.HasSuffix(r.URL.Path, suffix) {
			out = r
		}
	}
	return out
}

// TestRESTCatalogAuth: requests to a REST catalog carry what the catalog
// asks for — a bearer token; a token got with OAuth2 client credentials;
// an AWS SigV4 signature for the service and region given; the warehouse
// parameter.
func TestRESTCatalogAuth(t *testing.T) {
	t.Run("bearer token", func(t *testing.T) {
		reqs, _ := listNamespaces(t, lake.RESTConfig{Token: "polaris-token", Warehouse: "wh1"})
		ns := lastTo(reqs, "/v1/namespaces")
		if ns == nil || ns.Header.Get("Authorization") != "Bearer polaris-token" {
			t.Fatalf("namespaces request: %+v", ns)
		}
		if cfg := lastTo(reqs, "/v1/config"); cfg == nil || cfg.URL.Query().Get("warehouse") != "wh1" {
			t.Errorf("config request without the warehouse: %+v", cfg)
		}
	})
	t.Run("oauth2 client credentials", func(t *testing.T) {
		reqs, forms := listNamespaces(t, lake.RESTConfig{Credential: "lagoon-client:s3cret", Scope: "PRINCIPAL_ROLE:ALL"})
		var tokenForm string
		for i, r := range reqs {
			if strings.HasSuffix(r.URL.Path, "/v1/oauth/tokens") {
				tokenForm = forms[i]
			}
		}
		for _, want := range []string{"grant_type=client_credentials", "client_id=lagoon-client", "client_secret=s3cret", "scope=PRINCIPAL_ROLE%3AALL"} {
			if !strings.Contains(tokenForm, want) {
				t.Errorf("token request %q lacks %s", tokenForm, want)
			}
		}
		if ns := lastTo(reqs, "/v1/namespaces"); ns == nil || ns.Header.Get("Authorization") != "Bearer token-from-oauth" {
			t.Errorf("namespaces request without the exchanged token: %+v", ns)
		}
	})
	t.Run("sigv4", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLAGOONTEST")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
		t.Setenv("AWS_REGION", "eu-west-1")
		reqs, _ := listNamespaces(t, lake.RESTConfig{SigV4: true, SigningName: "glue"})
		ns := lastTo(reqs, "/v1/namespaces")
		auth := ""
		if ns != nil {
			auth = ns.Header.Get("Authorization")
		}
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDLAGOONTEST/") || !strings.Contains(auth, "/eu-west-1/glue/aws4_request") ||
			ns.Header.Get("X-Amz-Date") == "" {
			t.Errorf("namespaces request not signed for glue in eu-west-1: %q", auth)
		}
	})
}
