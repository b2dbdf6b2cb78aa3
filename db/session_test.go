package db

import (
	bolt "go.etcd.io/bbolt"
	"slices"
	"testing"
	"time"
)

// mustSession opens a session of ttl for a user, as a good login does.
// (Logging in is the account flows' own business, tested there; here it
// only makes sessions.)
func mustSession(tb testing.TB, s *Store, userID uint64, ttl time.Duration) string {
	tb.Helper()
	res, err := s.RecordLogin(userID, PasswordRight, Throttle{MaxAttempts: 3}, ttl)
	if err != nil || res.Token == "" {
		tb.Fatalf("login: %+v, %v", res, err)
	}
	return res.Token
}

// TestSessionTTL: a session lasts until the instant of its expiry, on the
// store's clock; pruning removes exactly the expired ones.
func TestSessionTTL(t *testing.T) {
	s, clock := mustOpen(t)
	ada := mustMember(t, s, clock, "ada@example.com", "ada", RoleViewer)
	short := mustSession(t, s, ada.ID, time.Hour)
	long := mustSession(t, s, ada.ID, 2*time.Hour)

	clock.add(time.Hour - time.Nanosecond)
	if u, err := s.AuthenticateSession(short); err != nil || u.ID != ada.ID {
		t.Fatalf("a nanosecond before its end: %+v, %v", u, err)
	}
	if n, err := s.PruneSessions(); err != nil || n != 0 {
		t.Errorf("pruned %d, %v before anything expired", n, err)
	}
	clock.add(time.Nanosecond)
	_, err := s.AuthenticateSession(short)
	wantCode(t, err, EUNAUTHORIZED)
	if _, err := s.AuthenticateSession(long); err != nil {
		t.Errorf("the longer session ended with the short one: %v", err)
	}
	if n, err := s.PruneSessions(); err != nil || n != 1 {
		t.Errorf("pruned %d, %v; want the expired one", n, err)
	}
	if _, err := s.AuthenticateSession(long); err != nil {
		t.Errorf("pruning ended a live session: %v", err)
	}

	// Logging out ends it at once; ending it again, or an unknown one, is
	// not an error.
	if err := s.DeleteSession(long); err != nil {
		t.Fatal(err)
	}
	_, err = s.AuthenticateSession(long)
	wantCode(t, err, EUNAUTHORIZED)
	for _, token := range []string{long, "never-issued"} {
		if err := s.DeleteSession(token); err != nil {
			t.Errorf("delete %q: %v", token, err)
		}
	}
	_, err = s.AuthenticateSession("")
	wantCode(t, err, EUNAUTHORIZED)

	// Deleting the user ends its sessions.
	other := mustSession(t, s, ada.ID, time.Hour)
	if err := s.DeleteUser(admin, ada.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.AuthenticateSession(other)
	wantCode(t, err, EUNAUTHORIZED)
}

// TestSessionAMR: a password login records "pwd"; a session stored before
// sessions recorded their methods reads as a password; an unknown or
// ended session has none.
func TestSessionAMR(t *testing.T) {
	ah := mustAccounts(t)
	link, err := ah.s.CreateSignupToken(SystemActor, NewSignupToken{Name: "team", ExpiresAt: ah.clock.now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ah.SignupWithLink(t.Context(), link.Secret, account("ada@example.com", "ada", goodPassword)); err != nil {
		t.Fatal(err)
	}
	res, err := ah.Login(t.Context(), "ada", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if amr, err := ah.s.SessionAMR(res.Token); err != nil || !slices.Equal(amr, []string{"pwd"}) {
		t.Fatalf("a password login's methods: %v, %v; want pwd", amr, err)
	}
	// A record as older builds wrote it, with no methods.
	old := "an-older-session-token"
	err = ah.s.update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketSessions), []byte(hashToken(old)),
			sessionRecord{V: 1, UserID: res.User.ID, CreatedAt: ah.clock.now(), ExpiresAt: ah.clock.now().Add(time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	if amr, err := ah.s.SessionAMR(old); err != nil || !slices.Equal(amr, []string{"pwd"}) {
		t.Fatalf("an older session's methods: %v, %v; want pwd", amr, err)
	}
	for _, token := range []string{"", "nope", res.Token + "x"} {
		if amr, err := ah.s.SessionAMR(token); ErrorCode(err) != EUNAUTHORIZED || amr != nil {
			t.Errorf("SessionAMR(%q) = %v, %v; want EUNAUTHORIZED", token, amr, err)
		}
	}
	ah.clock.add(2 * time.Hour)
	if _, err := ah.s.SessionAMR(res.Token); ErrorCode(err) != EUNAUTHORIZED {
		t.Errorf("an expired session: %v", err)
	}
}
