package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile of the whole process to the file
// LAGOON_CPUPROFILE names, for `go tool pprof` (bench/README.md); the
// returned func ends it. Without the variable it does nothing.
func startProfile() (stop func()) {
	path := os.Getenv("LAGOON_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "lagoon: LAGOON_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
