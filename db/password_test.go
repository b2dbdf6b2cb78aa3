package db

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/ccojocar/zxcvbn-go"

	"invited/internal/testutil"
)

// TestPasswordScoresMatchUpstream pins the strength scores (and entropies,
// in bits) of a table of passwords to what unpatched
// github.com/ccojocar/zxcvbn-go v1.0.4 answered when they were recorded.
// third_party/zxcvbn-go only changes when its dictionaries are built, so
// any difference here is a change of strength rules. It also checks that
// PasswordPolicy.Check turns the same user inputs into the same verdict.
func TestPasswordScoresMatchUpstream(t *testing.T) {
	// What Check makes of the email "ada@example.com", the name "Ada
	// Lovelace" and the username "ada.l" (and of "zorbulator@example.com").
	ada := []string{"ada@example.com", "ada", "example", "com", "ada lovelace", "ada", "lovelace", "ada.l", "ada", "l"}
	zorb := []string{"zorbulator@example.com", "zorbulator", "example", "com"}
	cases := []struct {
		password string
		inputs   []string
		score    int
		entropy  float64
	}{
		{"password", nil, 0, 0.000},
		{"password123", nil, 0, 1.585},
		{"123456", nil, 0, 1.000},
		{"qwerty", nil, 0, 2.322},
		{"letmein1", nil, 0, 4.459},
		{"iloveyou", nil, 0, 6.285},
		{"monkey", nil, 0, 3.585},
		{"dragon2000", nil, 0, 7.055},
		{"zxcvbnm", nil, 0, 7.459},
		{"1qaz2wsx", nil, 0, 8.974},
		{"Tr0ub4dor&3", nil, 4, 43.189},
		{"P@ssw0rd", nil, 0, 1.000},
		{"abcdefgh", nil, 0, 3.000},
		{"aaaaaaaa", nil, 0, 7.700},
		{"11/12/1999", nil, 1, 22.609},
		{"19841984", nil, 0, 11.993},
		{"qwertyuiop", nil, 0, 10.592},
		{"asdfghjkl;", nil, 0, 13.728},
		{"Jennifer", nil, 0, 3.585},
		{"smith1234", nil, 0, 2.000},
		{"correct horse battery staple", nil, 4, 62.860},
		{"correct horse battery staple 42", nil, 4, 78.076},
		{"e2e-Signup-Passphrase-9!", nil, 4, 81.041},
		{"Xk2#vLp9!qR", nil, 4, 66.699},
		{"purple-tractor-maple", nil, 3, 40.146},
		{"ZyXw9876", nil, 2, 30.139},
		{"hunter22", nil, 0, 14.984},
		{"lovelace1815", ada, 0, 12.562},
		{"ada.lovelace", ada, 0, 11.860},
		{"example.com", ada, 0, 9.468},
		{"adaexample", ada, 0, 4.755},
		{"zorbulator1", zorb, 0, 2.000},
		{"glimmering otter sings", ada, 4, 60.533},
		{"hello world", nil, 0, 19.807},
		{"sunshine99!", nil, 0, 18.539},
		{"kittens12", nil, 0, 18.231},
		{"blue42cat", nil, 1, 22.188},
		{"Summer2019", nil, 0, 19.251},
		{"mapleleaf7", nil, 2, 28.636},
		{"trombone!", nil, 0, 11.116},
		{"xkcd936", nil, 3, 36.189},
		{"NotMyName77", ada, 2, 30.953},
		{"Ada-Lovelace-1815!", ada, 2, 33.272},
	}
	for _, tc := range cases {
		r := zxcvbn.PasswordStrength(tc.password, tc.inputs)
		if r.Score != tc.score || math.Abs(r.Entropy-tc.entropy) > 0.0005 {
			t.Errorf("%q: score %d, entropy %.3f; upstream answered %d, %.3f", tc.password, r.Score, r.Entropy, tc.score, tc.entropy)
		}
		var userInputs []string
		switch {
		case tc.inputs == nil:
		case tc.inputs[0] == zorb[0]:
			userInputs = []string{"zorbulator@example.com"}
		default:
			userInputs = []string{"ada@example.com", "Ada Lovelace", "ada.l"}
		}
		err := PasswordPolicy{MinLength: 1, MinScore: 2}.Check("password", tc.password, userInputs...)
		if (err == nil) != (tc.score >= 2) {
			t.Errorf("%q with inputs %q: Check answered %v for a score of %d", tc.password, userInputs, err, tc.score)
		}
	}
}

