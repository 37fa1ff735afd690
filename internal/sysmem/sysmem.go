// Package sysmem says how much memory the process may use: its Go memory
// limit, else its cgroup's limit, else the machine's.
package sysmem

import (
	"bufio"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// Available is the memory the process may use: its Go memory limit
// (GOMEMLIMIT, debug.SetMemoryLimit) when one is set, else the machine's
// (Machine).
func Available() int64 {
	if lim := debug.SetMemoryLimit(-1); lim > 0 && lim < math.MaxInt64 {
		return lim
	}
	return Machine()
}

// Machine is the memory of the machine or container: the cgroup's limit
// when it has one, else MemTotal of /proc/meminfo, else 4 GiB.
func Machine() int64 {
	if lim := cgroupLimit(); lim > 0 {
		return lim
	}
	return memTotal()
}

func cgroupLimit() int64 {
	b, err := os.ReadFile("/sys/fs/cgroup/memory.max")
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0 // "max": no limit
	}
	return n
}

func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 4 << 30
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			if kb, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
				return kb << 10
			}
		}
	}
	return 4 << 30
}
