package db

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
	"github.com/ccojocar/zxcvbn-go"
	"golang.org/x/crypto/argon2"
)

// MaxPasswordBytes bounds a password's length; longer ones are refused
// before any hashing so that they cannot be used to burn CPU.
const MaxPasswordBytes = 1024

// HashParams are the argon2id cost parameters.
type HashParams struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
}

// Hasher computes and checks argon2id password hashes with at most a fixed
// number running at once. Each hash holds MemoryKiB of memory while it
// runs, so the memory the hasher can use is bounded by
// slots × MemoryKiB; callers beyond the slots wait up to the queue timeout
// and then get EUNAVAILABLE.
type Hasher struct {
	params *argon2id.Params
	slots  chan struct{}
	wait   time.Duration
	// dummy is an argon2id hash with the hasher's parameters and a random
	// key, checked against when a login names no account so that the
	// answer takes as long as a real check.
	dummy string
	// waiting counts callers waiting for a slot; observe, when set, is
	// told how long each caller waited.
	waiting atomic.Int64
	observe func(time.Duration)
	// inUse counts the slots taken, under busyMu; onBusy, when set, is
	// told when it leaves and when it comes back to zero.
	busyMu sync.Mutex
	inUse  int
	onBusy func(busy bool)
}

// OnBusy makes the hasher call f(true) when a slot is taken while none
// was, and f(false) when the last taken slot is given back; the calls
// come in that order, one at a time. serve uses it to run the garbage
// collector harder only while hashes allocate their memory. Call it
// before the hasher is used.
func (h *Hasher) OnBusy(f func(busy bool)) { h.onBusy = f }

// took and gave count a slot taken and given back.
func (h *Hasher) took() {
	if h.onBusy == nil {
		return
	}
	h.busyMu.Lock()
	defer h.busyMu.Unlock()
	if h.inUse++; h.inUse == 1 {
		h.onBusy(true)
	}
}

func (h *Hasher) gave() {
	if h.onBusy == nil {
		return
	}
	h.busyMu.Lock()
	defer h.busyMu.Unlock()
	if h.inUse--; h.inUse == 0 {
		h.onBusy(false)
	}
}

// release gives a slot back.
func (h *Hasher) release() {
	<-h.slots
	h.gave()
}

// ObserveWait makes the hasher report how long each caller waited for a
// slot. Call it before the hasher is used.
func (h *Hasher) ObserveWait(f func(time.Duration)) { h.observe = f }

// Waiting reports how many callers wait for a slot now.
func (h *Hasher) Waiting() int { return int(h.waiting.Load()) }

// Slots is how many hashes may run at once.
func (h *Hasher) Slots() int { return cap(h.slots) }

// NewHasher returns a hasher that runs at most slots hashes at once and lets
// a caller wait at most wait for a slot.
func NewHasher(p HashParams, slots int, wait time.Duration) (*Hasher, error) {
	if slots < 1 {
		slots = 1
	}
	h := &Hasher{
		params: &argon2id.Params{Memory: p.MemoryKiB, Iterations: p.Iterations, Parallelism: p.Parallelism, SaltLength: 16, KeyLength: 32},
		slots:  make(chan struct{}, slots),
		wait:   wait,
	}
	// The dummy only has to cost what a real check costs, and a check's
	// cost is set by the parameters in the hash, not by its key: random
	// salt and key bytes make one without running argon2id at start (a
	// hash with the default parameters is 19 MiB and tens of
	// milliseconds that every `invited serve` would pay).
	salt, key := make([]byte, h.params.SaltLength), make([]byte, h.params.KeyLength)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	h.dummy = fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
	return h, nil
}

// InUse reports how many hashes are running now.
func (h *Hasher) InUse() int { return len(h.slots) }