// TestNewHasherRunsNoHash: making a hasher must not run argon2id (every
// `invited serve` would pay a hash's memory and time at start), yet a
// check against no account must still cost a full argon2id run with the
// hasher's parameters.
func TestNewHasherRunsNoHash(t *testing.T) {
	const kib = 16 * 1024
	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	var h *Hasher
	var err error
	if n := allocated(func() { h, err = NewHasher(HashParams{MemoryKiB: kib, Iterations: 1, Parallelism: 1}, 1, time.Second) }); n > 1<<20 {
		t.Errorf("NewHasher allocated %d bytes: it ran argon2id", n)
	}
	if err != nil {
		t.Fatal(err)
	}
	p, _, _, err := argon2id.DecodeHash(h.dummy)
	if err != nil || p.Memory != kib || p.Iterations != 1 || p.Parallelism != 1 || p.SaltLength != 16 || p.KeyLength != 32 {
		t.Fatalf("dummy %q decodes to %+v, %v", h.dummy, p, err)
	}
	if got := h.matrixBytes(); got != 0 {
		t.Errorf("NewHasher made %d bytes of matrices", got)
	}
	// A full run with the hasher's parameters writes every block of its
	// matrix; the matrix is the hasher's to look at once the run is over.
	everyBlockWritten := func(what string) {
		t.Helper()
		h.mu.Lock()
		defer h.mu.Unlock()
		if len(h.spare) != 1 || len(h.spare[0].words) != kib*128 {
			t.Fatalf("%s: %d spare matrices, want one of %d words", what, len(h.spare), kib*128)
		}
		words := h.spare[0].words
		for b := 0; b < kib; b++ {
			block, nonzero := words[b*128:(b+1)*128], false
			for _, w := range block {
				nonzero = nonzero || w != 0
			}
			if !nonzero {
				t.Fatalf("%s: block %d of %d was not written: not a full argon2id run", what, b, kib)
			}
		}
		clear(words)
	}
	ok, err := h.Verify(context.Background(), "no account has this password", "")
	if ok || err != nil {
		t.Errorf("a check for no account answered %v, %v; want false, nil", ok, err)
	}
	everyBlockWritten("a check for no account")
	if err := h.Simulate(context.Background(), "any", ""); err != nil {
		t.Fatal(err)
	}
	everyBlockWritten("Simulate with no hash")
	if err := h.Simulate(context.Background(), "any", "$argon2id$garbage"); err != nil {
		t.Fatal(err)
	}
	everyBlockWritten("Simulate with a malformed hash")
}

// TestPasswordCheckFirstUseIsConcurrent: the dictionaries load on the
// first check, which may come from many requests at once. The test runs
// itself again in a new process (so that this is the process's first
// check, whatever ran before) with 8 goroutines checking at once; under
// -race a data race in the loading fails it, and every verdict must be
// the same as after loading.
func TestPasswordCheckFirstUseIsConcurrent(t *testing.T) {
	if os.Getenv("INVITED_FIRST_CHECK_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPasswordCheckFirstUseIsConcurrent$", "-test.count=1")
		cmd.Env = append(os.Environ(), "INVITED_FIRST_CHECK_CHILD=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	p := PasswordPolicy{MinLength: 8, MinScore: 2}
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = p.Check("password", "password123", "ada@example.com") })
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			t.Errorf("goroutine %d: a common password passed the first check", i)
		}
	}
	if err := p.Check("password", "correct horse battery staple"); err != nil {
		t.Errorf("a strong password after loading: %v", err)
	}
}

// TestHasherKeepsMatrices: each slot's hash works in a matrix the hasher
// keeps; at most one exists per slot however many hashes run; once the
// last hash ends a countdown starts, and a countdown that a later hash
// made stale frees nothing, while a current one frees every matrix.
func TestHasherKeepsMatrices(t *testing.T) {
	const kib = 64
	h, err := NewHasher(HashParams{MemoryKiB: kib, Iterations: 1, Parallelism: 1}, 2, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var countdowns []func()
	h.afterFunc = func(d time.Duration, f func()) func() bool {
		if d != matrixIdle {
			t.Errorf("countdown of %s, want %s", d, matrixIdle)
		}
		mu.Lock()
		defer mu.Unlock()
		countdowns = append(countdowns, f)
		return func() bool { return true }
	}
	armed := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(countdowns)
	}
	const matrixBytes = kib << 10
	ctx := context.Background()
	r1, err := h.Hold(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := h.Hold(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Hold(ctx); err != ErrBusy {
		t.Fatalf("a third hold on two slots: %v, want ErrBusy", err)
	}
	if got := h.matrixBytes(); got != 2*matrixBytes {
		t.Fatalf("two slots taken: %d bytes of matrices, want %d", got, 2*matrixBytes)
	}
	r1()
	r1() // a second call gives nothing back twice
	if n := armed(); n != 0 {
		t.Fatalf("a countdown started while a slot was still taken")
	}
	r2()
	if n := armed(); n != 1 {
		t.Fatalf("after the last release: %d countdowns, want 1", n)
	}
	if got := h.matrixBytes(); got != 2*matrixBytes {
		t.Fatalf("after the releases: %d bytes, want both matrices kept (%d)", got, 2*matrixBytes)
	}

	// Many hashes at once: never more matrices than slots, and every hash
	// checks out in memory an earlier one left.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			pw := fmt.Sprintf("correct horse battery staple %d", i)
			hash, err := h.Hash(ctx, pw)
			if err == ErrBusy {
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			if ok, err := h.Verify(ctx, pw, hash); !ok && err != ErrBusy {
				t.Errorf("the hash of %q did not verify: %v", pw, err)
			}
			if ok, _ := h.Verify(ctx, pw+"!", hash); ok {
				t.Errorf("a wrong password verified against the hash of %q", pw)
			}
			if got := h.matrixBytes(); got > 2*matrixBytes {
				t.Errorf("%d bytes of matrices with two slots", got)
			}
		})
	}
	wg.Wait()
	if got := h.matrixBytes(); got != 2*matrixBytes {
		t.Fatalf("after the hashes: %d bytes, want %d", got, 2*matrixBytes)
	}

	// The first countdown is stale: hashes ran since it began.
	mu.Lock()
	first, last := countdowns[0], countdowns[len(countdowns)-1]
	mu.Unlock()
	first()
	if got := h.matrixBytes(); got != 2*matrixBytes {
		t.Fatalf("a stale countdown freed matrices: %d bytes left", got)
	}
	// A countdown that fires while a hash runs frees nothing either.
	r, err := h.Hold(ctx)
	if err != nil {
		t.Fatal(err)
	}
	last()
	if got := h.matrixBytes(); got != 2*matrixBytes {
		t.Fatalf("a countdown freed matrices while a slot was taken: %d bytes left", got)
	}
	r()
	mu.Lock()
	last = countdowns[len(countdowns)-1]
	mu.Unlock()
	last()
	if got := h.matrixBytes(); got != 0 {
		t.Fatalf("the current countdown left %d bytes of matrices", got)
	}
	// And the next hash makes a matrix again.
	hash, err := h.Hash(ctx, "after the idle time")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Verify(ctx, "after the idle time", hash); !ok || err != nil {
		t.Fatalf("a hash made after the matrices were freed: %v, %v", ok, err)
	}
}

