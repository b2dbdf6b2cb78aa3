package db

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	goodPassword  = "correct horse battery staple"
	otherPassword = "quiet lantern velvet harbor"
)

// accountsHarness is Accounts over a real file with the test clock, a
// welcome email for every new user, and a count of hasher runs (Hash,
// Verify and Simulate each take one slot).
type accountsHarness struct {
	*Accounts
	s      *Store
	clock  *testClock
	hashes atomic.Int64
}

func mustAccounts(tb testing.TB) *accountsHarness {
	tb.Helper()
	clock := &testClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s, err := Open(filepath.Join(tb.TempDir(), "accounts.db"), Options{Now: clock.now, WelcomeEmails: true})
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
	return ah
}

// wantHashes checks how many hasher runs happened since the last check.
func (ah *accountsHarness) wantHashes(tb testing.TB, want int64) {
	tb.Helper()
	if got := ah.hashes.Swap(0); got != want {
		tb.Errorf("%d hasher runs, want %d", got, want)
	}
}

// outbox lists every email queued so far, newest first.
func (ah *accountsHarness) outbox(tb testing.TB) []OutboxEmail {
	tb.Helper()
	emails, _, err := ah.s.ListOutbox(0, 100)
	if err != nil {
		tb.Fatal(err)
	}
	return emails
}

