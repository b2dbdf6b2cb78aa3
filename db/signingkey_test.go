package db

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// kids lists the ids of keys, in their order.
func kids(keys []SigningKey) []string {
	out := []string{}
	for _, k := range keys {
		out = append(out, k.ID)
	}
	return out
}

func mustSigningKeys(tb testing.TB, s *Store, keep time.Duration) []SigningKey {
	tb.Helper()
	keys, err := s.SigningKeys(keep)
	if err != nil {
		tb.Fatal(err)
	}
	return keys
}

// The first key is made once: a second Ensure returns the same key, and
// the key signs and verifies.
func TestEnsureSigningKeyOnce(t *testing.T) {
	s, clock := mustOpen(t)
	if _, err := s.CurrentSigningKey(); err != ErrNoSigningKey {
		t.Fatalf("current key of a new file: %v, want ErrNoSigningKey", err)
	}
	if keys := mustSigningKeys(t, s, DefaultSigningKeyKeep); len(keys) != 0 {
		t.Fatalf("keys of a new file: %v", kids(keys))
	}
	first, err := s.EnsureSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	if first.Key.N.BitLen() != SigningKeyBits || !first.Current() || !first.CreatedAt.Equal(clock.now()) {
		t.Fatalf("first key: %d bits, current %v, created %v", first.Key.N.BitLen(), first.Current(), first.CreatedAt)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(first.ID); err != nil || len(raw) != 12 {
		t.Fatalf("kid %q is not 12 random bytes in URL-safe base64 (%v)", first.ID, err)
	}
	clock.add(time.Hour)
	again, err := s.EnsureSigningKey()
	if err != nil || again.ID != first.ID || !again.Key.Equal(first.Key) {
		t.Fatalf("second Ensure: %q %v, want the first key %q", again.ID, err, first.ID)
	}
	if keys := mustSigningKeys(t, s, DefaultSigningKeyKeep); !slices.Equal(kids(keys), []string{first.ID}) {
		t.Fatalf("keys after two Ensures: %v", kids(keys))
	}
	if _, total, _ := s.ListEvents(EventSigningKeyCreated, 0, 10); total != 1 {
		t.Fatalf("%d %s events, want 1", total, EventSigningKeyCreated)
	}
	digest := sha256.Sum256([]byte("an ID token"))
	sig, err := rsa.SignPKCS1v15(nil, first.Key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(&again.Key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("the stored key does not verify what it signed: %v", err)
	}
}

// A rotation makes a new current key and keeps the old one published
// until keep has passed; the next rotation after that deletes it. The
// keys and their states survive reopening the file.
func TestRotateSigningKeys(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "keys.db")
	s, err := Open(path, Options{Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	keep := 2 * time.Hour

	first, err := s.EnsureSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	clock.add(time.Minute)
	second, err := s.RotateSigningKeys(admin, keep)
	if err != nil {
		t.Fatal(err)
	}
	if second.ID == first.ID || second.Key.Equal(first.Key) || !second.Current() {
		t.Fatalf("rotation gave %q (current %v) after %q: want a new current key", second.ID, second.Current(), first.ID)
	}
	if cur, err := s.CurrentSigningKey(); err != nil || cur.ID != second.ID {
		t.Fatalf("current after rotation: %q %v, want %q", cur.ID, err, second.ID)
	}
	keys := mustSigningKeys(t, s, keep)
	if !slices.Equal(kids(keys), []string{second.ID, first.ID}) {
		t.Fatalf("published after rotation: %v, want the new then the old", kids(keys))
	}
	if !keys[1].RetiredAt.Equal(clock.now()) || keys[1].Current() {
		t.Fatalf("old key retired at %v, want %v", keys[1].RetiredAt, clock.now())
	}

	// Reopening keeps both keys, byte for byte, and which one is current.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(path, Options{Now: clock.now}); err != nil {
		t.Fatal(err)
	}
	reopened := mustSigningKeys(t, s, keep)
	if !slices.Equal(kids(reopened), kids(keys)) || !reopened[0].Key.Equal(second.Key) || !reopened[1].Key.Equal(first.Key) ||
		!reopened[1].RetiredAt.Equal(keys[1].RetiredAt) || !reopened[0].Current() {
		t.Fatalf("after reopening: %v, want %v with the same keys and states", kids(reopened), kids(keys))
	}

	// Just before keep has passed the old key is still published; at keep
	// it no longer is, and the next rotation deletes it.
	clock.add(keep - time.Millisecond)
	if got := kids(mustSigningKeys(t, s, keep)); !slices.Equal(got, []string{second.ID, first.ID}) {
		t.Fatalf("published just before keep: %v", got)
	}
	clock.add(time.Millisecond)
	if got := kids(mustSigningKeys(t, s, keep)); !slices.Equal(got, []string{second.ID}) {
		t.Fatalf("published once keep has passed: %v, want only %q", got, second.ID)
	}
	third, err := s.RotateSigningKeys(admin, keep)
	if err != nil {
		t.Fatal(err)
	}
	if got := kids(mustSigningKeys(t, s, keep)); !slices.Equal(got, []string{third.ID, second.ID}) {
		t.Fatalf("published after the second rotation: %v, want %q then %q", got, third.ID, second.ID)
	}
	stored := 0
	if err := s.db.View(func(tx *bolt.Tx) error {
		stored = tx.Bucket(bucketSigningKeys).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if stored != 2 {
		t.Fatalf("%d keys in the file, want 2: the expired one must be deleted", stored)
	}

	// Each rotation is in the audit log, with who, the new key, what it
	// retired and what it deleted.
	events, total, err := s.ListEvents(EventSigningKeysRotated, 0, 10)
	if err != nil || total != 2 {
		t.Fatalf("%d rotation events (%v), want 2", total, err)
	}
	last := events[0]
	if last.CreatedBy != admin.String() || last.ObjectType != "signing-key" || last.ObjectID != third.ID {
		t.Fatalf("rotation event: by %q, object %s %s", last.CreatedBy, last.ObjectType, last.ObjectID)
	}
	if retired, deleted := last.Data["retired"], last.Data["deleted"]; !sameStrings(retired, second.ID) || !sameStrings(deleted, first.ID) {
		t.Fatalf("rotation event data: retired %v, deleted %v; want [%s], [%s]", retired, deleted, second.ID, first.ID)
	}
	for _, e := range events {
		for k, v := range e.Data {
			if s, ok := v.(string); ok && len(s) > 100 {
				t.Fatalf("event data %s holds %d characters: no key material belongs in the audit log", k, len(s))
			}
		}
	}
}

// sameStrings reports whether an event's decoded list holds exactly want.
func sameStrings(v any, want ...string) bool {
	list, ok := v.([]any)
	if !ok || len(list) != len(want) {
		return false
	}
	for i, w := range want {
		if list[i] != w {
			return false
		}
	}
	return true
}

// With no key yet, a rotation makes the first one and retires nothing.
func TestRotateSigningKeysFirst(t *testing.T) {
	s, _ := mustOpen(t)
	k, err := s.RotateSigningKeys(admin, DefaultSigningKeyKeep)
	if err != nil {
		t.Fatal(err)
	}
	if got := kids(mustSigningKeys(t, s, DefaultSigningKeyKeep)); !slices.Equal(got, []string{k.ID}) {
		t.Fatalf("keys after the first rotation: %v", got)
	}
	if again, err := s.EnsureSigningKey(); err != nil || again.ID != k.ID {
		t.Fatalf("Ensure after a rotation: %q %v, want %q", again.ID, err, k.ID)
	}
}

// Refusals: a caller below admin, and a keep that would unpublish a key
// at once (or never make sense). Nothing is written.
func TestRotateSigningKeysRefused(t *testing.T) {
	s, _ := mustOpen(t)
	first, err := s.EnsureSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		actor Actor
		keep  time.Duration
		code  Code
	}{
		{"editor", Actor{Kind: "user", ID: 2, Name: "ed", Role: RoleEditor}, DefaultSigningKeyKeep, EFORBIDDEN},
		{"viewer", Actor{Kind: "user", ID: 3, Name: "vi", Role: RoleViewer}, DefaultSigningKeyKeep, EFORBIDDEN},
		{"no role", Actor{Kind: "cli", Name: "x"}, DefaultSigningKeyKeep, EFORBIDDEN},
		{"keep zero", admin, 0, EINVALID},
		{"keep negative", admin, -time.Hour, EINVALID},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.RotateSigningKeys(c.actor, c.keep)
			wantCode(t, err, c.code)
		})
	}
	if got := kids(mustSigningKeys(t, s, DefaultSigningKeyKeep)); !slices.Equal(got, []string{first.ID}) {
		t.Fatalf("keys after refused rotations: %v, want only %q", got, first.ID)
	}
	if _, total, _ := s.ListEvents(EventSigningKeysRotated, 0, 10); total != 0 {
		t.Fatalf("%d rotation events after refusals", total)
	}
}

// A damaged record is an error that names the key, never a key that
// silently signs with something else.
func TestSigningKeyDamagedRecord(t *testing.T) {
	s, _ := mustOpen(t)
	k, err := s.EnsureSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketSigningKeys), itob(1), signingKeyRecord{V: 1, KID: k.ID, PKCS8: []byte("not a key")})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CurrentSigningKey(); err == nil {
		t.Fatal("a damaged key was read without an error")
	}
	if _, err := s.EnsureSigningKey(); err == nil {
		t.Fatal("Ensure over a damaged key gave no error")
	}
	if err := s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSigningKeys).Put(itob(1), []byte("{"))
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SigningKeys(DefaultSigningKeyKeep); err == nil {
		t.Fatal("an unreadable record was skipped without an error")
	}
}
