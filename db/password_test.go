package db

import (
	"context"
	"math"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/ccojocar/zxcvbn-go"
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
	var ok bool
	if n := allocated(func() { ok, err = h.Verify(context.Background(), "no account has this password", "") }); n < kib*1024 {
		t.Errorf("a check for no account allocated %d bytes: it must cost an argon2id run of %d KiB", n, kib)
	}
	if ok || err != nil {
		t.Errorf("a check for no account answered %v, %v; want false, nil", ok, err)
	}
	if n := allocated(func() { err = h.Simulate(context.Background(), "any", "") }); n < kib*1024 || err != nil {
		t.Errorf("Simulate with no hash allocated %d bytes (%v): it must cost an argon2id run of %d KiB", n, err, kib)
	}
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

// TestHasherOnBusy: the hasher says busy when the first slot is taken and
// idle when the last is given back, and nothing in between, whether slots
// are held, hashed with, checked with or refused; under concurrent
// hashes the calls alternate and end idle.
func TestHasherOnBusy(t *testing.T) {
	h, err := NewHasher(HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, 2, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var calls []bool
	h.OnBusy(func(busy bool) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, busy)
	})
	got := func() []bool {
		mu.Lock()
		defer mu.Unlock()
		return append([]bool(nil), calls...)
	}
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
	r1()
	if c := got(); len(c) != 1 || !c[0] {
		t.Fatalf("after two holds, a refusal and one release: %v, want [true]", c)
	}
	r2()
	if c := got(); len(c) != 2 || c[1] {
		t.Fatalf("after both releases: %v, want [true false]", c)
	}

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			hash, err := h.Hash(ctx, "correct horse battery staple")
			if err != nil && err != ErrBusy {
				t.Error(err)
				return
			}
			if err == nil {
				_, _ = h.Verify(ctx, "correct horse battery staple", hash)
			}
		})
	}
	wg.Wait()
	c := got()
	for i, busy := range c {
		if busy != (i%2 == 0) {
			t.Fatalf("calls %v do not alternate busy, idle", c)
		}
	}
	if len(c)%2 != 0 {
		t.Fatalf("calls %v: the hasher did not end idle", c)
	}
}