// acquire takes a slot, waiting at most h.wait; it fails with EUNAVAILABLE
// when the server is too busy, or with the context's error.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		h.took()
		if h.observe != nil {
			h.observe(0)
		}
		return nil
	default:
	}
	start := time.Now()
	h.waiting.Add(1)
	defer h.waiting.Add(-1)
	if h.observe != nil {
		defer func() { h.observe(time.Since(start)) }()
	}
	timer := time.NewTimer(h.wait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		h.took()
		return nil
	case <-timer.C:
		return ErrBusy
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ErrBusy is returned when every hashing slot stayed taken for the whole
// wait. The server answers it with 503 and Retry-After.
var ErrBusy = &Error{Code: EUNAVAILABLE, Message: "The server is busy checking other passwords; try again in a second."}

// Hash returns the PHC-encoded argon2id hash of password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return argon2id.CreateHash(password, h.params)
}

// Verify reports whether password matches hash. An empty hash stands for
// "no such account": the dummy hash is checked instead so the time taken
// does not reveal it, and the answer is false.
func (h *Hasher) Verify(ctx context.Context, password, hash string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	if hash == "" {
		_, _ = argon2id.ComparePasswordAndHash(password, h.dummy)
		return false, nil
	}
	return argon2id.ComparePasswordAndHash(password, hash)
}

// Simulate costs what Verify(password, hash) costs, a slot and an argon2id
// run with the parameters of hash (the dummy's when hash is empty or not
// an argon2id hash), without comparing anything with hash: a login to a
// throttled account pays it, so its answer takes as long as a real check
// yet the password is never checked. Its only errors are the slot's.
func (h *Hasher) Simulate(ctx context.Context, password, hash string) error {
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.release()
	p, salt, _, err := argon2id.DecodeHash(hash)
	if err != nil {
		p, salt, _, _ = argon2id.DecodeHash(h.dummy)
	}
	// A salt of zeros: the run costs the same whatever the salt is, and
	// keeping the stored one out makes sure nothing here checks anything.
	_ = argon2.IDKey([]byte(password), make([]byte, len(salt)), p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	return nil
}

// PasswordPolicy decides which passwords are acceptable.
type PasswordPolicy struct {
	MinLength int // in bytes, at least 1
	MinScore  int // zxcvbn score 0..4; 0 turns the guessability check off
}

// zxcvbn's matching grows quickly with length; a password is scored on its
// first scoreRunes characters, which is plenty to tell a weak one.
const scoreRunes = 100

// Check returns nil when password is acceptable, or an EINVALID error on
// field that says which rule failed and how to fix it. userInputs (the
// person's email, name, username) count as easy to guess.
func (p PasswordPolicy) Check(field, password string, userInputs ...string) error {
	switch {
	case password == "":
		return FieldErrorf(field, "is required")
	case !utf8.ValidString(password):
		return FieldErrorf(field, "is not valid UTF-8 text")
	case len(password) < p.MinLength:
		return FieldErrorf(field, "is too short: use at least %d characters", p.MinLength)
	case len(password) > MaxPasswordBytes:
		return FieldErrorf(field, "is too long: use at most %d bytes", MaxPasswordBytes)
	}
	if p.MinScore <= 0 {
		return nil
	}
	sample := password
	if utf8.RuneCountInString(sample) > scoreRunes {
		sample = string([]rune(sample)[:scoreRunes])
	}
	var inputs []string
	for _, in := range userInputs {
		in = strings.ToLower(strings.TrimSpace(in))
		if in == "" {
			continue
		}
		inputs = append(inputs, in)
		// Parts of an email or a name are guessable on their own too.
		inputs = append(inputs, strings.FieldsFunc(in, func(r rune) bool {
			return r == '@' || r == '.' || r == ' ' || r == '-' || r == '_' || r == '+'
		})...)
	}
	if score := zxcvbn.PasswordStrength(sample, inputs).Score; score < p.MinScore {
		return FieldErrorf(field, "is too easy to guess (strength %d of 4, %d needed): use a longer phrase of unrelated words, and avoid your name, email and common passwords", score, p.MinScore)
	}
	return nil
}

// Hold takes one hashing slot, as a hash would, and returns the function
// that gives it back. It lets tests and tools fill the queue on purpose.
func (h *Hasher) Hold(ctx context.Context) (release func(), err error) {
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	return h.release, nil
}
