package lake_test

import (
	"testing"
	"time"

	"github.com/lagoon-dev/lagoon/lake"
)

// TestFinished: a marked file is whole until it is modified after the
// mark; an unmarked one, or any file of a nil Finished, is not known.
func TestFinished(t *testing.T) {
	var f lake.Finished
	before := time.Now().Add(-time.Second)
	f.Mark("load/db/t/a.parquet")
	cases := []struct {
		info lake.ObjectInfo
		want bool
	}{
		{lake.ObjectInfo{Key: "load/db/t/a.parquet", ModTime: before}, true},
		{lake.ObjectInfo{Key: "load/db/t/a.parquet", ModTime: time.Now().Add(time.Second)}, false}, // written again
		{lake.ObjectInfo{Key: "load/db/t/b.parquet", ModTime: before}, false},
	}
	for _, tc := range cases {
		if got := f.Has(tc.info); got != tc.want {
			t.Errorf("Has(%s at %v) = %v", tc.info.Key, tc.info.ModTime, got)
		}
	}
	var none *lake.Finished
	if none.Has(cases[0].info) {
		t.Error("a nil Finished knows a file")
	}
	for i := range 5000 { // pruning as marks come keeps them all (none is an hour old)
		f.Mark("load/db/t/many-" + string(rune('a'+i%26)) + time.Duration(i).String())
	}
	if !f.Has(cases[0].info) {
		t.Error("an early mark was lost")
	}
}
