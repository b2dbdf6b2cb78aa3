package db

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func mustOIDCAuthRequest(tb testing.TB, s *Store) OIDCAuthRequest {
	tb.Helper()
	req, err := s.CreateOIDCAuthRequest(OIDCAuthRequest{
		ClientID: "client", RedirectURI: "https://app.example/cb", ResponseType: "code",
		Scopes: []string{"openid", "email"}, State: "st", Nonce: "n",
		CodeChallenge: "abc", CodeChallengeMethod: "S256", Prompt: []string{"login"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return req
}

// An auth request keeps what it was given, gets a user once signed in,
// and expires after OIDCAuthRequestTTL.
func TestOIDCAuthRequestLifecycle(t *testing.T) {
	s, clock := mustOpen(t)
	req := mustOIDCAuthRequest(t, s)
	if len(req.ID) != 32 || req.Done() || !req.CreatedAt.Equal(clock.now()) {
		t.Fatalf("new request: %+v", req)
	}
	got, err := s.OIDCAuthRequestByID(req.ID)
	if err != nil || got.State != "st" || got.CodeChallenge != "abc" || len(got.Prompt) != 1 || got.Scopes[1] != "email" {
		t.Fatalf("read back: %+v, %v", got, err)
	}
	if _, err := s.CompleteOIDCAuthRequest(req.ID, 0, []string{"pwd"}); ErrorCode(err) != EINVALID {
		t.Fatalf("complete with no user: %v", err)
	}
	clock.add(time.Minute)
	done, err := s.CompleteOIDCAuthRequest(req.ID, 7, []string{"pwd", "otp", "mfa"})
	if err != nil || done.UserID != 7 || !done.AuthTime.Equal(clock.now()) || strings.Join(done.AMR, " ") != "pwd otp mfa" {
		t.Fatalf("complete: %+v, %v", done, err)
	}
	if got, err := s.OIDCAuthRequestByID(req.ID); err != nil || strings.Join(got.AMR, " ") != "pwd otp mfa" {
		t.Fatalf("the methods read back: %v, %v", got.AMR, err)
	}
	// The refresh token made from it keeps the methods through rotation.
	token, grant, err := s.CreateOIDCRefreshToken(OIDCRefreshGrant{UserID: 7, ClientID: "c", AMR: done.AMR}, "")
	if err != nil || strings.Join(grant.AMR, " ") != "pwd otp mfa" {
		t.Fatalf("refresh grant: %+v, %v", grant, err)
	}
	if _, grant, err = s.CreateOIDCRefreshToken(grant, token); err != nil || strings.Join(grant.AMR, " ") != "pwd otp mfa" {
		t.Fatalf("rotated refresh grant: %+v, %v", grant, err)
	}
	clock.add(OIDCAuthRequestTTL - time.Minute)
	if _, err := s.OIDCAuthRequestByID(req.ID); err != ErrOIDCAuthRequestNotFound {
		t.Fatalf("expired request read: %v", err)
	}
	if _, err := s.CompleteOIDCAuthRequest(req.ID, 7, []string{"pwd"}); err != ErrOIDCAuthRequestNotFound {
		t.Fatalf("expired request completed: %v", err)
	}
	for _, id := range []string{"", "nope", req.ID + "x", "../" + req.ID} {
		if _, err := s.OIDCAuthRequestByID(id); err != ErrOIDCAuthRequestNotFound {
			t.Errorf("read %q: %v", id, err)
		}
	}
}

// A code is given only for a signed-in request, is stored as a hash,
// works once, expires after OIDCCodeTTL and goes with its request.
func TestOIDCCode(t *testing.T) {
	s, clock := mustOpen(t)
	req := mustOIDCAuthRequest(t, s)
	if err := s.SaveOIDCCode(req.ID, "code-1"); ErrorCode(err) != EINVALID {
		t.Fatalf("code before sign-in: %v", err)
	}
	if _, err := s.CompleteOIDCAuthRequest(req.ID, 7, []string{"pwd"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveOIDCCode(req.ID, ""); ErrorCode(err) != EINVALID {
		t.Fatalf("empty code: %v", err)
	}
	if err := s.SaveOIDCCode("nope", "code-1"); err != ErrOIDCAuthRequestNotFound {
		t.Fatalf("code for unknown request: %v", err)
	}
	if err := s.SaveOIDCCode(req.ID, "code-1"); err != nil {
		t.Fatal(err)
	}
	// A second code replaces the first.
	if err := s.SaveOIDCCode(req.ID, "code-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RedeemOIDCCode("code-1"); err != ErrOIDCCodeNotFound {
		t.Fatalf("replaced code: %v", err)
	}
	got, err := s.RedeemOIDCCode("code-2")
	if err != nil || got.ID != req.ID || got.UserID != 7 {
		t.Fatalf("redeem: %+v, %v", got, err)
	}
	if _, err := s.RedeemOIDCCode("code-2"); err != ErrOIDCCodeNotFound {
		t.Fatalf("replayed code: %v", err)
	}
	for _, c := range []string{"", "code", "CODE-2"} {
		if _, err := s.RedeemOIDCCode(c); err != ErrOIDCCodeNotFound {
			t.Errorf("redeem %q: %v", c, err)
		}
	}

	// Expired code.
	if err := s.SaveOIDCCode(req.ID, "code-3"); err != nil {
		t.Fatal(err)
	}
	clock.add(OIDCCodeTTL)
	if _, err := s.RedeemOIDCCode("code-3"); err != ErrOIDCCodeNotFound {
		t.Fatalf("expired code: %v", err)
	}

	// Deleting the request deletes its code.
	req2 := mustOIDCAuthRequest(t, s)
	if _, err := s.CompleteOIDCAuthRequest(req2.ID, 7, []string{"pwd"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveOIDCCode(req2.ID, "code-4"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOIDCAuthRequest(req2.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOIDCAuthRequest(req2.ID); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.RedeemOIDCCode("code-4"); err != ErrOIDCCodeNotFound {
		t.Fatalf("code of a deleted request: %v", err)
	}
	if _, err := s.OIDCAuthRequestByID(req2.ID); err != ErrOIDCAuthRequestNotFound {
		t.Fatalf("deleted request: %v", err)
	}
}

// Refresh tokens rotate: the used one is gone in the same step that
// makes its successor; they expire, are revoked one by one or per user,
// and the file holds only their hashes.
func TestOIDCRefreshTokens(t *testing.T) {
	dir := t.TempDir()
	clock := &testClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s, err := Open(filepath.Join(dir, "test.db"), Options{Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	if _, _, err := s.CreateOIDCRefreshToken(OIDCRefreshGrant{ClientID: "c"}, ""); ErrorCode(err) != EINVALID {
		t.Fatalf("no user: %v", err)
	}
	grant := OIDCRefreshGrant{UserID: 7, ClientID: "c", Scopes: []string{"openid", "offline_access"}, AuthTime: clock.now()}
	tok1, g1, err := s.CreateOIDCRefreshToken(grant, "")
	if err != nil || len(tok1) != 64 || !g1.ExpiresAt.Equal(clock.now().Add(OIDCRefreshTTL)) {
		t.Fatalf("create: %q %+v %v", tok1, g1, err)
	}
	got, err := s.OIDCRefreshToken(tok1)
	if err != nil || got.UserID != 7 || got.ClientID != "c" || len(got.Scopes) != 2 {
		t.Fatalf("read: %+v %v", got, err)
	}
	clock.add(time.Hour)
	tok2, g2, err := s.CreateOIDCRefreshToken(grant, tok1)
	if err != nil || tok2 == tok1 || !g2.AuthTime.Equal(grant.AuthTime) {
		t.Fatalf("rotate: %v", err)
	}
	if _, err := s.OIDCRefreshToken(tok1); err != ErrOIDCRefreshNotFound {
		t.Fatalf("old token after rotation: %v", err)
	}
	if _, _, err := s.CreateOIDCRefreshToken(grant, tok1); err != ErrOIDCRefreshNotFound {
		t.Fatalf("rotating a used token: %v", err)
	}
	// Another client or user cannot rotate the token.
	other := grant
	other.ClientID = "d"
	if _, _, err := s.CreateOIDCRefreshToken(other, tok2); err != ErrOIDCRefreshNotFound {
		t.Fatalf("rotation by another client: %v", err)
	}
	if _, err := s.OIDCRefreshToken(tok2); err != nil {
		t.Fatalf("a refused rotation must leave the token: %v", err)
	}

	// Expiry.
	clock.add(OIDCRefreshTTL)
	if _, err := s.OIDCRefreshToken(tok2); err != ErrOIDCRefreshNotFound {
		t.Fatalf("expired token: %v", err)
	}
	if _, _, err := s.CreateOIDCRefreshToken(grant, tok2); err != ErrOIDCRefreshNotFound {
		t.Fatalf("rotating an expired token: %v", err)
	}

	// Revoking one, and all of a user's.
	a, _, _ := s.CreateOIDCRefreshToken(grant, "")
	b, _, _ := s.CreateOIDCRefreshToken(grant, "")
	c, _, _ := s.CreateOIDCRefreshToken(OIDCRefreshGrant{UserID: 8, ClientID: "c"}, "")
	if ok, err := s.RevokeOIDCRefreshToken(a); !ok || err != nil {
		t.Fatalf("revoke: %v %v", ok, err)
	}
	if ok, err := s.RevokeOIDCRefreshToken(a); ok || err != nil {
		t.Fatalf("revoke again: %v %v", ok, err)
	}
	if _, err := s.OIDCRefreshToken(a); err != ErrOIDCRefreshNotFound {
		t.Fatalf("revoked token: %v", err)
	}
	n, err := s.RevokeUserOIDCRefreshTokens(7)
	if err != nil || n != 2 { // b and the expired tok2
		t.Fatalf("revoke user's: %d %v", n, err)
	}
	if _, err := s.OIDCRefreshToken(b); err != ErrOIDCRefreshNotFound {
		t.Fatalf("token of a revoked user: %v", err)
	}
	if _, err := s.OIDCRefreshToken(c); err != nil {
		t.Fatalf("another user's token: %v", err)
	}

	// No token is in the file in the clear.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw := readFile(t, filepath.Join(dir, "test.db"))
	for _, tok := range []string{tok1, tok2, a, b, c} {
		if bytes.Contains(raw, []byte(tok)) {
			t.Errorf("refresh token %s is in the file", tok)
		}
	}
}

// The crypto key is made once and kept.
func TestOIDCCryptoKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	k1, err := s.EnsureOIDCCryptoKey()
	if err != nil || k1 == ([32]byte{}) {
		t.Fatalf("%x %v", k1, err)
	}
	s.Close()
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k2, err := s.EnsureOIDCCryptoKey()
	if err != nil || k2 != k1 {
		t.Fatalf("after reopening: %x, want %x (%v)", k2, k1, err)
	}
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Expired auth requests go as new ones come, with their codes;
// PruneOIDCGrants takes the rest and expired refresh tokens.
func TestOIDCPrune(t *testing.T) {
	s, clock := mustOpen(t)
	old := mustOIDCAuthRequest(t, s)
	if _, err := s.CompleteOIDCAuthRequest(old.ID, 7, []string{"pwd"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveOIDCCode(old.ID, "old-code"); err != nil {
		t.Fatal(err)
	}
	clock.add(OIDCAuthRequestTTL)
	fresh := mustOIDCAuthRequest(t, s) // prunes old
	count := func(bucket []byte) int {
		n := 0
		_ = s.db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(bucket).ForEach(func(_, _ []byte) error { n++; return nil })
		})
		return n
	}
	if count(bucketOIDCAuthRequests) != 1 || count(bucketOIDCAuthByTime) != 1 || count(bucketOIDCCodes) != 0 {
		t.Fatalf("after a new request: %d requests, %d index entries, %d codes", count(bucketOIDCAuthRequests), count(bucketOIDCAuthByTime), count(bucketOIDCCodes))
	}
	if _, _, err := s.CreateOIDCRefreshToken(OIDCRefreshGrant{UserID: 7, ClientID: "c"}, ""); err != nil {
		t.Fatal(err)
	}
	live, _, _ := s.CreateOIDCRefreshToken(OIDCRefreshGrant{UserID: 7, ClientID: "c"}, "")
	if n, err := s.PruneOIDCGrants(); err != nil || n != 0 {
		t.Fatalf("prune with nothing expired: %d %v", n, err)
	}
	clock.add(OIDCRefreshTTL - time.Hour)
	if _, _, err := s.CreateOIDCRefreshToken(OIDCRefreshGrant{UserID: 7, ClientID: "c"}, live); err != nil {
		t.Fatal(err)
	}
	clock.add(time.Hour)
	n, err := s.PruneOIDCGrants()
	if err != nil || n != 2 { // fresh request and the first token
		t.Fatalf("prune: %d %v", n, err)
	}
	if _, err := s.OIDCAuthRequestByID(fresh.ID); err != ErrOIDCAuthRequestNotFound {
		t.Fatal(err)
	}
	if count(bucketOIDCRefresh) != 1 || count(bucketOIDCRefreshByUser) != 1 || count(bucketOIDCAuthByTime) != 0 {
		t.Fatalf("after prune: %d tokens, %d user entries, %d index entries", count(bucketOIDCRefresh), count(bucketOIDCRefreshByUser), count(bucketOIDCAuthByTime))
	}
}

// Disabling or deleting a user revokes its refresh tokens in the same
// transaction; another user's stay.
func TestOIDCRefreshEndsWithTheUser(t *testing.T) {
	ah := mustAccounts(t)
	link := mustLink(t, ah.s, ah.clock, NewSignupToken{ExpiresAt: ah.clock.now().Add(24 * 365 * time.Hour)})
	ada, err := ah.SignupWithLink(t.Context(), link.Secret, account("ada@example.com", "ada", goodPassword))
	if err != nil {
		t.Fatal(err)
	}
	bob, err := ah.SignupWithLink(t.Context(), link.Secret, account("bob@example.com", "bob", goodPassword))
	if err != nil {
		t.Fatal(err)
	}
	grant := func(u User) string {
		tok, _, err := ah.s.CreateOIDCRefreshToken(OIDCRefreshGrant{UserID: u.ID, ClientID: "c"}, "")
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	adaTok, bobTok := grant(ada), grant(bob)
	if _, err := ah.s.DisableUser(admin, ada.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ah.s.OIDCRefreshToken(adaTok); err != ErrOIDCRefreshNotFound {
		t.Fatalf("a disabled user's token: %v", err)
	}
	if _, err := ah.s.OIDCRefreshToken(bobTok); err != nil {
		t.Fatalf("another user's token: %v", err)
	}
	if err := ah.s.DeleteUser(admin, bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ah.s.OIDCRefreshToken(bobTok); err != ErrOIDCRefreshNotFound {
		t.Fatalf("a deleted user's token: %v", err)
	}
}

// prompt=login asks for a sign-in since the request; max_age for one at
// most that long ago (or since the request); the completed request's
// auth time is the sign-in's, not the completion's.
func TestOIDCSignInFreshAndAuthTime(t *testing.T) {
	s, clock := mustOpen(t)
	ada := mustMember(t, s, clock, "ada@example.com", "ada", RoleViewer)
	mustSession(t, s, ada.ID, 24*time.Hour)
	signedIn := clock.now()
	ada, _ = s.FindUserByID(ada.ID)
	clock.add(2 * time.Hour)

	hour, zero := time.Hour, time.Duration(0)
	ask := func(prompt []string, maxAge *time.Duration) OIDCAuthRequest {
		req, err := s.CreateOIDCAuthRequest(OIDCAuthRequest{ClientID: "c", RedirectURI: "https://app.example/cb",
			ResponseType: "code", Scopes: []string{"openid"}, Prompt: prompt, MaxAge: maxAge})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := s.OIDCAuthRequestByID(req.ID); (got.MaxAge == nil) != (maxAge == nil) || (maxAge != nil && *got.MaxAge != *maxAge) {
			t.Fatalf("max_age read back as %v, want %v", got.MaxAge, maxAge)
		}
		return req
	}
	three := 3 * time.Hour
	for _, c := range []struct {
		name   string
		prompt []string
		maxAge *time.Duration
		fresh  bool
	}{
		{"neither: single sign-on", nil, nil, true},
		{"prompt=login", []string{"login"}, nil, false},
		{"max_age 1h, signed in 2h ago", nil, &hour, false},
		{"max_age 3h, signed in 2h ago", nil, &three, true},
		{"max_age 0", nil, &zero, false},
		{"prompt=login beats max_age", []string{"login"}, &three, false},
	} {
		req := ask(c.prompt, c.maxAge)
		if got := s.OIDCSignInFresh(req, ada); got != c.fresh {
			t.Errorf("%s: fresh = %v, want %v", c.name, got, c.fresh)
		}
	}

	// A sign-in after the request is always fresh enough, even for max_age 0.
	req := ask([]string{"login"}, &zero)
	clock.add(time.Second)
	mustSession(t, s, ada.ID, time.Hour)
	again, _ := s.FindUserByID(ada.ID)
	clock.add(time.Second)
	if !s.OIDCSignInFresh(req, again) {
		t.Error("a sign-in made for the request is not fresh enough")
	}
	if s.OIDCSignInFresh(req, User{ID: ada.ID}) {
		t.Error("a user who never signed in counts as fresh")
	}

	// The auth time is the sign-in's.
	sso := ask(nil, nil)
	clock.add(time.Minute)
	done, err := s.CompleteOIDCAuthRequest(sso.ID, ada.ID, []string{"pwd"})
	if err != nil {
		t.Fatal(err)
	}
	if !done.AuthTime.Equal(*again.SeenAt) || done.AuthTime.Equal(clock.now()) || signedIn.Equal(done.AuthTime) {
		t.Errorf("auth time %v, want the last sign-in %v", done.AuthTime, *again.SeenAt)
	}
}