func (ah *accountsHarness) users(tb testing.TB) int {
	tb.Helper()
	n, err := ah.s.CountUsers()
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func account(email, username, password string) NewAccount {
	return NewAccount{Email: email, Name: "Ada Lovelace", Username: username, Password: password}
}

func ptr(s string) *string { return &s }

func TestSignupWithLinkRefusesEarlyWithoutHashing(t *testing.T) {
	ah := mustAccounts(t)
	live := mustLink(t, ah.s, ah.clock, NewSignupToken{AllowedDomains: []string{"example.com"}})
	if _, err := ah.SignupWithLink(t.Context(), live.Secret, account("taken@example.com", "taken", goodPassword)); err != nil {
		t.Fatal(err)
	}
	disabled := mustLink(t, ah.s, ah.clock, NewSignupToken{})
	off := false
	if _, err := ah.s.UpdateSignupToken(admin, disabled.Secret, SignupTokenUpdate{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	expiring := mustLink(t, ah.s, ah.clock, NewSignupToken{ExpiresAt: ah.clock.now().Add(time.Hour)})
	usedUp := mustLink(t, ah.s, ah.clock, NewSignupToken{MaxUses: new(1)})
	if _, err := ah.SignupWithLink(t.Context(), usedUp.Secret, account("first@example.com", "", goodPassword)); err != nil {
		t.Fatal(err)
	}
	ah.clock.add(time.Hour) // expiring expires now, to the instant
	ah.wantHashes(t, 2)
	users, emails := ah.users(t), len(ah.outbox(t))

	for _, tc := range []struct {
		name, secret string
		in           NewAccount
		code         Code
		says         string
		paths        []string
	}{
		{"unknown link", strings.Repeat("0", 32), account("a@example.com", "", goodPassword), ENOTFOUND, "no signup link", nil},
		{"disabled link", disabled.Secret, account("a@example.com", "", goodPassword), EGONE, "disabled", nil},
		{"expired link", expiring.Secret, account("a@example.com", "", goodPassword), EGONE, "expired", nil},
		{"used-up link", usedUp.Secret, account("a@example.com", "", goodPassword), EGONE, "used once", nil},
		// The domain is said alone, before the weak password.
		{"wrong domain", live.Secret, account("a@example.org", "", "password"), EINVALID, "only addresses at example.com", []string{"email"}},
		{"every bad field", live.Secret, NewAccount{Email: "a@example.com", Name: " ", Username: "-x", Password: "password1", PasswordAgain: ptr("other")},
			EINVALID, "", []string{"name", "username", "password", "passwordAgain"}},
		{"passwords differ", live.Secret, NewAccount{Email: "a@example.com", Name: "A", Password: goodPassword, PasswordAgain: ptr(goodPassword + "!")},
			EINVALID, "does not match", []string{"passwordAgain"}},
		// A weak password is said before a taken address.
		{"taken and weak", live.Secret, account("TAKEN@example.com", "", "password1"), EINVALID, "too easy to guess", []string{"password"}},
		{"taken email", live.Secret, account("Taken@Example.com", "", goodPassword), ECONFLICT, "already exists", []string{"email"}},
		{"taken username", live.Secret, account("new@example.com", "TAKEN", goodPassword), ECONFLICT, "is taken", []string{"username"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ah.SignupWithLink(t.Context(), tc.secret, tc.in)
			wantCode(t, err, tc.code)
			if !strings.Contains(ErrorMessage(err), tc.says) {
				t.Errorf("message %q does not say %q", ErrorMessage(err), tc.says)
			}
			var de *Error
			errors.As(err, &de)
			var paths []string
			for _, d := range de.Details {
				paths = append(paths, d.Path)
			}
			if strings.Join(paths, ",") != strings.Join(tc.paths, ",") {
				t.Errorf("details on %v, want %v", paths, tc.paths)
			}
			ah.wantHashes(t, 0)
		})
	}
	if n := ah.users(t); n != users {
		t.Errorf("%d users after refusals, want %d", n, users)
	}
	if n := len(ah.outbox(t)); n != emails {
		t.Errorf("%d emails after refusals, want %d", n, emails)
	}
}

func TestSignupWithLinkWritesUserUseAndEmailTogether(t *testing.T) {
	ah := mustAccounts(t)
	link := mustLink(t, ah.s, ah.clock, NewSignupToken{Role: RoleEditor})
	u, err := ah.SignupWithLink(t.Context(), link.Secret, NewAccount{Email: " Ada@EXAMPLE.com ", Name: " Ada ", Username: "Ada",
		Password: goodPassword, PasswordAgain: ptr(goodPassword)})
	if err != nil {
		t.Fatal(err)
	}
	ah.wantHashes(t, 1)
	if u.Email != "Ada@example.com" || u.Name != "Ada" || u.Username != "Ada" || u.RootRole != RoleEditor || u.LinkID != link.ID {
		t.Errorf("user %+v", u)
	}
	emails := ah.outbox(t)
	if len(emails) != 1 || emails[0].Kind != EmailWelcome || emails[0].UserID != u.ID || emails[0].To != u.Email {
		t.Errorf("outbox %+v, want one welcome email to the user", emails)
	}
	tok, err := ah.s.FindSignupToken(admin, link.Secret)
	if err != nil || tok.Uses != 1 || len(tok.Users) != 1 || tok.Users[0].ID != u.ID {
		t.Errorf("link %+v, %v", tok, err)
	}
	// The stored hash is the password's: the user can log in with it.
	if _, err := ah.Login(t.Context(), "ada", goodPassword); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
}

// TestSignupWithLinkWriteCatchesChanges changes the link or the names
// between the hash and the write: the write refuses, and nothing of the
// signup (user, use, email) is on disk.
func TestSignupWithLinkWriteCatchesChanges(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, ah *accountsHarness, link SignupToken)
		code   Code
	}{
		{"link disabled", func(t *testing.T, ah *accountsHarness, link SignupToken) {
			off := false
			if _, err := ah.s.UpdateSignupToken(admin, link.Secret, SignupTokenUpdate{Enabled: &off}); err != nil {
				t.Fatal(err)
			}
		}, EGONE},
		{"link expired", func(t *testing.T, ah *accountsHarness, link SignupToken) { ah.clock.add(48 * time.Hour) }, EGONE},
		{"link used up", func(t *testing.T, ah *accountsHarness, link SignupToken) {
			if _, err := ah.s.RedeemSignupToken(link.Secret, newUser("other@example.com", "")); err != nil {
				t.Fatal(err)
			}
		}, EGONE},
		{"email taken", func(t *testing.T, ah *accountsHarness, link SignupToken) {
			spare := mustLink(t, ah.s, ah.clock, NewSignupToken{})
			if _, err := ah.s.RedeemSignupToken(spare.Secret, newUser("ada@example.com", "")); err != nil {
				t.Fatal(err)
			}
		}, ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ah := mustAccounts(t)
			link := mustLink(t, ah.s, ah.clock, NewSignupToken{MaxUses: new(1)})
			ah.beforeWrite = func() { tc.change(t, ah, link) }
			users, emails := ah.users(t), len(ah.outbox(t))
			_, err := ah.SignupWithLink(t.Context(), link.Secret, account("ada@example.com", "ada", goodPassword))
			wantCode(t, err, tc.code)
			ah.beforeWrite = nil
			if _, err := ah.s.FindUserByLogin("ada"); ErrorCode(err) != ENOTFOUND {
				t.Errorf("the refused signup left a user: %v", err)
			}
			// Only what the change itself wrote is there.
			grown := ah.users(t) - users
			if n := len(ah.outbox(t)) - emails; n != grown {
				t.Errorf("%d new emails for %d new users", n, grown)
			}
		})
	}
}

