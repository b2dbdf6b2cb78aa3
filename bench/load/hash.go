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

	checkRuns int
	check     time.Duration // mean time of the signup's input checks (zxcvbn included)
}

// measureHashing times one hash alone, then runs one hashing goroutine per
// CPU for d and counts the hashes: the most signups/s the machine could do
// if hashing were all they did.
func measureHashing(ctx context.Context, d time.Duration, singleRuns int) (hashResult, error) {
	r := hashResult{singleRuns: singleRuns, workers: runtime.NumCPU()}

	// One unmeasured hash first, so that the heap has grown to hold one.
	if _, err := argon2id.CreateHash(benchPassword, argonParams); err != nil {
		return r, err
	}
	var total time.Duration
	for i := 0; i < singleRuns && ctx.Err() == nil; i++ {
		start := time.Now()
		if _, err := argon2id.CreateHash(benchPassword, argonParams); err != nil {
			return r, err
		}
		took := time.Since(start)
		total += took
		if r.singleMin == 0 || took < r.singleMin {
			r.singleMin = took
		}
	}
	r.single = total / time.Duration(singleRuns)

	var count atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	meter := startCPUMeter()
	start := time.Now()
	deadline := start.Add(d)
	for range r.workers {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if _, err := argon2id.CreateHash(benchPassword, argonParams); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				count.Add(1)
			}
		})
	}
	wg.Wait()
	// Every hash that was started is counted, and the time runs until the
	// last one ended, so the rate is not flattered by a cut-off.
	r.elapsed = time.Since(start)
	r.cpu = meter.stop()
	r.hashes = count.Load()
	r.perSecond = float64(r.hashes) / r.elapsed.Seconds()
	if firstErr != nil {
		return r, firstErr
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

	// Hand the hashes' memory back before the server starts.
	runtime.GC()
	debug.FreeOSMemory()
	return r, ctx.Err()
}
