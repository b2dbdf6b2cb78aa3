package db

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingReader counts the random bytes the store takes.
type countingReader struct{ n atomic.Int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := rand.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// resetHarness is Accounts over a real file with the test clock and a
// count of the random bytes taken, and two users: ada (active) and bob
// (disabled).
type resetHarness struct {
	*accountsHarness
	rand     *countingReader
	ada, bob User
}

func mustResetHarness(tb testing.TB) *resetHarness {
	tb.Helper()
	clock := &testClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	cr := &countingReader{}
	s, err := Open(filepath.Join(tb.TempDir(), "reset.db"), Options{Now: clock.now, Rand: cr})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	h, err := NewHasher(HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, 2, 10*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	ah := &accountsHarness{s: s, clock: clock}
	h.ObserveWait(func(time.Duration) { ah.hashes.Add(1) })
	ah.Accounts = &Accounts{Store: s, Hasher: h, Policy: PasswordPolicy{MinLength: 8, MinScore: 2},
		Throttle: Throttle{MaxAttempts: 3, Max: 15 * time.Minute}, SessionTTL: time.Hour}
	rh := &resetHarness{accountsHarness: ah, rand: cr}
	rh.ada = mustMember(tb, s, clock, "ada@example.com", "ada", RoleViewer)
	rh.bob = mustMember(tb, s, clock, "bob@example.com", "bob", RoleViewer)
	if _, err := s.DisableUser(admin, rh.bob.ID); err != nil {
		tb.Fatal(err)
	}
	return rh
}

// lastResetToken returns the token of the newest pending reset email.
func (rh *resetHarness) lastResetToken(tb testing.TB) string {
	tb.Helper()
	for _, e := range rh.outbox(tb) {
		if e.Kind == EmailResetPassword && e.State == EmailPending {
			return e.Token
		}
	}
	tb.Fatal("no pending reset email")
	return ""
}

func (rh *resetHarness) request(tb testing.TB, email string) {
	tb.Helper()
	if err := rh.RequestPasswordReset(context.Background(), email); err != nil {
		tb.Fatalf("request for %q: %v", email, err)
	}
}

// TestResetRequestSameWork: whatever the address (an active account's, a
// disabled one's, an unknown, a malformed, an empty or an oversized one),
// a request answers nil and costs the same: no read transaction apart
// from the one write transaction, which commits; 32 random bytes; no
// password hash. Only an active account gets an email.
func TestResetRequestSameWork(t *testing.T) {
	rh := mustResetHarness(t)
	type cost struct {
		reads, writes, random, hashes int64
	}
	measure := func(email string) cost {
		t.Helper()
		reads, writes, random := rh.s.db.Stats().TxN, rh.s.gen.Load(), rh.rand.n.Load()
		rh.hashes.Store(0)
		rh.request(t, email)
		return cost{int64(rh.s.db.Stats().TxN - reads), int64(rh.s.gen.Load()-writes) / 2, rh.rand.n.Load() - random, rh.hashes.Load()}
	}
	want := measure("ada@example.com")
	if want.writes != 1 || want.random != 32 || want.hashes != 0 {
		t.Fatalf("a known address costs %+v; want one write, 32 random bytes, no hash", want)
	}
	for _, email := range []string{
		"ADA@Example.COM", "bob@example.com", "nobody@example.com", "not an address", "", "   ",
		strings.Repeat("a", 300) + "@example.com", "ada@example.com\x00",
	} {
		if got := measure(email); got != want {
			t.Errorf("%q costs %+v, an active account %+v", email, got, want)
		}
	}
	var mailed []string
	for _, e := range rh.outbox(t) {
		if e.Kind != EmailResetPassword || e.UserID != rh.ada.ID || e.To != "ada@example.com" || len(e.Token) != 64 {
			t.Errorf("email %+v", e)
		}
		mailed = append(mailed, e.To)
	}
	if len(mailed) != 1 { // ADA@Example.COM came within ResetEmailInterval
		t.Errorf("emails to %v; want one to ada only", mailed)
	}
	// A minute on, the account gets another, at the same cost.
	rh.clock.add(ResetEmailInterval)
	if got := measure("ada@example.com"); got != want {
		t.Errorf("a minute later: %+v, want %+v", got, want)
	}
	if n := len(rh.outbox(t)); n != 2 {
		t.Errorf("%d emails a minute later, want 2", n)
	}
}

// TestResetSingleUse: a link sets the password once, ends every session
// and refresh token, forgets failed logins, is audited, and then is dead.
func TestResetSingleUse(t *testing.T) {
	rh := mustResetHarness(t)
	ctx := context.Background()
	s := rh.s
	sess1 := mustSession(t, s, rh.ada.ID, time.Hour)
	sess2 := mustSession(t, s, rh.ada.ID, time.Hour)
	refresh, _, err := s.CreateOIDCRefreshToken(OIDCRefreshGrant{UserID: rh.ada.ID, ClientID: "wiki", Scopes: []string{"openid"},
		ExpiresAt: rh.clock.now().Add(time.Hour)}, "")
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, err := s.RecordLogin(rh.ada.ID, PasswordWrong, rh.Throttle, time.Hour); err != nil && ErrorCode(err) != EUNAUTHORIZED {
			t.Fatal(err)
		}
	}
	rh.request(t, "ada@example.com")
	token := rh.lastResetToken(t)
	if _, err := s.PeekUserToken(TokenResetPassword, token); err != nil {
		t.Fatalf("the emailed token: %v", err)
	}

	// A weak password, or two that differ, is refused before any hash.
	rh.hashes.Store(0)
	for _, tc := range []struct {
		pw    string
		again *string
		path  string
	}{
		{"short", nil, "password"},
		{"password123", nil, "password"},
		{"ada@example.com", nil, "password"},
		{goodPassword, ptr("something else entirely"), "passwordAgain"},
	} {
		_, err := rh.ResetPassword(ctx, token, tc.pw, tc.again)
		var fe *Error
		if ErrorCode(err) != EINVALID || !errors.As(err, &fe) || len(fe.Details) == 0 || fe.Details[len(fe.Details)-1].Path != tc.path {
			t.Errorf("%q: %v; want EINVALID on %s", tc.pw, err, tc.path)
		}
	}
	rh.wantHashes(t, 0)

	u, err := rh.ResetPassword(ctx, token, otherPassword, ptr(otherPassword))
	if err != nil || u.ID != rh.ada.ID {
		t.Fatalf("reset: %+v, %v", u, err)
	}
	rh.wantHashes(t, 1)
	for _, tok := range []string{sess1, sess2} {
		if _, err := s.AuthenticateSession(tok); ErrorCode(err) != EUNAUTHORIZED {
			t.Errorf("a session lived on: %v", err)
		}
	}
	if _, err := s.OIDCRefreshToken(refresh); err == nil {
		t.Error("a refresh token lived on")
	}
	if got, _ := s.FindUserByID(rh.ada.ID); got.LoginAttempts != 0 || got.ThrottledUntil != nil {
		t.Errorf("failed logins not forgotten: %+v", got)
	}
	if res, err := rh.Login(ctx, "ada", otherPassword); err != nil || res.Token == "" {
		t.Errorf("login with the new password: %v", err)
	}
	if _, err := rh.Login(ctx, "ada", goodPassword); err != ErrBadLogin {
		t.Errorf("login with the old password: %v", err)
	}
	events, _, _ := s.ListEvents(EventPasswordReset, 0, 10)
	if len(events) != 1 || events[0].Data["sessionsEnded"] != float64(2) || events[0].Data["refreshTokensRevoked"] != float64(1) ||
		events[0].CreatedBy != "ada" {
		t.Errorf("events %+v", events)
	}
	for _, e := range events {
		for _, v := range e.Data {
			if strings.Contains(strings.ToLower(toString(v)), token) {
				t.Error("the event holds the token")
			}
		}
	}

	// Used: dead, and nothing is hashed for it.
	rh.hashes.Store(0)
	if _, err := rh.ResetPassword(ctx, token, "a third pass phrase here", nil); err != ErrResetLinkDead {
		t.Errorf("second use: %v", err)
	}
	for _, bad := range []string{"", "x", strings.Repeat("f", 64), strings.Repeat("f", 10000), token + "0", strings.ToUpper(token)} {
		if _, err := rh.ResetPassword(ctx, bad, otherPassword, nil); err != ErrResetLinkDead {
			t.Errorf("%.20q: %v", bad, err)
		}
	}
	rh.wantHashes(t, 0)
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

// TestResetReplacedAndExpired: a newer link kills the older one (emailed
// or made by an admin), and a link dies at its hour on the store's clock.
func TestResetReplacedAndExpired(t *testing.T) {
	rh := mustResetHarness(t)
	ctx := context.Background()
	rh.request(t, "ada@example.com")
	first := rh.lastResetToken(t)
	rh.request(t, "ada@example.com") // too soon: nothing new
	if again := rh.lastResetToken(t); again != first || len(rh.outbox(t)) != 1 {
		t.Fatalf("a second request within %v sent another link", ResetEmailInterval)
	}
	rh.clock.add(ResetEmailInterval)
	rh.request(t, "ada@example.com")
	second := rh.lastResetToken(t)
	if first == second {
		t.Fatal("the same token twice")
	}
	if _, err := rh.ResetPassword(ctx, first, otherPassword, nil); err != ErrResetLinkDead {
		t.Errorf("the replaced link: %v", err)
	}
	admLink, tok, err := rh.s.CreateResetLink(admin, rh.ada.ID)
	if err != nil || !tok.ExpiresAt.Equal(rh.clock.now().Add(time.Hour)) || tok.UserID != rh.ada.ID {
		t.Fatalf("admin link: %+v, %v", tok, err)
	}
	if _, err := rh.s.PeekUserToken(TokenResetPassword, second); err == nil {
		t.Error("the admin's link did not replace the emailed one")
	}
	rh.clock.add(ResetPasswordTTL - time.Second)
	if _, err := rh.s.PeekUserToken(TokenResetPassword, admLink); err != nil {
		t.Errorf("a second before its hour: %v", err)
	}
	rh.clock.add(time.Second)
	if _, err := rh.ResetPassword(ctx, admLink, otherPassword, nil); err != ErrResetLinkDead {
		t.Errorf("at its hour: %v", err)
	}
	rh.wantHashes(t, 0)
}

// TestResetDisabledUser: a disabled account gets no email, no admin link,
// and a link made before it was disabled does not work while it is.
func TestResetDisabledUser(t *testing.T) {
	rh := mustResetHarness(t)
	ctx := context.Background()
	rh.request(t, "bob@example.com")
	if n := len(rh.outbox(t)); n != 0 {
		t.Errorf("%d emails for a disabled account", n)
	}
	if _, _, err := rh.s.CreateResetLink(admin, rh.bob.ID); ErrorCode(err) != EINVALID {
		t.Errorf("admin link for a disabled user: %v", err)
	}
	rh.request(t, "ada@example.com")
	token := rh.lastResetToken(t)
	if _, err := rh.s.DisableUser(admin, rh.ada.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := rh.ResetPassword(ctx, token, otherPassword, nil); ErrorCode(err) != EFORBIDDEN {
		t.Errorf("reset while disabled: %v", err)
	}
	// Disabled between the check and the write: the write refuses too.
	if _, err := rh.s.EnableUser(admin, rh.ada.ID); err != nil {
		t.Fatal(err)
	}
	rh.beforeWrite = func() {
		if _, err := rh.s.DisableUser(admin, rh.ada.ID); err != nil {
			t.Error(err)
		}
	}
	if _, err := rh.ResetPassword(ctx, token, otherPassword, nil); ErrorCode(err) != EFORBIDDEN {
		t.Errorf("disabled meanwhile: %v", err)
	}
	rh.beforeWrite = nil
	if events, _, _ := rh.s.ListEvents(EventPasswordReset, 0, 10); len(events) != 0 {
		t.Errorf("events %+v", events)
	}
}

// TestResetUsedMeanwhile: two uses of one link racing set one password.
func TestResetUsedMeanwhile(t *testing.T) {
	rh := mustResetHarness(t)
	ctx := context.Background()
	rh.request(t, "ada@example.com")
	token := rh.lastResetToken(t)
	rh.beforeWrite = func() {
		rh.beforeWrite = nil
		if _, err := rh.ResetPassword(ctx, token, "a third pass phrase here", nil); err != nil {
			t.Errorf("the first use: %v", err)
		}
	}
	if _, err := rh.ResetPassword(ctx, token, otherPassword, nil); err != ErrResetLinkDead {
		t.Errorf("the second use: %v", err)
	}
	if _, err := rh.Login(ctx, "ada", "a third pass phrase here"); err != nil {
		t.Errorf("the first use's password: %v", err)
	}
}

// TestResetLinkCeiling: an actor makes a reset link only for a user whose
// role and groups they could hand out; it is audited without the secret.
func TestResetLinkCeiling(t *testing.T) {
	rh := mustResetHarness(t)
	s := rh.s
	boss := mustMember(t, s, rh.clock, "boss@example.com", "boss", RoleAdmin)
	ed := mustMember(t, s, rh.clock, "ed@example.com", "ed", RoleEditor)
	editor := UserActor(ed)
	if _, _, err := s.CreateResetLink(editor, boss.ID); ErrorCode(err) != EFORBIDDEN {
		t.Errorf("Editor → Admin: %v", err)
	}
	if _, _, err := s.CreateResetLink(Actor{Kind: "user", ID: 99, Name: "v", Role: RoleViewer}, ed.ID); ErrorCode(err) != EFORBIDDEN {
		t.Errorf("Viewer → Editor: %v", err)
	}
	ops := mustGroup(t, s, "ops")
	groups := []string{ops.ID}
	if _, err := s.UpdateUser(admin, rh.ada.ID, UserUpdate{Groups: &groups}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateResetLink(editor, rh.ada.ID); ErrorCode(err) != EFORBIDDEN {
		t.Errorf("Editor → a Viewer in a group the Editor is not in: %v", err)
	}
	if _, _, err := s.CreateResetLink(editor, rh.bob.ID+100); ErrorCode(err) != ENOTFOUND {
		t.Errorf("unknown user: %v", err)
	}
	secret, _, err := s.CreateResetLink(admin, boss.ID)
	if err != nil || len(secret) != 64 {
		t.Fatalf("Admin → Admin: %q, %v", secret, err)
	}
	events, _, _ := s.ListEvents(EventResetLinkCreated, 0, 10)
	if len(events) != 1 || events[0].ObjectID != strconv.FormatUint(boss.ID, 10) || events[0].CreatedBy != admin.String() {
		t.Fatalf("events %+v", events)
	}
	for k, v := range events[0].Data {
		if strings.Contains(toString(v), secret) {
			t.Errorf("the event's %s holds the secret", k)
		}
	}
	// Deleting the user deletes the link.
	edLink, _, err := s.CreateResetLink(admin, ed.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(admin, ed.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PeekUserToken(TokenResetPassword, edLink); err == nil {
		t.Error("the link outlived its user")
	}
}

// An admin's reset link for an account whose address is not verified yet
// says what to do first, rather than calling it disabled.
func TestResetLinkUnverified(t *testing.T) {
	s, clock := mustOpen(t)
	s.verifyEmail = VerifyEmailAlways
	u := mustMember(t, s, clock, "new@example.com", "newbie", RoleViewer)
	if u.EmailVerified {
		t.Fatal("the member is verified; the test needs an unverified one")
	}
	_, _, err := s.CreateResetLink(admin, u.ID)
	if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "verif") {
		t.Fatalf("reset link for an unverified user: %v", err)
	}
}