func TestSignupWithLinkConcurrentOnOneUse(t *testing.T) {
	ah := mustAccounts(t)
	link := mustLink(t, ah.s, ah.clock, NewSignupToken{MaxUses: new(1)})
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = ah.SignupWithLink(context.Background(), link.Secret,
				account(string(rune('a'+i))+"@example.com", "", goodPassword))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch ErrorCode(err) {
		case "":
			ok++
		case EGONE:
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != 1 || ah.users(t) != 1 || len(ah.outbox(t)) != 1 {
		t.Errorf("%d signups succeeded, %d users, %d emails; want exactly one of each", ok, ah.users(t), len(ah.outbox(t)))
	}
}

func TestAcceptInvitationFlow(t *testing.T) {
	ah := mustAccounts(t)
	invite := func(email string, ttl time.Duration) Invitation {
		t.Helper()
		inv, err := ah.s.CreateInvitation(admin, NewInvitation{Email: email, TTL: new(ttl), Role: RoleEditor, DisableEmail: true})
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}
	taken := mustLink(t, ah.s, ah.clock, NewSignupToken{})
	if _, err := ah.s.RedeemSignupToken(taken.Secret, newUser("taken@example.com", "taken")); err != nil {
		t.Fatal(err)
	}
	revoked := invite("revoked@example.com", time.Hour)
	if _, err := ah.s.RevokeInvitation(admin, revoked.ID); err != nil {
		t.Fatal(err)
	}
	short := invite("short@example.com", time.Minute)
	pending := invite("grace@example.com", 24*time.Hour)
	ah.clock.add(time.Minute) // short expires now

	t.Run("early refusals hash nothing", func(t *testing.T) {
		for _, tc := range []struct {
			name, token string
			in          NewAccount
			code        Code
			says        string
		}{
			{"unknown token", strings.Repeat("ab", 32), account("", "", goodPassword), ENOTFOUND, "not valid"},
			{"revoked", revoked.Token, account("", "", goodPassword), EGONE, "withdrawn"},
			{"expired", short.Token, account("", "", goodPassword), EGONE, "expired"},
			// The invited address counts as guessable.
			{"password is the address", pending.Token, account("", "", "grace@example.com"), EINVALID, "too easy to guess"},
			{"passwords differ", pending.Token, NewAccount{Name: "G", Password: goodPassword, PasswordAgain: ptr("x")}, EINVALID, "does not match"},
			{"taken username", pending.Token, account("", "Taken", goodPassword), ECONFLICT, "is taken"},
		} {
			_, err := ah.AcceptInvitation(t.Context(), tc.token, tc.in)
			if ErrorCode(err) != tc.code || !strings.Contains(ErrorMessage(err), tc.says) {
				t.Errorf("%s: %v, want %s saying %q", tc.name, err, tc.code, tc.says)
			}
			ah.wantHashes(t, 0)
		}
	})

	t.Run("the write catches a revocation", func(t *testing.T) {
		inv := invite("late@example.com", time.Hour)
		ah.beforeWrite = func() {
			if _, err := ah.s.RevokeInvitation(admin, inv.ID); err != nil {
				t.Error(err)
			}
		}
		defer func() { ah.beforeWrite = nil }()
		emails := len(ah.outbox(t))
		_, err := ah.AcceptInvitation(t.Context(), inv.Token, account("", "late", goodPassword))
		wantCode(t, err, EGONE)
		ah.wantHashes(t, 1)
		if _, err := ah.s.FindUserByLogin("late@example.com"); ErrorCode(err) != ENOTFOUND {
			t.Errorf("the refused acceptance left a user: %v", err)
		}
		if n := len(ah.outbox(t)); n != emails {
			t.Errorf("the refused acceptance queued %d emails", n-emails)
		}
	})

	t.Run("the write catches a taken username", func(t *testing.T) {
		ah.beforeWrite = func() {
			if _, err := ah.s.RedeemSignupToken(taken.Secret, newUser("someone@example.com", "grace")); err != nil {
				t.Error(err)
			}
		}
		defer func() { ah.beforeWrite = nil }()
		_, err := ah.AcceptInvitation(t.Context(), pending.Token, account("mallory@example.com", "Grace", goodPassword))
		wantCode(t, err, ECONFLICT)
		ah.wantHashes(t, 1)
		if inv, err := ah.s.FindInvitationByToken(pending.Token); err != nil || inv.State != InvitationPending {
			t.Errorf("the invitation after a refused acceptance: %+v, %v", inv, err)
		}
	})

	t.Run("accepted", func(t *testing.T) {
		emails := len(ah.outbox(t))
		u, err := ah.AcceptInvitation(t.Context(), pending.Token, NewAccount{Email: "mallory@example.com", Name: "Grace Hopper",
			Username: "gracie", Password: goodPassword, PasswordAgain: ptr(goodPassword)})
		if err != nil {
			t.Fatal(err)
		}
		ah.wantHashes(t, 1)
		if u.Email != "grace@example.com" || u.RootRole != RoleEditor {
			t.Errorf("user %+v: want the invited address and the invitation's role", u)
		}
		if inv, err := ah.s.GetInvitation(admin, pending.ID); err != nil || inv.State != InvitationAccepted || inv.UserID != u.ID {
			t.Errorf("invitation %+v, %v", inv, err)
		}
		out := ah.outbox(t)
		if len(out) != emails+1 || out[0].Kind != EmailWelcome || out[0].UserID != u.ID { // newest first
			t.Errorf("outbox %+v, want one more: the welcome email", out)
		}
		_, err = ah.AcceptInvitation(t.Context(), pending.Token, account("", "again", goodPassword))
		wantCode(t, err, EGONE)
		ah.wantHashes(t, 0)
	})
}

func TestLoginFlow(t *testing.T) {
	ah := mustAccounts(t)
	link := mustLink(t, ah.s, ah.clock, NewSignupToken{ExpiresAt: ah.clock.now().Add(24 * 365 * time.Hour)})
	u, err := ah.SignupWithLink(t.Context(), link.Secret, account("ada@example.com", "ada", goodPassword))
	if err != nil {
		t.Fatal(err)
	}
	ah.wantHashes(t, 1)

	t.Run("refused without a hash", func(t *testing.T) {
		_, err := ah.Login(t.Context(), "", goodPassword)
		wantCode(t, err, EINVALID)
		_, err = ah.Login(t.Context(), "ada", strings.Repeat("x", MaxPasswordBytes+1))
		if !errors.Is(err, ErrBadLogin) {
			t.Errorf("an overlong password: %v", err)
		}
		ah.wantHashes(t, 0)
	})

	t.Run("unknown and wrong cost one hash and read the same", func(t *testing.T) {
		for _, login := range []string{"nobody@example.com", "ada"} {
			if _, err := ah.Login(t.Context(), login, "wrong password"); !errors.Is(err, ErrBadLogin) {
				t.Errorf("%s: %v, want ErrBadLogin", login, err)
			}
			ah.wantHashes(t, 1)
		}
	})

	t.Run("right", func(t *testing.T) {
		res, err := ah.Login(t.Context(), " ADA@example.com ", goodPassword)
		if err != nil || res.Token == "" || res.User.ID != u.ID || !res.ExpiresAt.Equal(ah.clock.now().Add(time.Hour)) {
			t.Fatalf("login: %+v, %v", res, err)
		}
		ah.wantHashes(t, 1)
		if got, err := ah.s.AuthenticateSession(res.Token); err != nil || got.ID != u.ID || got.LoginAttempts != 0 || got.SeenAt == nil {
			t.Errorf("session user %+v, %v", got, err)
		}
	})

	t.Run("the write catches a password changed meanwhile", func(t *testing.T) {
		ah.beforeWrite = func() {
			ah.beforeWrite = nil // the change's own write runs no hook
			if err := ah.ChangePassword(context.Background(), admin, u.ID, PasswordChange{Current: goodPassword, New: otherPassword}); err != nil {
				t.Error(err)
			}
		}
		_, err := ah.Login(t.Context(), "ada", goodPassword)
		ah.beforeWrite = nil
		if !errors.Is(err, ErrBadLogin) {
			t.Errorf("the old password after a change: %v, want ErrBadLogin", err)
		}
		ah.hashes.Store(0)
		if _, err := ah.Login(t.Context(), "ada", otherPassword); err != nil {
			t.Errorf("the new password: %v", err)
		}
	})

	t.Run("throttled: the password is not checked, a hash is still paid", func(t *testing.T) {
		for range 3 {
			if _, err := ah.Login(t.Context(), "ada", "wrong password"); !errors.Is(err, ErrBadLogin) {
				t.Fatal(err)
			}
		}
		ah.hashes.Store(0)
		if _, err := ah.Login(t.Context(), "ada", otherPassword); !errors.Is(err, ErrBadLogin) {
			t.Errorf("the right password in the wait: %v, want ErrBadLogin", err)
		}
		ah.wantHashes(t, 1)
		ah.clock.add(ThrottleBase)
		if _, err := ah.Login(t.Context(), "ada", otherPassword); err != nil {
			t.Errorf("the right password after the wait: %v", err)
		}
	})
}

func TestChangePasswordFlow(t *testing.T) {
	ah := mustAccounts(t)
	link := mustLink(t, ah.s, ah.clock, NewSignupToken{})
	u, err := ah.SignupWithLink(t.Context(), link.Secret, account("ada@example.com", "ada", goodPassword))
	if err != nil {
		t.Fatal(err)
	}
	here, err := ah.Login(t.Context(), "ada", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, err := ah.Login(t.Context(), "ada", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	ah.hashes.Store(0)
	self := Actor{Kind: "user", ID: u.ID, Name: "ada", Role: u.RootRole}

	t.Run("cheap problems all at once, without a hash", func(t *testing.T) {
		err := ah.ChangePassword(t.Context(), self, u.ID, PasswordChange{Current: "", New: "ada@example.com", NewAgain: ptr("x")})
		var de *Error
		if !errors.As(err, &de) || de.Code != EINVALID || len(de.Details) != 3 ||
			de.Details[0].Path != "currentPassword" || de.Details[1].Path != "newPassword" || de.Details[2].Path != "newPasswordAgain" {
			t.Errorf("%#v", err)
		}
		err = ah.ChangePassword(t.Context(), self, u.ID, PasswordChange{Current: goodPassword, New: goodPassword})
		if !errors.As(err, &de) || len(de.Details) != 1 || !strings.Contains(de.Details[0].Message, "the same as your current password") {
			t.Errorf("same password: %v", err)
		}
		wantCode(t, ah.ChangePassword(t.Context(), self, 999, PasswordChange{Current: goodPassword, New: otherPassword}), ENOTFOUND)
		ah.wantHashes(t, 0)
	})

	t.Run("wrong current password", func(t *testing.T) {
		err := ah.ChangePassword(t.Context(), self, u.ID, PasswordChange{Current: "not my password", New: otherPassword})
		var de *Error
		if !errors.As(err, &de) || de.Code != EINVALID || de.Details[0].Path != "currentPassword" || !strings.Contains(de.Message, "not right") {
			t.Errorf("%v", err)
		}
		ah.wantHashes(t, 1)
	})

	t.Run("the write catches another change first", func(t *testing.T) {
		ah.beforeWrite = func() {
			ah.beforeWrite = nil // the change's own write runs no hook
			if err := ah.ChangePassword(context.Background(), self, u.ID, PasswordChange{Current: goodPassword, New: "winter meadow copper kite"}); err != nil {
				t.Error(err)
			}
		}
		err := ah.ChangePassword(t.Context(), self, u.ID, PasswordChange{Current: goodPassword, New: otherPassword})
		ah.beforeWrite = nil
		if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "changed meanwhile") {
			t.Errorf("%v, want EINVALID saying it changed meanwhile", err)
		}
		if _, err := ah.Login(t.Context(), "ada", "winter meadow copper kite"); err != nil {
			t.Errorf("the first change was undone: %v", err)
		}
		// Put the password back for the next case.
		if err := ah.Store.ChangePassword(self, u.ID, mustHash(t, ah.Hasher, goodPassword)); err != nil {
			t.Fatal(err)
		}
		if here, err = ah.Login(t.Context(), "ada", goodPassword); err != nil {
			t.Fatal(err)
		}
		if elsewhere, err = ah.Login(t.Context(), "ada", goodPassword); err != nil {
			t.Fatal(err)
		}
		ah.hashes.Store(0)
	})

	t.Run("changed", func(t *testing.T) {
		events, _, _ := ah.s.ListEvents(EventPasswordChanged, 0, 10)
		before := len(events)
		err := ah.ChangePassword(t.Context(), self, u.ID, PasswordChange{Current: goodPassword, New: otherPassword,
			NewAgain: ptr(otherPassword), KeepSession: here.Token})
		if err != nil {
			t.Fatal(err)
		}
		ah.wantHashes(t, 2) // the current password checked, the new one hashed
		if _, err := ah.s.AuthenticateSession(here.Token); err != nil {
			t.Errorf("the session the change came from ended: %v", err)
		}
		wantCode(t, errOnly(ah.s.AuthenticateSession(elsewhere.Token)), EUNAUTHORIZED)
		if _, err := ah.Login(t.Context(), "ada", goodPassword); !errors.Is(err, ErrBadLogin) {
			t.Errorf("the old password: %v", err)
		}
		if _, err := ah.Login(t.Context(), "ada", otherPassword); err != nil {
			t.Errorf("the new password: %v", err)
		}
		events, _, _ = ah.s.ListEvents(EventPasswordChanged, 0, 10)
		if len(events) != before+1 || events[0].Data["sessionsEnded"] != float64(1) {
			t.Fatalf("events %+v", events)
		}
		if strings.Contains(events[0].Data["email"].(string)+events[0].CreatedBy, "argon2") {
			t.Error("the event holds the hash")
		}
	})

	t.Run("the write step refuses a plain password", func(t *testing.T) {
		wantCode(t, ah.Store.ChangePassword(self, u.ID, "plain text"), EINVALID)
		wantCode(t, ah.Store.ChangePassword(self, 999, "$argon2id$x"), ENOTFOUND)
	})
}

func mustHash(tb testing.TB, h *Hasher, password string) string {
	tb.Helper()
	hash, err := h.Hash(context.Background(), password)
	if err != nil {
		tb.Fatal(err)
	}
	return hash
}

func errOnly(_ User, err error) error { return err }
