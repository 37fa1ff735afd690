package contract

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Transform is what a hash or mask action makes of a value's text: its
// HMAC-SHA-256 under key (hex) — equal values stay equal, so the column
// still joins, and without the key a value cannot be tried against it — or
// its last four characters (half of a short value) with the rest starred.
// Drop has no value to make.
func (a PIIAction) Transform(key []byte, v string) string {
	if a == Hash {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(v))
		return hex.EncodeToString(m.Sum(nil))
	}
	r := []rune(v)
	keep := min(4, len(r)/2)
	return strings.Repeat("*", len(r)-keep) + string(r[len(r)-keep:])
}
