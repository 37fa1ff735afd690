package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/internal/loadfixture"
	"github.com/lagoon-dev/lagoon/lake"
	"github.com/lagoon-dev/lagoon/stats"
	"github.com/lagoon-dev/lagoon/web"
)

// liveLake is a lake with a table loaded three times (shop.orders, 30
// rows), one loaded once (shop.users, 7 rows), a rejected file, and
// statistics synced.
func liveLake(t *testing.T) *lake.Lake {
	t.Helper()
	l := lakefixture.Open(t)
	for i := range 3 {
		lakefixture.Drop(t, l, "load/shop/orders/o"+string(rune('a'+i))+".parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(i*10, 10)))
		loadfixture.Load(t, l)
	}
	lakefixture.Drop(t, l, "load/shop/users/u.parquet", lakefixture.ParquetBytes(t, lakefixture.Ints(0, 7)))
	lakefixture.Drop(t, l, "load/shop/users/broken.parquet", []byte("PAR1 not really"))
	loadfixture.Load(t, l)
	if _, err := stats.NewSyncer(l, stats.DefaultConfig(), slog.New(slog.DiscardHandler)).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	return l
}

// browse loads url in headless Chromium and returns the page's text.
func browse(t *testing.T, url string) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("Chromium is not installed: run scripts/install-test-deps")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(390, 844)) // a phone's screen
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS("#tables"))); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return text
}

// TestDashboardInABrowser: the page a person sees in Chromium, on a
// phone-sized screen, lists the tables with their row counts, flags the
// table whose loads stopped (an hour on, loads seconds apart), shows the
// rejected file with its reason, and says the trail verifies.
func TestDashboardInABrowser(t *testing.T) {
	l := liveLake(t)
	d := web.DefaultDashboard(l)
	d.Now = func() time.Time { return time.Now().Add(time.Hour) }
	cfg := web.DefaultConfig()
	cfg.Dashboard = d
	srv := httptest.NewServer(web.Handler(cfg))
	defer srv.Close()
	text := browse(t, srv.URL+"/")
	for _, want := range []string{"shop.orders", "30", "shop.users", "7", "STALE", "load/shop/users/broken.parquet",
		"not a readable Parquet file: not a Parquet file", "verifies", "Rows loaded per day", "retry: set $LAGOON_HTTP_TOKEN"} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not show %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "{load/") {
		t.Errorf("a reason printed as a struct:\n%s", text)
	}
	if strings.Count(text, "STALE") != 1 {
		t.Errorf("want one stale table (orders, loaded thrice; users has too few loads to say):\n%s", text)
	}
}

// TestDashboardRetry: retrying from the page takes the token; with it the
// rejected file goes back to load/, recorded in the audit given.
func TestDashboardRetry(t *testing.T) {
	l := liveLake(t)
	d := web.DefaultDashboard(l)
	d.Token = "s3cret-token"
	cfg := web.DefaultConfig()
	cfg.Dashboard = d
	srv := httptest.NewServer(web.Handler(cfg))
	defer srv.Close()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(token string) int {
		resp, err := noRedirect.PostForm(srv.URL+"/retry", url.Values{"key": {"load/shop/users/broken.parquet"}, "token": {token}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("wrong"); code != http.StatusForbidden || !lakefixture.Exists(l, lake.RejectedPrefix+"load/shop/users/broken.parquet") {
		t.Fatalf("a wrong token: %d", code)
	}
	if code := post("s3cret-token"); code != http.StatusSeeOther || !lakefixture.Exists(l, "load/shop/users/broken.parquet") {
		t.Fatalf("the token: %d", code)
	}
	resp, err := http.Post(srv.URL+"/", "text/plain", strings.NewReader("x"))
	if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %v %v", resp, err)
	}
}

// TestDashboardEscapes: text from the lake (a rejected file's key and
// reason) is shown as text, never run as markup.
func TestDashboardEscapes(t *testing.T) {
	l := lakefixture.Open(t)
	key := `prepare/db/t/<img src=x onerror=alert(1)>.csv`
	lakefixture.Drop(t, l, lake.RejectedPrefix+key, []byte("x"))
	reason := `{"key":` + strconv.Quote(key) + `,"moved_to":` + strconv.Quote(lake.RejectedPrefix+key) +
		`,"stage":"prepare","table":"db.t","reason":"<script>alert(2)</script>","time":"2026-12-01T10:00:00Z"}`
	lakefixture.Drop(t, l, lake.RejectedPrefix+key+lake.ReasonSuffix, []byte(reason))
	cfg := web.DefaultConfig()
	cfg.Dashboard = web.DefaultDashboard(l)
	rec := httptest.NewRecorder()
	web.Handler(cfg).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	body := rec.Body.String()
	if rec.Code != http.StatusOK || strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") ||
		!strings.Contains(body, "&lt;script&gt;alert(2)&lt;/script&gt;") {
		t.Errorf("status %d; the page runs or loses text from the lake:\n%s", rec.Code, body)
	}
	if !strings.Contains(rec.Header().Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("no content security policy")
	}
}
