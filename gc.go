package main

import (
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"

	"invited/db"
)

// The garbage collector's settings for `invited serve`, chosen from the
// hash pool's size.
//
// Every argon2id hash allocates a fresh matrix of argon2_memory_kib
// (19 MiB by default; golang.org/x/crypto/argon2 offers no way to reuse
// one), so under signups and logins the heap is mostly matrices: one per
// hash slot in use, and the ones whose hash has ended until a cycle frees
// them. With Go's default (GOGC=100) the heap may grow to twice what was
// live at the last cycle, and a cycle that found every slot's matrix live
// let two slots take the process to 150 to 175 MB.
//
// So while any hash runs, the GC percent is set so that the heap may grow
// by about one matrix over what is live while every slot hashes: a cycle
// starts about once per hash, which is as often as a program that only
// hashes collects, and the server's own live heap is a few MiB (the
// password dictionaries hold no pointers for the collector to follow), so
// such a cycle is cheap. When the last hash ends the percent goes back to
// Go's default (100): with a heap of a few MiB, a percent of 35 would run
// a cycle every few hundred validate or forward-auth requests and cost
// them about a third more CPU (measured). The
// memory limit holds the slots' matrices, one more and a fixed share for
// the rest: when a cycle runs late (a busy machine), the next matrix makes
// the allocating request help the collector finish first, instead of
// taking a fourth matrix's worth of new memory. A limit much lower than
// that makes the runtime hand freed matrix pages back to the kernel, and
// every page of the next matrix then costs a page fault (measured: 12% of
// the server's CPU against 5%); a much higher one, or none, lets a late
// cycle add a matrix to the peak.
const (
	// gcLiveBase is what the percent counts as the server's own live
	// heap beside the matrices.
	gcLiveBase = 16 << 20
	// gcBaseBytes is the memory limit's share for everything but the
	// matrices: the live heap, goroutine stacks (a few MiB with hundreds
	// of waiting requests), the runtime's own structures.
	gcBaseBytes = 20 << 20
	// gcSpareMatrices is how many matrices the limit holds beyond one per
	// slot: the one a new hash allocates while the ended one waits for
	// its cycle.
	gcSpareMatrices = 1
	// gcMinPercent and gcMaxPercent bound the percent: large pools of
	// small matrices would otherwise collect far too often for the rest
	// of the server's work.
	gcMinPercent = 25
	gcMaxPercent = 100
)

// gcChoice is what serve does with the garbage collector.
type gcChoice struct {
	set     bool  // false: the operator's GOGC or GOMEMLIMIT stand
	percent int   // GC percent while any hash runs
	idle    int   // GC percent while none does
	limit   int64 // memory limit in bytes to set
	why     string
}

// gcIdlePercent is the GC percent while no hash runs: Go's default.
const gcIdlePercent = 100

// chooseGC returns the GC settings for slots hash slots of memKiB each,
// or nothing to set when environ names GOGC or GOMEMLIMIT (the runtime
// has applied those already, and an operator who set either knows best).
func chooseGC(environ []string, slots int, memKiB uint32) gcChoice {
	if v := lookupEnv(environ, "GOGC"); v != "" {
		return gcChoice{why: "GOGC=" + v + " is set, so the program leaves the garbage collector as the environment says"}
	}
	if v := lookupEnv(environ, "GOMEMLIMIT"); v != "" {
		return gcChoice{why: "GOMEMLIMIT=" + v + " is set, so the program leaves the garbage collector as the environment says"}
	}
	matrix := int64(memKiB) << 10
	n := int64(max(slots, 1))
	limit := int64(math.MaxInt64) // no limit: the product would overflow
	percent := gcMinPercent
	if n < math.MaxInt32 && (matrix == 0 || n+gcSpareMatrices <= (math.MaxInt64-gcBaseBytes)/matrix) {
		limit = gcBaseBytes + (n+gcSpareMatrices)*matrix
		percent = int(min(max(100*matrix/(gcLiveBase+n*matrix), gcMinPercent), gcMaxPercent))
	}
	return gcChoice{set: true, percent: percent, idle: gcIdlePercent, limit: limit,
		why: fmt.Sprintf("%d hash slots of %d KiB", max(slots, 1), memKiB)}
}

// applyGC sets c, switching the GC percent whenever h starts and stops
// hashing, and logs what the collector runs with.
func applyGC(c gcChoice, h *db.Hasher, log *slog.Logger) {
	if !c.set {
		log.Info("garbage collector: " + c.why)
		return
	}
	debug.SetGCPercent(c.idle)
	debug.SetMemoryLimit(c.limit)
	h.OnBusy(func(busy bool) {
		if busy {
			debug.SetGCPercent(c.percent)
		} else {
			debug.SetGCPercent(c.idle)
		}
	})
	log.Info("garbage collector", "gc_percent_hashing", c.percent, "gc_percent_idle", c.idle, "memory_limit_mib", c.limit>>20, "from", c.why)
}
