package lakefixture

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// GlueProxy sits in front of moto's Glue and enforces what moto does not:
// Glue's optimistic locking. It keeps a version per table, reports it as
// GetTable's VersionId, and refuses an UpdateTable whose VersionId is not
// the current one with ConcurrentModificationException, as Glue does.
type GlueProxy struct {
	URL       string
	Conflicts atomic.Int64 // UpdateTable calls refused
	mu        sync.Mutex
	versions  map[string]int
}

// NewGlueProxy starts the proxy in front of target (moto's endpoint); it
// stops at cleanup.
func NewGlueProxy(tb testing.TB, target string) *GlueProxy {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatal(err)
	}
	p := &GlueProxy{versions: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("X-Amz-Target") {
		case "AWSGlue.UpdateTable":
			p.updateTable(w, r, rp)
		case "AWSGlue.GetTable":
			p.getTable(w, r, rp)
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	tb.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

type tableReq struct {
	DatabaseName string
	Name         string
	TableInput   struct{ Name string }
	VersionId    string
}

func (t tableReq) id() string {
	name := t.Name
	if name == "" {
		name = t.TableInput.Name
	}
	return strings.ToLower(t.DatabaseName + "." + name)
}

// updateTable checks the version and forwards, one call per table at a time.
func (p *GlueProxy) updateTable(w http.ResponseWriter, r *http.Request, rp *httputil.ReverseProxy) {
	body, _ := io.ReadAll(r.Body)
	var req tableReq
	json.Unmarshal(body, &req)
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := p.versions[req.id()]
	if req.VersionId != strconv.Itoa(cur) {
		p.Conflicts.Add(1)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"ConcurrentModificationException","Message":"Update table failed due to concurrent modifications."}`)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	rp.ServeHTTP(rec, r)
	if rec.Code == http.StatusOK {
		p.versions[req.id()] = cur + 1
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// getTable answers GetTable with the proxy's VersionId. It holds the lock
// while moto answers, so the version and the metadata it reports belong
// together, as Glue's do.
func (p *GlueProxy) getTable(w http.ResponseWriter, r *http.Request, rp *httputil.ReverseProxy) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rec := httptest.NewRecorder()
	rp.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	var out map[string]any
	if rec.Code == http.StatusOK && json.Unmarshal(body, &out) == nil {
		if t, ok := out["Table"].(map[string]any); ok {
			db, _ := t["DatabaseName"].(string)
			name, _ := t["Name"].(string)
			t["VersionId"] = strconv.Itoa(p.versions[strings.ToLower(db+"."+name)])
			body, _ = json.Marshal(out)
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	w.Write(body)
}
