package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lagoon-dev/lagoon/internal/lakefixture"
	"github.com/lagoon-dev/lagoon/trail"
)

func TestTrailCommands(t *testing.T) {
	root := t.TempDir()
	l := lakefixture.OpenAt(t, root)
	pub, priv, _ := ed25519.GenerateKey(nil)
	w := trail.NewWriter(l.Store, priv)
	ctx := context.Background()
	w.Append(ctx, trail.KindTableCreated, trail.Event{Table: "shop.orders"})
	w.Append(ctx, trail.KindLoaded, trail.Event{Table: "shop.orders", Key: "load/shop/orders/a.parquet", Rows: 1500})
	w.Append(ctx, trail.KindRejected, trail.Event{Table: "shop.visits", Key: "load/shop/visits/bad.parquet", Reason: "junk"})
	der, _ := x509.MarshalPKIXPublicKey(pub)
	pubFile := filepath.Join(t.TempDir(), "trail.pub")
	os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)

	if code, out, _ := lagoon(t, "trail", "verify", "--root", root, "--public-key", pubFile); code != exitOK || !strings.Contains(out, "trail whole: 3 records, 3 signed") {
		t.Errorf("verify: %d %s", code, out)
	}
	code, out, _ := lagoon(t, "trail", "list", "--root", root, "--table", "shop.orders", "--json")
	var rows []map[string]any
	if code != exitOK || json.Unmarshal([]byte(out), &rows) != nil || len(rows) != 2 || rows[1]["kind"] != "loaded" || rows[1]["rows"] != float64(1500) {
		t.Errorf("list --json: %d %s", code, out)
	}
	if code, out, _ := lagoon(t, "trail", "list", "--root", root, "--kind", "rejected"); code != exitOK || !strings.Contains(out, "bad.parquet (junk)") {
		t.Errorf("list --kind: %d %s", code, out)
	}
	p := filepath.Join(root, trail.KeyOf(1))
	data, _ := os.ReadFile(p)
	os.WriteFile(p, bytes.Replace(data, []byte("1500"), []byte("1501"), 1), 0o644)
	if code, out, _ := lagoon(t, "trail", "verify", "--root", root); code != exitBroken || !strings.Contains(out, "BROKEN at record 2") {
		t.Errorf("verify of a tampered trail: %d %s", code, out)
	}
	if code, _, _ := lagoon(t, "trail", "frob", "--root", root); code != exitUsage {
		t.Errorf("unknown subcommand: exit %d", code)
	}
}
