package argon2

import (
	"bytes"
	"math/rand/v2"
	"testing"

	upstream "golang.org/x/crypto/argon2"
)

// TestIDKeyInMatchesUpstream runs IDKeyIn in one work area, dirtied with
// random words before every run and reused across runs of different sizes
// and lane counts, and compares each key with golang.org/x/crypto's IDKey:
// a run must not depend on what the memory held before.
func TestIDKeyInMatchesUpstream(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	work := make([]uint64, WorkLen(512, 1))
	cases := []struct {
		time, memory uint32
		threads      uint8
		keyLen       uint32
	}{
		{1, 8, 1, 32}, {1, 16, 2, 32}, {2, 64, 1, 32}, {3, 64, 4, 16},
		{2, 256, 1, 64}, {1, 256, 3, 32}, {2, 512, 1, 32}, {4, 100, 2, 32},
		{2, 511, 1, 32}, {1, 7, 1, 32}, {2, 512, 8, 32},
	}
	for round := range 3 {
		for _, c := range cases {
			for i := range work {
				work[i] = rng.Uint64()
			}
			password := make([]byte, rng.IntN(40))
			salt := make([]byte, 8+rng.IntN(24))
			for i := range password {
				password[i] = byte(rng.Uint32())
			}
			for i := range salt {
				salt[i] = byte(rng.Uint32())
			}
			want := upstream.IDKey(password, salt, c.time, c.memory, c.threads, c.keyLen)
			if got := IDKeyIn(work, password, salt, c.time, c.memory, c.threads, c.keyLen); !bytes.Equal(got, want) {
				t.Fatalf("round %d, %+v: IDKeyIn = %x, upstream IDKey = %x", round, c, got, want)
			}
			if got := IDKey(password, salt, c.time, c.memory, c.threads, c.keyLen); !bytes.Equal(got, want) {
				t.Fatalf("round %d, %+v: IDKey = %x, upstream = %x", round, c, got, want)
			}
			if got, want := Key(password, salt, c.time, c.memory, c.threads, c.keyLen), upstream.Key(password, salt, c.time, c.memory, c.threads, c.keyLen); !bytes.Equal(got, want) {
				t.Fatalf("round %d, %+v: Key = %x, upstream = %x", round, c, got, want)
			}
		}
	}
}

// TestIDKeyInShortWork: a work area too small for the run is left alone
// and the run allocates, with the same key.
func TestIDKeyInShortWork(t *testing.T) {
	work := make([]uint64, WorkLen(64, 1)-1)
	for i := range work {
		work[i] = 0xdeadbeef
	}
	want := upstream.IDKey([]byte("pw"), []byte("saltsalt"), 2, 64, 1, 32)
	if got := IDKeyIn(work, []byte("pw"), []byte("saltsalt"), 2, 64, 1, 32); !bytes.Equal(got, want) {
		t.Fatalf("IDKeyIn with short work = %x, want %x", got, want)
	}
	for i, w := range work {
		if w != 0xdeadbeef {
			t.Fatalf("word %d of a too-short work area was written", i)
		}
	}
	if got := IDKeyIn(nil, []byte("pw"), []byte("saltsalt"), 2, 64, 1, 32); !bytes.Equal(got, want) {
		t.Fatalf("IDKeyIn with no work = %x, want %x", got, want)
	}
}

// TestWorkLen: the words a run needs follow the specification's rounding.
func TestWorkLen(t *testing.T) {
	for _, c := range []struct {
		memory  uint32
		threads uint8
		blocks  int
	}{
		{19456, 1, 19456}, {19457, 1, 19456}, {7, 1, 8}, {0, 1, 8}, {100, 3, 96}, {10, 2, 16}, {64, 0, 64},
	} {
		if got := WorkLen(c.memory, c.threads); got != c.blocks*blockLength {
			t.Errorf("WorkLen(%d, %d) = %d words, want %d blocks of %d", c.memory, c.threads, got, c.blocks, blockLength)
		}
	}
}

// TestRFC9106Vector checks the Argon2id test vector of RFC 9106 section
// 5.3 (which has a secret and associated data) through deriveKeyIn with a
// dirty work area.
func TestRFC9106Vector(t *testing.T) {
	password := bytes.Repeat([]byte{0x01}, 32)
	salt := bytes.Repeat([]byte{0x02}, 16)
	secret := bytes.Repeat([]byte{0x03}, 8)
	data := bytes.Repeat([]byte{0x04}, 12)
	want := []byte{
		0x0d, 0x64, 0x0d, 0xf5, 0x8d, 0x78, 0x76, 0x6c, 0x08, 0xc0, 0x37, 0xa3, 0x4a, 0x8b, 0x53, 0xc9,
		0xd0, 0x1e, 0xf0, 0x45, 0x2d, 0x75, 0xb6, 0x5e, 0xb5, 0x25, 0x20, 0xe9, 0x6b, 0x01, 0xe6, 0x59,
	}
	work := make([]uint64, WorkLen(32, 4))
	for i := range work {
		work[i] = ^uint64(i)
	}
	if got := deriveKeyIn(work, argon2id, password, salt, secret, data, 3, 32, 4, 32); !bytes.Equal(got, want) {
		t.Fatalf("RFC 9106 Argon2id vector: got %x, want %x", got, want)
	}
}
