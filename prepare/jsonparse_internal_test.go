package prepare

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// special8 must flag a word exactly when one of its bytes is a quote, a
// backslash or a control character.
func TestSpecial8(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	interesting := []byte{0, 0x1f, 0x20, 0x21, '"', 0x23, '\\', 0x5b, 0x5d, 0x7f, 0x80, 0xa2, 0xdc, 0xff}
	var b [8]byte
	for range 200_000 {
		want := false
		for i := range b {
			if rng.IntN(4) == 0 {
				b[i] = interesting[rng.IntN(len(interesting))]
			} else {
				b[i] = byte(rng.IntN(256))
			}
			want = want || b[i] == '"' || b[i] == '\\' || b[i] < 0x20
		}
		if got := special8(binary.LittleEndian.Uint64(b[:])); got != want {
			t.Fatalf("special8(% x) = %v, want %v", b, got, want)
		}
	}
}

func BenchmarkParseString(b *testing.B) {
	rec := []byte(`"b5bb5b02-6df6-4d72-b542-47786a4500c3 Premium maintenance Ltd, Onsite audit"`)
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		p := jsonParser{b: rec}
		if _, err := p.str(); err != nil {
			b.Fatal(err)
		}
	}
}
