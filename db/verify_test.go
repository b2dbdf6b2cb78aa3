package db

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// mustAccountsMode is mustAccounts with an email verification mode.
func mustAccountsMode(tb testing.TB, mode VerifyEmailMode) *accountsHarness {
	tb.Helper()
	clock := &testClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s, err := Open(filepath.Join(tb.TempDir(), "verify.db"), Options{Now: clock.now, WelcomeEmails: true, VerifyEmail: mode})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	h, err := NewHasher(HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, 2, 10*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	ah := &accountsHarness{s: s, clock: clock}
	ah.Accounts = &Accounts{Store: s, Hasher: h, Policy: PasswordPolicy{MinLength: 8, MinScore: 2},
		Throttle: Throttle{MaxAttempts: 3, Max: 15 * time.Minute}, SessionTTL: time.Hour}
	return ah
}

// verifyEmails returns the verification emails queued for user id.
func (ah *accountsHarness) verifyEmails(tb testing.TB, id uint64) []OutboxEmail {
	tb.Helper()
	var out []OutboxEmail
	for _, e := range ah.outbox(tb) {
		if e.Kind == EmailVerify && e.UserID == id {
			out = append(out, e)
		}
	}
	return out
}

func TestVerifyEmailFlow(t *testing.T) {
	ah := mustAccountsMode(t, "") // the default: domains
	link := mustLink(t, ah.s, ah.clock, NewSignupToken{AllowedDomains: []string{"example.com"}, Role: RoleEditor})
	u, err := ah.SignupWithLink(t.Context(), link.Secret, account("kay@example.com", "kay", goodPassword))
	if err != nil {
		t.Fatal(err)
	}
	if u.EmailVerified || u.Active() {
		t.Fatalf("a signup through a domain link is verified or active: %+v", u)
	}

	// The signup queued the verification email, not the welcome email,
	// and the record holds no secret: the link is made when it is sent.
	emails := ah.outbox(t)
	if len(emails) != 1 || emails[0].Kind != EmailVerify || emails[0].UserID != u.ID || emails[0].To != "kay@example.com" {
		t.Fatalf("outbox %+v, want one verification email for the user", emails)
	}
	if emails[0].Token != "" || emails[0].Rendered() {
		t.Fatalf("the verification email holds a secret or a body: %+v", emails[0])
	}

	// Login: only the right password hears that the address is not
	// verified; it opens no session.
	_, err = ah.Login(t.Context(), "kay@example.com", otherPassword)
	if !errors.Is(err, ErrBadLogin) {
		t.Fatalf("wrong password: %v, want ErrBadLogin", err)
	}
	res, err := ah.Login(t.Context(), "kay", goodPassword)
	if !errors.Is(err, ErrEmailUnverified) || ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("right password: %v, want ErrEmailUnverified", err)
	}
	if res.Token != "" || res.User.Email != "kay@example.com" {
		t.Fatalf("an unverified login gave %+v", res)
	}
	if !strings.Contains(ErrorMessage(err), "not verified") || !strings.Contains(ErrorMessage(err), "/verify-email") {
		t.Fatalf("message %q does not say what to do", ErrorMessage(err))
	}
	if got, _ := ah.s.FindUserByID(u.ID); got.SeenAt != nil || got.LoginAttempts != 1 {
		// One failure (the wrong password) counted; the right one neither
		// counted nor set seenAt.
		t.Fatalf("after the refused logins: seenAt %v, loginAttempts %d", got.SeenAt, got.LoginAttempts)
	}

	// The mail worker makes the link as it sends the email.
	secret, tok, issued, err := ah.s.IssueEmailVerification(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if issued.ID != u.ID || tok.Purpose != TokenVerifyEmail || !tok.ExpiresAt.Equal(ah.clock.now().Add(VerifyEmailTTL)) || len(secret) != 64 {
		t.Fatalf("issued %+v %+v secret %d chars", issued, tok, len(secret))
	}

	verified, err := ah.s.VerifyEmail(secret)
	if err != nil {
		t.Fatal(err)
	}
	if !verified.EmailVerified || !verified.Active() || verified.RootRole != RoleEditor || verified.Username != "kay" {
		t.Fatalf("verified user %+v", verified)
	}
	events, _, err := ah.s.ListEvents(EventEmailVerified, 0, 10)
	if err != nil || len(events) != 1 || events[0].ObjectID != "1" {
		t.Fatalf("events %+v, %v", events, err)
	}
	// The welcome email waited for this.
	if emails := ah.outbox(t); len(emails) != 2 || emails[0].Kind != EmailWelcome {
		t.Fatalf("after verifying, outbox %+v, want the welcome email on top", emails)
	}

	// Single use.
	if _, err := ah.s.VerifyEmail(secret); !errors.Is(err, ErrUserTokenNotFound) {
		t.Fatalf("second use: %v", err)
	}
	if _, _, _, err := ah.s.IssueEmailVerification(u.ID); !errors.Is(err, ErrAlreadyVerified) {
		t.Fatalf("issue after verifying: %v", err)
	}
	if queued, err := ah.s.ResendVerification("kay@example.com"); queued || err != nil {
		t.Fatalf("resend after verifying: %v, %v", queued, err)
	}

	// Verifying opened no session; logging in now does.
	res, err = ah.Login(t.Context(), "kay", goodPassword)
	if err != nil || res.Token == "" {
		t.Fatalf("login after verifying: %+v, %v", res, err)
	}
	if _, err := ah.s.AuthenticateSession(res.Token); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyEmailModes(t *testing.T) {
	for _, tc := range []struct {
		mode                   VerifyEmailMode
		open, domains, invited bool // verified after each way in
	}{
		{VerifyEmailDomains, true, false, true},
		{VerifyEmailAlways, false, false, true},
		{VerifyEmailNever, true, true, true},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			ah := mustAccountsMode(t, tc.mode)
			open := mustLink(t, ah.s, ah.clock, NewSignupToken{Name: "open"})
			domains := mustLink(t, ah.s, ah.clock, NewSignupToken{Name: "domains", AllowedDomains: []string{"example.com"}})
			for _, c := range []struct {
				name, secret, email string
				want                bool
			}{
				{"open link", open.Secret, "a@example.org", tc.open},
				{"domain link", domains.Secret, "b@example.com", tc.domains},
			} {
				u, err := ah.s.RedeemSignupToken(c.secret, newUser(c.email, ""))
				if err != nil {
					t.Fatal(err)
				}
				if u.EmailVerified != c.want || u.Active() != c.want {
					t.Errorf("%s: emailVerified %v active %v, want %v", c.name, u.EmailVerified, u.Active(), c.want)
				}
				if got := len(ah.verifyEmails(t, u.ID)); got != map[bool]int{true: 0, false: 1}[c.want] {
					t.Errorf("%s: %d verification emails", c.name, got)
				}
				if _, err := ah.s.VerifyEmail(strings.Repeat("0", 64)); !errors.Is(err, ErrUserTokenNotFound) {
					t.Errorf("a made-up link verified: %v", err)
				}
			}
			if ah.s.VerifiesEmail(false) != !tc.open || ah.s.VerifiesEmail(true) != !tc.domains {
				t.Errorf("VerifiesEmail disagrees with the signups")
			}
			// Invitations prove the address by construction.
			inv, err := ah.s.CreateInvitation(admin, NewInvitation{Email: "grace@example.com", TTL: new(time.Hour), DisableEmail: true})
			if err != nil {
				t.Fatal(err)
			}
			u, err := ah.AcceptInvitation(t.Context(), inv.Token, NewAccount{Name: "Grace", Password: goodPassword})
			if err != nil {
				t.Fatal(err)
			}
			if !u.EmailVerified || !u.Active() || len(ah.verifyEmails(t, u.ID)) != 0 {
				t.Errorf("invited user %+v is not verified, or got a verification email", u)
			}
		})
	}

	if _, err := Open(filepath.Join(t.TempDir(), "x.db"), Options{VerifyEmail: "sometimes"}); ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), `"domains"`) {
		t.Fatalf("unknown mode: %v", err)
	}
	for _, s := range []string{"", "Domains", "always ", "never\x00"} {
		if _, err := ParseVerifyEmailMode(s); ErrorCode(err) != EINVALID {
			t.Errorf("ParseVerifyEmailMode(%q): %v", s, err)
		}
	}
}

