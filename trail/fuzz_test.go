package trail_test

import (
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/internal/fuzzing"
	"github.com/lagoon-dev/lagoon/trail"
)

// FuzzDecode: any bytes decode to a record or an error; a record decoded
// from unsigned bytes encodes again, and that decodes.
func FuzzDecode(f *testing.F) {
	good, err := trail.Record{Seq: 7, Time: time.UnixMicro(1_700_000_000_000_000).UTC(), Kind: 1}.Encode(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:20])
	f.Add([]byte("LGTR"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > fuzzing.MaxInput {
			return
		}
		var r trail.Record
		fuzzing.Within(t, "Decode", func() { r, err = trail.Decode(b) })
		if err != nil || len(r.Signature) > 0 {
			return
		}
		again, err := r.Encode(nil)
		if err != nil {
			t.Fatalf("decoded, but does not encode: %v", err)
		}
		if _, err := trail.Decode(again); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
	})
}
