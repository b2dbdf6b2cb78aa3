package db

import (
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A one-time token is kept only as its hash, is bound to its purpose,
// replaces the user's older token of that purpose, works once, expires,
// and goes with its user.
func TestUserTokenLifecycle(t *testing.T) {
	s, clock := mustOpen(t)
	u := mustMember(t, s, clock, "tok@example.com", "tok", RoleViewer)

	first, _, err := s.IssueUserToken(TokenResetPassword, u.ID, time.Hour)
	if err != nil || len(first) != 64 {
		t.Fatalf("issue: %q, %v", first, err)
	}
	second, tok, err := s.IssueUserToken(TokenResetPassword, u.ID, time.Hour)
	if err != nil || tok.UserID != u.ID || !tok.ExpiresAt.Equal(clock.now().Add(time.Hour)) {
		t.Fatalf("issue again: %+v, %v", tok, err)
	}
	if _, err := s.PeekUserToken(TokenResetPassword, first); err != ErrUserTokenNotFound {
		t.Fatalf("the replaced token still works: %v", err)
	}
	if _, err := s.PeekUserToken(TokenVerifyEmail, second); err != ErrUserTokenNotFound {
		t.Fatalf("a reset token passes as a verification token: %v", err)
	}
	verify, _, err := s.IssueUserToken(TokenVerifyEmail, u.ID, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PeekUserToken(TokenResetPassword, second); err != nil {
		t.Fatalf("another purpose's token replaced this one: %v", err)
	}

	// Nothing in the file holds the secret itself.
	err = s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				for _, secret := range []string{second, verify} {
					if string(k) == secret || string(v) == secret {
						t.Errorf("bucket %s keeps a token in the clear", name)
					}
				}
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}

	// Once only.
	err = s.update(func(tx *bolt.Tx) error {
		got, err := s.consumeUserTokenTx(tx, TokenResetPassword, second)
		if err != nil || got.UserID != u.ID {
			t.Fatalf("consume: %+v, %v", got, err)
		}
		_, err = s.consumeUserTokenTx(tx, TokenResetPassword, second)
		if err != ErrUserTokenNotFound {
			t.Fatalf("consumed twice: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Expired at its end, not before.
	clock.add(2*time.Hour - time.Nanosecond)
	if _, err := s.PeekUserToken(TokenVerifyEmail, verify); err != nil {
		t.Fatalf("just before its end: %v", err)
	}
	clock.add(time.Nanosecond)
	if _, err := s.PeekUserToken(TokenVerifyEmail, verify); err != ErrUserTokenNotFound {
		t.Fatalf("at its end: %v", err)
	}

	// Deleting the user deletes its tokens.
	live, _, err := s.IssueUserToken(TokenSecondFactor, u.ID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(admin, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PeekUserToken(TokenSecondFactor, live); err != ErrUserTokenNotFound {
		t.Fatalf("a deleted user's token lives on: %v", err)
	}

	// Hostile input.
	for _, bad := range []string{"", "x", string(make([]byte, 4096))} {
		if _, err := s.PeekUserToken(TokenResetPassword, bad); err != ErrUserTokenNotFound {
			t.Errorf("peek %q: %v", bad[:min(len(bad), 8)], err)
		}
	}
	if _, _, err := s.IssueUserToken("nope", 1, time.Hour); ErrorCode(err) != EINVALID && ErrorCode(err) != ENOTFOUND {
		t.Errorf("unknown purpose: %v", err)
	}
	if _, _, err := s.IssueUserToken(TokenResetPassword, 999, time.Hour); ErrorCode(err) != ENOTFOUND {
		t.Errorf("unknown user: %v", err)
	}
}
