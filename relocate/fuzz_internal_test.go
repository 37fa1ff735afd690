package relocate

import (
	"testing"
)

// FuzzRewriteAvro: the Avro rewriter (which reads the manifests and
// manifest lists of a lake folder, perhaps copied from elsewhere) returns
// an error or a file that reads back as what was meant; it never panics
// or hangs. Seeds (testdata/fuzz/FuzzRewriteAvro) are a manifest and a
// manifest list lagoon wrote.
func FuzzRewriteAvro(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		edit := func(rec map[string]any) bool {
			if df, ok := rec["data_file"].(map[string]any); ok {
				df["file_path"] = "file:///elsewhere/x.parquet"
				return true
			}
			_, ok := rec["manifest_path"].(string)
			rec["manifest_path"] = "file:///elsewhere/m.avro"
			return ok
		}
		out, changed, err := rewriteAvro(data, edit)
		if err == nil && changed && len(out) == 0 {
			t.Fatal("changed, but no file")
		}
	})
}
