package main

import (
	"os"
	"runtime/debug"

	"github.com/lagoon-dev/lagoon/internal/sysmem"
)

// softMemoryShare is the part of the machine's (or container's) memory
// lagoon sets as its soft memory limit when GOMEMLIMIT does not say.
const softMemoryShare = 0.75

// setMemoryLimit gives the process a soft memory limit of three quarters
// of the machine's memory unless GOMEMLIMIT sets one: the garbage
// collector then works harder as the heap nears it, rather than letting a
// file of huge values (a gigabyte each) take the heap to twice what it
// holds and the machine's out-of-memory killer take the daemon. Parquet
// pages are bounded by the same figure (pqcompat.PageLimit).
func setMemoryLimit() {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(int64(float64(sysmem.Machine()) * softMemoryShare))
}
