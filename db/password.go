package db

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/alexedwards/argon2id"
	"github.com/ccojocar/zxcvbn-go"

	"invited/third_party/argon2"
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
// number running at once; callers beyond the slots wait up to the queue
// timeout and then get EUNAVAILABLE.
//
// Each running hash works in a matrix of MemoryKiB. The hasher keeps the
// matrices and hands each slot one that an earlier hash left, instead of
// allocating 19 MiB (by default) per hash as golang.org/x/crypto/argon2
// does: so hashing needs at most slots × MemoryKiB, allocated once, and
// leaves the garbage collector nothing to do. Where the system allows,
// the matrices are mapped outside Go's heap, so they do not count in the
// collector's pacing either; once no hash has run for a while
// (matrixIdle) they are handed back to the system.
type Hasher struct {
	params HashParams
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

	// Under mu: the slots taken, the matrices not in use (at most one per
	// slot ever exists), and the idle countdown that frees them: idleGen
	// changes whenever a hash starts, so a countdown armed before it
	// finds it stale.
	mu         sync.Mutex
	inUse      int
	spare      []*matrix
	held       int
	idleGen    uint64
	idleStop   func() bool
	matrixIdle time.Duration
	afterFunc  func(time.Duration, func()) func() bool
}

// matrixIdle is how long the hasher keeps its matrices after the last
// hash ends: long enough that a steady trickle of logins reuses them,
// short enough that a server between bursts holds only its own heap.
const matrixIdle = 30 * time.Second

// Slots is how many hashes may run at once.
func (h *Hasher) Slots() int { return cap(h.slots) }

// ObserveWait makes the hasher report how long each caller waited for a
// slot. Call it before the hasher is used.
func (h *Hasher) ObserveWait(f func(time.Duration)) { h.observe = f }

// Waiting reports how many callers wait for a slot now.
func (h *Hasher) Waiting() int { return int(h.waiting.Load()) }

// InUse reports how many hashes are running now.
func (h *Hasher) InUse() int { return len(h.slots) }

// matrixBytes reports how much memory the hasher's matrices hold now,
// in use or kept for the next hash.
func (h *Hasher) matrixBytes() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return int64(h.held) * int64(argon2.WorkLen(h.params.MemoryKiB, h.params.Parallelism)) * 8
}

// NewHasher returns a hasher that runs at most slots hashes at once and lets
// a caller wait at most wait for a slot.
func NewHasher(p HashParams, slots int, wait time.Duration) (*Hasher, error) {
	if slots < 1 {
		slots = 1
	}
	h := &Hasher{
		params:     p,
		slots:      make(chan struct{}, slots),
		wait:       wait,
		matrixIdle: matrixIdle,
		afterFunc: func(d time.Duration, f func()) func() bool {
			return time.AfterFunc(d, f).Stop
		},
	}
	// The dummy only has to cost what a real check costs, and a check's
	// cost is set by the parameters in the hash, not by its key: random
	// salt and key bytes make one without running argon2id at start (a
	// hash with the default parameters is 19 MiB and tens of
	// milliseconds that every `invited serve` would pay).
	salt, key := make([]byte, saltBytes), make([]byte, keyBytes)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	h.dummy = encodeHash(p, salt, key)
	return h, nil
}

// The salt and key lengths of every hash the hasher makes.
const (
	saltBytes = 16
	keyBytes  = 32
)