func TestVerifyEmailExpiresAndResendReplaces(t *testing.T) {
	ah := mustAccountsMode(t, VerifyEmailAlways)
	link := mustLink(t, ah.s, ah.clock, NewSignupToken{})
	u, err := ah.s.RedeemSignupToken(link.Secret, newUser("kay@example.com", "kay"))
	if err != nil {
		t.Fatal(err)
	}

	// Expiry, on the injected clock.
	first, _, _, err := ah.s.IssueEmailVerification(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	ah.clock.add(VerifyEmailTTL - time.Second)
	if _, err := ah.s.PeekUserToken(TokenVerifyEmail, first); err != nil {
		t.Fatalf("a second before the end: %v", err)
	}
	ah.clock.add(time.Second)
	if _, err := ah.s.VerifyEmail(first); !errors.Is(err, ErrUserTokenNotFound) {
		t.Fatalf("expired link: %v", err)
	}

	// A resend queues an email and the older link dies at once.
	second, _, _, err := ah.s.IssueEmailVerification(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	before := len(ah.verifyEmails(t, u.ID))
	if queued, err := ah.s.ResendVerification("  KAY@Example.COM "); !queued || err != nil {
		t.Fatalf("resend: %v, %v", queued, err)
	}
	if got := len(ah.verifyEmails(t, u.ID)); got != before+1 {
		t.Fatalf("%d verification emails, want %d", got, before+1)
	}
	if _, err := ah.s.VerifyEmail(second); !errors.Is(err, ErrUserTokenNotFound) {
		t.Fatalf("the link before the resend still works: %v", err)
	}
	// At most VerifyEmailsPerHour in an hour (the signup's was a week
	// ago): four more, then nothing until the first of them is an hour
	// old.
	for i := 2; i <= VerifyEmailsPerHour; i++ {
		ah.clock.add(time.Minute)
		if queued, err := ah.s.ResendVerification("kay@example.com"); !queued || err != nil {
			t.Fatalf("resend %d: %v, %v", i, queued, err)
		}
	}
	if queued, err := ah.s.ResendVerification("kay@example.com"); queued || err != nil {
		t.Fatalf("resend over the hourly cap: %v, %v", queued, err)
	}
	if got := len(ah.verifyEmails(t, u.ID)); got != before+VerifyEmailsPerHour {
		t.Fatalf("%d verification emails, want %d", got, before+VerifyEmailsPerHour)
	}
	ah.clock.add(time.Hour - time.Duration(VerifyEmailsPerHour-1)*time.Minute)
	if queued, err := ah.s.ResendVerification("kay@example.com"); !queued || err != nil {
		t.Fatalf("resend an hour after the first: %v, %v", queued, err)
	}
	third, _, _, err := ah.s.IssueEmailVerification(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ah.s.VerifyEmail(third); err != nil {
		t.Fatal(err)
	}
	if got, _ := ah.s.FindUserByID(u.ID); !got.EmailVerified {
		t.Fatal("not verified")
	}
}

func TestResendVerificationRefusesQuietly(t *testing.T) {
	ah := mustAccountsMode(t, VerifyEmailAlways)
	link := mustLink(t, ah.s, ah.clock, NewSignupToken{})
	u, err := ah.s.RedeemSignupToken(link.Secret, newUser("kay@example.com", "kay"))
	if err != nil {
		t.Fatal(err)
	}
	ah.clock.add(time.Hour)
	if _, err := ah.s.DisableUser(admin, u.ID); err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{
		"kay@example.com", // disabled
		"kay",             // a username is not an address
		"nobody@example.com",
		"",
		strings.Repeat("a", 10_000) + "@example.com",
		"kay@example.com\r\nBcc: x@evil.test",
		"kay@ex\u0430mple.com", // a Cyrillic a
		"\x00",
	} {
		queued, err := ah.s.ResendVerification(email)
		if queued || err != nil {
			t.Errorf("ResendVerification(%.40q) = %v, %v; want false, nil", email, queued, err)
		}
	}
	if got := len(ah.verifyEmails(t, u.ID)); got != 1 {
		t.Fatalf("%d verification emails, want the signup's only", got)
	}
}

func TestVerifyEmailHostileLinks(t *testing.T) {
	ah := mustAccountsMode(t, VerifyEmailAlways)
	link := mustLink(t, ah.s, ah.clock, NewSignupToken{})
	u, err := ah.s.RedeemSignupToken(link.Secret, newUser("kay@example.com", "kay"))
	if err != nil {
		t.Fatal(err)
	}
	secret, _, _, err := ah.s.IssueEmailVerification(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	reset, _, err := ah.s.IssueUserToken(TokenResetPassword, u.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{
		"", reset, strings.ToUpper(secret), secret + "0", secret[:63], " " + secret,
		strings.Repeat("f", 129), strings.Repeat("x", 1<<16), "../../etc/passwd", "%00",
	} {
		if _, err := ah.s.VerifyEmail(bad); !errors.Is(err, ErrUserTokenNotFound) {
			t.Errorf("VerifyEmail(%.40q): %v", bad, err)
		}
	}
	// None of those used the real link up, nor the reset token.
	if _, err := ah.s.PeekUserToken(TokenResetPassword, reset); err != nil {
		t.Fatalf("the reset token died: %v", err)
	}
	if _, err := ah.s.VerifyEmail(secret); err != nil {
		t.Fatal(err)
	}
	// Deleting a user leaves no link of theirs alive.
	u2, err := ah.s.RedeemSignupToken(link.Secret, newUser("lee@example.com", "lee"))
	if err != nil {
		t.Fatal(err)
	}
	s2, _, _, err := ah.s.IssueEmailVerification(u2.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := ah.s.DeleteUser(admin, u2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := ah.s.VerifyEmail(s2); !errors.Is(err, ErrUserTokenNotFound) {
		t.Fatalf("a deleted user's link: %v", err)
	}
	if _, _, _, err := ah.s.IssueEmailVerification(u2.ID); ErrorCode(err) != ENOTFOUND {
		t.Fatalf("issue for a deleted user: %v", err)
	}
}

// TestSessionOfUnverifiedUserRefused: no login opens a session for an
// unverified user, but should a session exist (made while the address
// counted as verified), AuthenticateSession refuses it all the same.
func TestSessionOfUnverifiedUserRefused(t *testing.T) {
	ah := mustAccountsMode(t, VerifyEmailNever)
	link := mustLink(t, ah.s, ah.clock, NewSignupToken{})
	u, err := ah.SignupWithLink(t.Context(), link.Secret, account("kay@example.com", "kay", goodPassword))
	if err != nil {
		t.Fatal(err)
	}
	res, err := ah.Login(t.Context(), "kay", goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ah.s.AuthenticateSession(res.Token); err != nil {
		t.Fatal(err)
	}
	// Mark the record unverified behind the store's back.
	err = ah.s.update(func(tx *bolt.Tx) error {
		rec, err := getUserTx(tx, u.ID)
		if err != nil {
			return err
		}
		rec.Unverified = true
		return putJSON(tx.Bucket(bucketUsers), itob(rec.ID), rec)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ah.s.AuthenticateSession(res.Token); ErrorCode(err) != EUNAUTHORIZED {
		t.Fatalf("session of an unverified user: %v", err)
	}
}

// TestOldRecordsCountAsVerified: a user record written before
// verification existed (no "unverified" key) is verified.
func TestOldRecordsCountAsVerified(t *testing.T) {
	s, _ := mustOpen(t)
	err := s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUsers).Put(itob(42), []byte(`{"v":1,"id":42,"name":"Old","email":"old@example.com","password_hash":"x","root_role":3,"login_attempts":0,"email_sent":true,"created_at":"2025-01-01T00:00:00Z"}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.FindUserByID(42)
	if err != nil {
		t.Fatal(err)
	}
	if !u.EmailVerified || !u.Active() {
		t.Fatalf("old record: %+v", u)
	}
}

func TestMarkEmailVerified(t *testing.T) {
	ah := mustAccountsMode(t, VerifyEmailAlways)
	link := mustLink(t, ah.s, ah.clock, NewSignupToken{Role: RoleAdmin})
	u, err := ah.s.RedeemSignupToken(link.Secret, newUser("kay@example.com", "kay"))
	if err != nil {
		t.Fatal(err)
	}
	secret, _, _, err := ah.s.IssueEmailVerification(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	editor := Actor{Kind: "apikey", ID: 2, Name: "ed", Role: RoleEditor}
	if _, err := ah.s.MarkEmailVerified(editor, u.ID); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("an Editor verified an Admin: %v", err)
	}
	if _, err := ah.s.MarkEmailVerified(admin, 999); ErrorCode(err) != ENOTFOUND {
		t.Fatalf("unknown user: %v", err)
	}
	got, err := ah.s.MarkEmailVerified(admin, u.ID)
	if err != nil || !got.EmailVerified || !got.Active() {
		t.Fatalf("mark: %+v, %v", got, err)
	}
	if _, err := ah.s.VerifyEmail(secret); !errors.Is(err, ErrUserTokenNotFound) {
		t.Fatalf("the emailed link still works: %v", err)
	}
	events, _, _ := ah.s.ListEvents(EventEmailVerified, 0, 10)
	if len(events) != 1 || !strings.Contains(events[0].CreatedBy, "test-admin") || events[0].Data["byAdmin"] != true {
		t.Fatalf("events %+v", events)
	}
	if emails := ah.outbox(t); emails[0].Kind != EmailWelcome {
		t.Fatalf("no welcome email after verifying: %+v", emails)
	}
	// Again: nothing changes, no second event or email.
	before := len(ah.outbox(t))
	if _, err := ah.s.MarkEmailVerified(admin, u.ID); err != nil {
		t.Fatal(err)
	}
	if events, _, _ := ah.s.ListEvents(EventEmailVerified, 0, 10); len(events) != 1 || len(ah.outbox(t)) != before {
		t.Fatal("marking a verified user changed something")
	}
}