// TestHasherFreesMatricesWhenIdle: with the real clock and a short idle
// time, the matrices go once the hasher has been idle that long.
func TestHasherFreesMatricesWhenIdle(t *testing.T) {
	h, err := NewHasher(HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, 2, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	h.matrixIdle = time.Millisecond
	if _, err := h.Hash(context.Background(), "a password"); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the matrices to be freed", func() error {
		if n := h.matrixBytes(); n != 0 {
			return fmt.Errorf("%d bytes of matrices still held", n)
		}
		return nil
	})
}

// TestHasherSpeaksArgon2idPHC: hashes go both ways between the hasher and
// github.com/alexedwards/argon2id, whose format the database has always
// stored, including hashes with other parameters than the hasher's (more
// memory than its matrices hold, more lanes); a wrong password and a
// malformed hash are refused as the library refuses them.
func TestHasherSpeaksArgon2idPHC(t *testing.T) {
	h, err := NewHasher(HashParams{MemoryKiB: 64, Iterations: 2, Parallelism: 1}, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ours, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	p, salt, key, err := argon2id.DecodeHash(ours)
	if err != nil || p.Memory != 64 || p.Iterations != 2 || p.Parallelism != 1 || len(salt) != 16 || len(key) != 32 {
		t.Fatalf("our hash %q decodes to %+v, %d-byte salt, %d-byte key, %v", ours, p, len(salt), len(key), err)
	}
	if ok, err := argon2id.ComparePasswordAndHash("correct horse battery staple", ours); !ok || err != nil {
		t.Fatalf("the library does not accept our hash: %v, %v", ok, err)
	}
	for _, params := range []*argon2id.Params{
		{Memory: 64, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		{Memory: 256, Iterations: 1, Parallelism: 2, SaltLength: 8, KeyLength: 16},
		{Memory: 32, Iterations: 3, Parallelism: 4, SaltLength: 32, KeyLength: 64},
	} {
		theirs, err := argon2id.CreateHash("Tr0ub4dor&3", params)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := h.Verify(ctx, "Tr0ub4dor&3", theirs); !ok || err != nil {
			t.Errorf("the library's hash %q: Verify = %v, %v", theirs, ok, err)
		}
		if ok, err := h.Verify(ctx, "Tr0ub4dor&4", theirs); ok || err != nil {
			t.Errorf("a wrong password against %q: Verify = %v, %v; want false, nil", theirs, ok, err)
		}
	}
	for _, bad := range []string{"plain", "$argon2id$v=19$m=64,t=2,p=1$c2FsdA", "$argon2i$v=19$m=64,t=2,p=1$c2FsdHNhbHQ$a2V5", "$argon2id$v=18$m=64,t=2,p=1$c2FsdHNhbHQ$a2V5"} {
		ok, err := h.Verify(ctx, "x", bad)
		_, libErr := argon2id.ComparePasswordAndHash("x", bad)
		if ok || (err == nil) != (libErr == nil) {
			t.Errorf("Verify(%q) = %v, %v; the library says %v", bad, ok, err, libErr)
		}
	}
}
