package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/argon2id"

	"invited/db"
)

// The argon2id parameters of invited's defaults (auth.argon2_*). The
// server under test is started with exactly these, so that the ceiling
// and the server hash the same way.
const (
	argonMemoryKiB   = 19456
	argonIterations  = 2
	argonParallelism = 1
)

// Password policy defaults of invited (auth.min_password_length,
// auth.min_password_score), used to time the checks a signup makes besides
// the hash.
const (
	policyMinLength = 8
	policyMinScore  = 2
)

// benchPassword is the password of every signup: long and strong enough for
// the default policy.
const benchPassword = "correct horse battery staple 42"

// argonParams are the parameters as invited's hasher sets them (a 16-byte
// salt and a 32-byte key).
var argonParams = &argon2id.Params{
	Memory: argonMemoryKiB, Iterations: argonIterations, Parallelism: argonParallelism,
	SaltLength: 16, KeyLength: 32,
}

type hashResult struct {
	singleRuns int
	single     time.Duration // mean time of one hash with nothing else running
	singleMin  time.Duration
	workers    int
	hashes     int64
	elapsed    time.Duration
	perSecond  float64 // the ceiling: hashes/s with workers goroutines
	cpu        phaseCPU

	// upstream: the same measure with golang.org/x/crypto/argon2 as
	// github.com/alexedwards/argon2id calls it (a fresh matrix per hash),
	// for the record; zero when not measured.
	upstream upstreamResult

	checkRuns int
	check     time.Duration // mean time of the signup's input checks (zxcvbn included)
}

type upstreamResult struct {
	hashes    int64
	elapsed   time.Duration
	perSecond float64
	cpu       phaseCPU
}

// measureHashing times one hash alone, then runs one hashing goroutine per
// CPU for d and counts the hashes: the most signups/s the machine could do
// if hashing were all they did. It hashes with invited's own hasher
// (db.Hasher, one slot per goroutine), which is what a signup runs. With
// upstream it then measures x/crypto's argon2 the same way, for the record.
func measureHashing(ctx context.Context, d time.Duration, singleRuns int, upstream bool) (hashResult, error) {
	r := hashResult{singleRuns: singleRuns, workers: runtime.NumCPU()}
	h, err := db.NewHasher(db.HashParams{MemoryKiB: argonMemoryKiB, Iterations: argonIterations, Parallelism: argonParallelism}, r.workers, time.Minute)
	if err != nil {
		return r, err
	}
	hash := func() error {
		_, err := h.Hash(ctx, benchPassword)
		return err
	}

	// One unmeasured hash first, so that the hasher has its matrix.
	if err := hash(); err != nil {
		return r, err
	}
	var total time.Duration
	for i := 0; i < singleRuns && ctx.Err() == nil; i++ {
		start := time.Now()
		if err := hash(); err != nil {
			return r, err
		}
		took := time.Since(start)
		total += took
		if r.singleMin == 0 || took < r.singleMin {
			r.singleMin = took
		}
	}
	r.single = total / time.Duration(singleRuns)

	if r.hashes, r.elapsed, r.cpu, err = hashFor(ctx, d, r.workers, hash); err != nil {
		return r, err
	}
	r.perSecond = float64(r.hashes) / r.elapsed.Seconds()

	if upstream {
		u := &r.upstream
		if u.hashes, u.elapsed, u.cpu, err = hashFor(ctx, d, r.workers, func() error {
			_, err := argon2id.CreateHash(benchPassword, argonParams)
			return err
		}); err != nil {
			return r, err
		}
		u.perSecond = float64(u.hashes) / u.elapsed.Seconds()
	}

	// What a signup computes besides the hash: the input checks, zxcvbn
	// being the costly part.
	policy := db.PasswordPolicy{MinLength: policyMinLength, MinScore: policyMinScore}
	in := db.UserInput{Email: "bench.check@example.com", Name: "Bench User", Password: benchPassword}
	if _, err := policy.ValidateUserInput(in); err != nil {
		return r, err
	}
	checkStart := time.Now()
	for time.Since(checkStart) < time.Second && ctx.Err() == nil {
		_, _ = policy.ValidateUserInput(in)
		r.checkRuns++
	}
	r.check = time.Since(checkStart) / time.Duration(max(r.checkRuns, 1))

	// Hand x/crypto's matrices back before the server starts (the
	// hasher's own are mapped outside the heap and go when it has been
	// idle a while).
	runtime.GC()
	debug.FreeOSMemory()
	return r, ctx.Err()
}

// hashFor runs hash in workers goroutines for d and counts the hashes.
// Every hash that was started is counted, and the time runs until the last
// one ended, so the rate is not flattered by a cut-off.
func hashFor(ctx context.Context, d time.Duration, workers int, hash func() error) (int64, time.Duration, phaseCPU, error) {
	var count atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	meter := startCPUMeter()
	start := time.Now()
	deadline := start.Add(d)
	for range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if err := hash(); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				count.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	return count.Load(), elapsed, meter.stop(), firstErr
}

// bracket is a ceiling measured between two signup runs.
type bracket struct {
	hashes    int64
	elapsed   time.Duration
	perSecond float64
	cpu       phaseCPU
}

// bracketHasher is the hasher the bracket ceilings hash with: invited's
// own, one slot per CPU, as measureHashing's.
var bracketHasher = sync.OnceValues(func() (*db.Hasher, error) {
	return db.NewHasher(db.HashParams{MemoryKiB: argonMemoryKiB, Iterations: argonIterations, Parallelism: argonParallelism}, runtime.NumCPU(), time.Minute)
})

// measureBracket counts hashes/s for d as measureHashing does, without
// its single-hash and input-check timings.
func measureBracket(ctx context.Context, d time.Duration) (bracket, error) {
	h, err := bracketHasher()
	if err != nil {
		return bracket{}, err
	}
	var b bracket
	b.hashes, b.elapsed, b.cpu, err = hashFor(ctx, d, runtime.NumCPU(), func() error {
		_, err := h.Hash(ctx, benchPassword)
		return err
	})
	b.perSecond = float64(b.hashes) / b.elapsed.Seconds()
	return b, err
}