// encodeHash writes a hash in the PHC string format that
// github.com/alexedwards/argon2id reads and writes.
func encodeHash(p HashParams, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// acquire takes a slot, waiting at most h.wait, and returns the matrix the
// slot's hash works in; it fails with EUNAVAILABLE when the server is too
// busy, or with the context's error.
func (h *Hasher) acquire(ctx context.Context) (*matrix, error) {
	select {
	case h.slots <- struct{}{}:
		if h.observe != nil {
			h.observe(0)
		}
		return h.took(), nil
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
		return h.took(), nil
	case <-timer.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// took counts a slot taken and gives it a matrix: a spare one, or a new
// one when every matrix made so far is in use.
func (h *Hasher) took() *matrix {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.inUse++; h.inUse == 1 {
		h.idleGen++
		if h.idleStop != nil {
			h.idleStop()
			h.idleStop = nil
		}
	}
	if n := len(h.spare); n > 0 {
		m := h.spare[n-1]
		h.spare = h.spare[:n-1]
		return m
	}
	h.held++
	return newMatrix(argon2.WorkLen(h.params.MemoryKiB, h.params.Parallelism))
}

// release gives a slot and its matrix back; the last one back starts the
// countdown after which the matrices are freed.
func (h *Hasher) release(m *matrix) {
	h.mu.Lock()
	h.spare = append(h.spare, m)
	if h.inUse--; h.inUse == 0 {
		gen := h.idleGen
		h.idleStop = h.afterFunc(h.matrixIdle, func() { h.freeIfIdle(gen) })
	}
	h.mu.Unlock()
	<-h.slots
}

// freeIfIdle frees the matrices if no hash has started since the
// countdown of generation gen began.
func (h *Hasher) freeIfIdle(gen uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.inUse == 0 && h.idleGen == gen {
		h.freeSpareLocked()
	}
}

func (h *Hasher) freeSpareLocked() {
	for _, m := range h.spare {
		m.free()
	}
	h.held -= len(h.spare)
	h.spare = h.spare[:0]
	h.idleStop = nil
}

// ErrBusy is returned when every hashing slot stayed taken for the whole
// wait. The server answers it with 503 and Retry-After.
var ErrBusy = &Error{Code: EUNAVAILABLE, Message: "The server is busy checking other passwords; try again in a second."}

// Hash returns the PHC-encoded argon2id hash of password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	m, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer h.release(m)
	salt := make([]byte, saltBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKeyIn(m.words, []byte(password), salt, h.params.Iterations, h.params.MemoryKiB, h.params.Parallelism, keyBytes)
	return encodeHash(h.params, salt, key), nil
}

// Verify reports whether password matches hash. An empty hash stands for
// "no such account": the dummy hash is checked instead so the time taken
// does not reveal it, and the answer is false.
func (h *Hasher) Verify(ctx context.Context, password, hash string) (bool, error) {
	m, err := h.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer h.release(m)
	if hash == "" {
		_, _ = h.check(m, password, h.dummy)
		return false, nil
	}
	return h.check(m, password, hash)
}

// check recomputes the key of hash for password in m (a hash made with
// other parameters than the hasher's may need more memory than m holds;
// the run then allocates its own) and compares the keys in constant time.
func (h *Hasher) check(m *matrix, password, hash string) (bool, error) {
	p, salt, key, err := argon2id.DecodeHash(hash)
	if err != nil {
		return false, err
	}
	other := argon2.IDKeyIn(m.words, []byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	if subtle.ConstantTimeEq(int32(len(key)), int32(len(other))) == 0 {
		return false, nil
	}
	return subtle.ConstantTimeCompare(key, other) == 1, nil
}

// Simulate costs what Verify(password, hash) costs, a slot and an argon2id
// run with the parameters of hash (the dummy's when hash is empty or not
// an argon2id hash), without comparing anything with hash: a login to a
// throttled account pays it, so its answer takes as long as a real check
// yet the password is never checked. Its only errors are the slot's.
func (h *Hasher) Simulate(ctx context.Context, password, hash string) error {
	m, err := h.acquire(ctx)
	if err != nil {
		return err
	}
	defer h.release(m)
	p, salt, _, err := argon2id.DecodeHash(hash)
	if err != nil {
		p, salt, _, _ = argon2id.DecodeHash(h.dummy)
	}
	// A salt of zeros: the run costs the same whatever the salt is, and
	// keeping the stored one out makes sure nothing here checks anything.
	_ = argon2.IDKeyIn(m.words, []byte(password), make([]byte, len(salt)), p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
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
// that gives it back (calling it again does nothing). It lets tests and
// tools fill the queue on purpose.
func (h *Hasher) Hold(ctx context.Context) (release func(), err error) {
	m, err := h.acquire(ctx)
	if err != nil {
		return nil, err
	}
	return sync.OnceFunc(func() { h.release(m) }), nil
}
