package main

import (
	"math"
	"strings"
	"testing"
)

// TestChooseGC: the GC percent lets the heap grow by about one matrix over
// the pool's, the memory limit holds one matrix per slot and one spare
// plus a fixed share for the server, and an operator's GOGC or GOMEMLIMIT
// is left alone.
func TestChooseGC(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		slots   int
		memKiB  uint32
		limit   int64
		percent int
	}{
		{2, 19456, 20*mib + 3*19*mib, 35}, // the defaults on two cores: 19 MiB of 16 + 38
		{1, 19456, 20*mib + 2*19*mib, 54},
		{8, 65536, 20*mib + 9*64*mib, 25}, // 12, bounded below
		{1, 262144, 20*mib + 2*256*mib, 94},
		{1, 1 << 22, 20*mib + 2*4096*mib, 99},
		{0, 64, 20*mib + 2*64<<10, 25}, // a pool has at least one slot
		{math.MaxInt, math.MaxUint32, math.MaxInt64, 25},
		{1 << 40, math.MaxUint32, math.MaxInt64, 25},
	} {
		c := chooseGC([]string{"PATH=/bin", "GOGCX=1"}, tc.slots, tc.memKiB)
		if !c.set || c.limit != tc.limit || c.percent != tc.percent || c.idle != 100 {
			t.Errorf("%d slots of %d KiB: %+v, want limit %d and percent %d", tc.slots, tc.memKiB, c, tc.limit, tc.percent)
		}
	}
	for _, env := range []string{"GOGC=100", "GOGC=off", "GOMEMLIMIT=200MiB"} {
		c := chooseGC([]string{env}, 2, 19456)
		if c.set || !strings.Contains(c.why, env) {
			t.Errorf("with %s: %+v, want nothing set and the variable named", env, c)
		}
	}
}
