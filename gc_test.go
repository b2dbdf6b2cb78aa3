package main

import (
	"math"
	"strings"
	"testing"
)

// TestChooseGC: the memory limit follows the hash pool (one matrix per slot
// and one spare, plus a fixed share for the server), and an operator's
// GOGC or GOMEMLIMIT is left alone.
func TestChooseGC(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		slots  int
		memKiB uint32
		limit  int64
	}{
		{2, 19456, 24*mib + 3*19*mib},
		{1, 19456, 24*mib + 2*19*mib},
		{8, 65536, 24*mib + 9*64*mib},
		{0, 64, 24*mib + 2*64<<10}, // a pool has at least one slot
		{math.MaxInt, math.MaxUint32, math.MaxInt64},
		{1 << 40, math.MaxUint32, math.MaxInt64},
	} {
		c := chooseGC([]string{"PATH=/bin", "GOGCX=1"}, tc.slots, tc.memKiB)
		if !c.set || c.limit != tc.limit || c.percent != gcPercent {
			t.Errorf("%d slots of %d KiB: %+v, want limit %d and percent %d", tc.slots, tc.memKiB, c, tc.limit, gcPercent)
		}
	}
	for _, env := range []string{"GOGC=100", "GOGC=off", "GOMEMLIMIT=200MiB"} {
		c := chooseGC([]string{env}, 2, 19456)
		if c.set || !strings.Contains(c.why, env) {
			t.Errorf("with %s: %+v, want nothing set and the variable named", env, c)
		}
	}
}
