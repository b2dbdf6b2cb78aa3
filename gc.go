package main

import (
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
)

// The garbage collector's settings for `invited serve`, chosen from the
// hash pool's size.
//
// Every argon2id hash allocates a fresh matrix of argon2_memory_kib
// (19 MiB by default; golang.org/x/crypto/argon2 offers no way to reuse
// one), so under signups and logins the heap is mostly matrices: at most
// one per hash slot in use, plus the ones whose hash has ended and that the
// next cycle frees. With Go's default (GOGC=100) the heap may grow to twice
// what was live at the last cycle, and a cycle that happened to find every
// slot's matrix live let the process reach 150 to 175 MB on two slots. A
// memory limit sized for the pool does better: it lets the heap hold the
// live matrices, one being allocated and the server's own few megabytes, and
// collects when that is full; a high GC percent keeps the collector from
// starting earlier than the limit asks while the live heap is small.
const (
	// gcPercent is the GC percent set with the memory limit. The limit
	// decides when a cycle starts while hashes run; the percent only
	// matters while the heap is far below it.
	gcPercent = 400
	// gcBaseBytes is the memory limit's share for everything but the
	// matrices: the server's live heap (the password dictionaries, caches,
	// connections, about 10 MiB), goroutine stacks and the runtime's own
	// structures.
	gcBaseBytes = 24 << 20
	// gcSpareMatrices is how many matrices the limit holds beyond one per
	// slot: the one a new hash allocates while the ended ones wait for the
	// next cycle.
	gcSpareMatrices = 1
)

// gcChoice is what serve does with the garbage collector.
type gcChoice struct {
	set     bool  // false: the operator's GOGC or GOMEMLIMIT stand
	percent int   // GC percent to set
	limit   int64 // memory limit in bytes to set
	why     string
}

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
	if n < math.MaxInt32 {
		n += gcSpareMatrices
		if matrix == 0 || n <= (math.MaxInt64-gcBaseBytes)/matrix {
			limit = gcBaseBytes + n*matrix
		}
	}
	return gcChoice{set: true, percent: gcPercent, limit: limit,
		why: fmt.Sprintf("%d MiB for the server and %d hash slots of %d KiB and %d spare", gcBaseBytes>>20, max(slots, 1), memKiB, gcSpareMatrices)}
}

// applyGC sets c and logs what the collector runs with.
func applyGC(c gcChoice, log *slog.Logger) {
	if !c.set {
		log.Info("garbage collector: " + c.why)
		return
	}
	debug.SetGCPercent(c.percent)
	debug.SetMemoryLimit(c.limit)
	log.Info("garbage collector", "gc_percent", c.percent, "memory_limit_mib", c.limit>>20, "from", c.why)
}
