package db

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	bolt "go.etcd.io/bbolt"
)

// totpCode is the code of secret at t, as an authenticator app shows it.
func totpCode(tb testing.TB, secret string, t time.Time) string {
	tb.Helper()
	c, err := totp.GenerateCode(secret, t)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// mustTOTPUser signs ada up and turns TOTP on; it returns the user, the
// secret and the recovery codes.
func mustTOTPUser(t *testing.T, ah *accountsHarness) (User, string, []string) {
	t.Helper()
	link := mustLink(t, ah.s, ah.clock, NewSignupToken{ExpiresAt: ah.clock.now().Add(24 * 365 * time.Hour)})
	u, err := ah.SignupWithLink(t.Context(), link.Secret, account("ada@example.com", "ada", goodPassword))
	if err != nil {
		t.Fatal(err)
	}
	setup, err := ah.s.BeginTOTP(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if setup.Account != "ada@example.com" || len(setup.Secret) != 32 {
		t.Fatalf("setup %+v", setup)
	}
	if st, _ := ah.s.SecondFactors(u.ID); st.Any() {
		t.Fatalf("a secret not confirmed is already a factor: %+v", st)
	}
	_, err = ah.s.ConfirmTOTP(UserActor(u), u.ID, "000000")
	if ErrorCode(err) != EINVALID && totpCode(t, setup.Secret, ah.clock.now()) != "000000" {
		t.Fatalf("a wrong confirmation code: %v", err)
	}
	codes, err := ah.s.ConfirmTOTP(UserActor(u), u.ID, totpCode(t, setup.Secret, ah.clock.now()))
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != RecoveryCodeCount {
		t.Fatalf("%d recovery codes", len(codes))
	}
	for _, c := range codes {
		if len(c) != 11 || c[5] != '-' {
			t.Fatalf("recovery code %q is not xxxxx-xxxxx", c)
		}
	}
	if _, err := ah.s.BeginTOTP(u.ID); ErrorCode(err) != ECONFLICT {
		t.Fatalf("a second setup while on: %v", err)
	}
	return u, setup.Secret, codes
}

// login2 logs ada in with the password and returns the continuation.
func login2(t *testing.T, ah *accountsHarness, wantMethods ...string) string {
	t.Helper()
	res, err := ah.Login(t.Context(), "ada", goodPassword)
	if !errors.Is(err, ErrSecondFactorRequired) && !errors.Is(err, ErrSecondFactorSetupRequired) {
		t.Fatalf("login with a second factor: %v", err)
	}
	if res.Token != "" || res.SecondFactor == nil || res.SecondFactor.Continuation == "" {
		t.Fatalf("a login waiting for its second factor got %+v", res)
	}
	if !slices.Equal(res.SecondFactor.Methods, wantMethods) {
		t.Fatalf("methods %v, want %v", res.SecondFactor.Methods, wantMethods)
	}
	if !res.SecondFactor.ExpiresAt.Equal(ah.clock.now().Add(SecondFactorTTL)) {
		t.Errorf("continuation expires %v", res.SecondFactor.ExpiresAt)
	}
	return res.SecondFactor.Continuation
}

func eventCount(t *testing.T, s *Store, typ string) int {
	t.Helper()
	_, n, err := s.ListEvents(typ, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTOTPLogin(t *testing.T) {
	ah := mustAccounts(t)
	u, secret, codes := mustTOTPUser(t, ah)
	if eventCount(t, ah.s, EventTOTPEnabled) != 1 {
		t.Error("no totp-enabled event")
	}

	t.Run("the confirming code does not log in (replay)", func(t *testing.T) {
		c := login2(t, ah, MethodTOTP, MethodRecovery)
		_, err := ah.CompleteSecondFactor(t.Context(), c, totpCode(t, secret, ah.clock.now()))
		if !errors.Is(err, ErrBadSecondFactor) {
			t.Fatalf("the code used to confirm: %v", err)
		}
	})

	t.Run("a fresh code logs in once, and not again", func(t *testing.T) {
		ah.clock.add(30 * time.Second)
		c := login2(t, ah, MethodTOTP, MethodRecovery)
		code := totpCode(t, secret, ah.clock.now())
		res, err := ah.CompleteSecondFactor(t.Context(), c, code)
		if err != nil || res.Token == "" || res.User.ID != u.ID {
			t.Fatalf("complete: %+v %v", res, err)
		}
		if _, err := ah.s.AuthenticateSession(res.Token); err != nil {
			t.Fatal(err)
		}
		if amr, err := ah.s.SessionAMR(res.Token); err != nil || !slices.Equal(amr, []string{"pwd", "otp", "mfa"}) {
			t.Errorf("the session's methods: %v, %v; want pwd otp mfa", amr, err)
		}
		// The continuation was used up, and the code is spent.
		if _, err := ah.CompleteSecondFactor(t.Context(), c, code); !errors.Is(err, ErrBadSecondFactor) {
			t.Fatalf("a used continuation: %v", err)
		}
		c = login2(t, ah, MethodTOTP, MethodRecovery)
		if _, err := ah.CompleteSecondFactor(t.Context(), c, code); !errors.Is(err, ErrBadSecondFactor) {
			t.Fatalf("a replayed code: %v", err)
		}
		// A code one step old is still taken when newer than the last used.
		ah.clock.add(60 * time.Second)
		c = login2(t, ah, MethodTOTP, MethodRecovery)
		if _, err := ah.CompleteSecondFactor(t.Context(), c, totpCode(t, secret, ah.clock.now().Add(-30*time.Second))); err != nil {
			t.Fatalf("a code one step old: %v", err)
		}
		// Two steps ahead is too far.
		ah.clock.add(30 * time.Second)
		c = login2(t, ah, MethodTOTP, MethodRecovery)
		if _, err := ah.CompleteSecondFactor(t.Context(), c, totpCode(t, secret, ah.clock.now().Add(60*time.Second))); !errors.Is(err, ErrBadSecondFactor) {
			t.Fatalf("a code two steps ahead: %v", err)
		}
	})

	t.Run("a recovery code works once, typed loosely", func(t *testing.T) {
		ah.clock.add(30 * time.Second)
		c := login2(t, ah, MethodTOTP, MethodRecovery)
		loose := " " + strings.ToUpper(strings.ReplaceAll(codes[0], "-", " ")) + " "
		if _, err := ah.CompleteSecondFactor(t.Context(), c, loose); err != nil {
			t.Fatalf("recovery code: %v", err)
		}
		if st, _ := ah.s.SecondFactors(u.ID); st.RecoveryCodesLeft != RecoveryCodeCount-1 {
			t.Errorf("codes left %d", st.RecoveryCodesLeft)
		}
		c = login2(t, ah, MethodTOTP, MethodRecovery)
		if _, err := ah.CompleteSecondFactor(t.Context(), c, codes[0]); !errors.Is(err, ErrBadSecondFactor) {
			t.Fatalf("a used recovery code: %v", err)
		}
		if eventCount(t, ah.s, EventRecoveryCodeUsed) != 1 {
			t.Error("no recovery-code-used event")
		}
	})

	t.Run("expired continuation", func(t *testing.T) {
		ah.clock.add(time.Minute)
		c := login2(t, ah, MethodTOTP, MethodRecovery)
		ah.clock.add(SecondFactorTTL)
		if _, err := ah.CompleteSecondFactor(t.Context(), c, totpCode(t, secret, ah.clock.now())); !errors.Is(err, ErrBadSecondFactor) {
			t.Fatalf("an expired continuation: %v", err)
		}
	})

	t.Run("hostile codes", func(t *testing.T) {
		for _, code := range []string{"", strings.Repeat("1", 1<<16), "12345", "1234567", "abcdef", "\x00\x00\x00\x00\x00\x00", "ｑ１２３４５"} {
			ah.s.UnlockUser(SystemActor, u.ID)
			c := login2(t, ah, MethodTOTP, MethodRecovery)
			if _, err := ah.CompleteSecondFactor(t.Context(), c, code); !errors.Is(err, ErrBadSecondFactor) {
				t.Fatalf("code %.20q: %v", code, err)
			}
		}
		for _, c := range []string{"", "x", strings.Repeat("a", 200)} {
			if _, err := ah.CompleteSecondFactor(t.Context(), c, totpCode(t, secret, ah.clock.now())); !errors.Is(err, ErrBadSecondFactor) {
				t.Fatalf("continuation %.20q: %v", c, err)
			}
		}
	})
}

func TestSecondFactorThrottle(t *testing.T) {
	ah := mustAccounts(t) // MaxAttempts 3
	u, secret, _ := mustTOTPUser(t, ah)
	ah.clock.add(30 * time.Second)

	// A right password does not reset the count while the login waits
	// for its code, so a guesser who knows it cannot start over.
	c := login2(t, ah, MethodTOTP, MethodRecovery)
	for i := 0; i < 2; i++ {
		if _, err := ah.CompleteSecondFactor(t.Context(), c, "000001"); !errors.Is(err, ErrBadSecondFactor) {
			t.Fatal(err)
		}
	}
	c = login2(t, ah, MethodTOTP, MethodRecovery)
	got, _ := ah.s.FindUserByID(u.ID)
	if got.LoginAttempts != 2 {
		t.Fatalf("attempts %d after two wrong codes and a right password", got.LoginAttempts)
	}
	// The third failure starts the wait; in it even the right code fails.
	if _, err := ah.CompleteSecondFactor(t.Context(), c, "000002"); !errors.Is(err, ErrBadSecondFactor) {
		t.Fatal(err)
	}
	if waiting, _ := ah.s.LoginThrottled(u.ID); !waiting {
		t.Fatal("three wrong codes did not slow the account down")
	}
	if _, err := ah.CompleteSecondFactor(t.Context(), c, totpCode(t, secret, ah.clock.now())); !errors.Is(err, ErrBadSecondFactor) {
		t.Fatalf("the right code in the wait: %v", err)
	}
	// The wait over, a third wrong code with this continuation kills it:
	// even once an admin unlocks the account, the right code is refused.
	ah.clock.add(ThrottleBase)
	if _, err := ah.CompleteSecondFactor(t.Context(), c, "000003"); !errors.Is(err, ErrBadSecondFactor) {
		t.Fatal(err)
	}
	ah.s.UnlockUser(SystemActor, u.ID)
	if _, err := ah.CompleteSecondFactor(t.Context(), c, totpCode(t, secret, ah.clock.now())); !errors.Is(err, ErrBadSecondFactor) {
		t.Fatalf("a continuation after %d wrong codes must be dead: %v", maxContinuationFails, err)
	}
	ah.s.UnlockUser(SystemActor, u.ID)
	c = login2(t, ah, MethodTOTP, MethodRecovery)
	res, err := ah.CompleteSecondFactor(t.Context(), c, totpCode(t, secret, ah.clock.now()))
	if err != nil {
		t.Fatal(err)
	}
	if res.User.LoginAttempts != 0 {
		t.Errorf("attempts %d after a full login", res.User.LoginAttempts)
	}
}

func TestRemoveAndClearSecondFactors(t *testing.T) {
	ah := mustAccounts(t)
	u, secret, _ := mustTOTPUser(t, ah)
	err := ah.RemoveTOTP(t.Context(), UserActor(u), u.ID, otherPassword, "")
	wantCode(t, err, EINVALID)
	err = ah.RemoveTOTP(t.Context(), UserActor(u), u.ID, "", "")
	wantCode(t, err, EINVALID)
	// The confirming code is spent.
	err = ah.RemoveTOTP(t.Context(), UserActor(u), u.ID, "", totpCode(t, secret, ah.clock.now()))
	wantCode(t, err, EINVALID)
	ah.clock.add(30 * time.Second)
	if err := ah.RemoveTOTP(t.Context(), UserActor(u), u.ID, "", totpCode(t, secret, ah.clock.now())); err != nil {
		t.Fatal(err)
	}
	if st, _ := ah.s.SecondFactors(u.ID); st.Any() || st.RecoveryCodesLeft != 0 {
		t.Fatalf("after removal %+v", st)
	}
	if res, err := ah.Login(t.Context(), "ada", goodPassword); err != nil || res.Token == "" {
		t.Fatalf("login after removal: %v", err)
	}
	if eventCount(t, ah.s, EventTOTPRemoved) != 1 {
		t.Error("no totp-removed event")
	}

	// Turn it on again, add a passkey as the passkey code stores it, and
	// let an admin clear them.
	setup, _ := ah.s.BeginTOTP(u.ID)
	if _, err := ah.s.ConfirmTOTP(UserActor(u), u.ID, totpCode(t, setup.Secret, ah.clock.now())); err != nil {
		t.Fatal(err)
	}
	if err := ah.s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPasskeys).Put(append(itob(u.ID), "cred-1"...), []byte("{}"))
	}); err != nil {
		t.Fatal(err)
	}
	c := login2(t, ah, MethodTOTP, MethodRecovery, MethodPasskey)

	editor := Actor{Kind: "user", ID: 99, Name: "ed", Role: RoleEditor}
	// ada signed up through a default link: check her role, and make an
	// Admin of her to test the ceiling.
	admin := RoleAdmin
	if _, err := ah.s.UpdateUser(SystemActor, u.ID, UserUpdate{RootRole: &admin}); err != nil {
		t.Fatal(err)
	}
	if _, err := ah.s.ClearSecondFactors(editor, u.ID); ErrorCode(err) != EFORBIDDEN {
		t.Fatalf("an Editor clearing an Admin's factors: %v", err)
	}
	if _, err := ah.s.ClearSecondFactors(SystemActor, 12345); ErrorCode(err) != ENOTFOUND {
		t.Fatalf("unknown user: %v", err)
	}
	if _, err := ah.s.ClearSecondFactors(SystemActor, u.ID); err != nil {
		t.Fatal(err)
	}
	st, _ := ah.s.SecondFactors(u.ID)
	if st.Any() || st.Passkeys != 0 || st.RecoveryCodesLeft != 0 {
		t.Fatalf("after clearing %+v", st)
	}
	if _, err := ah.CompleteSecondFactor(t.Context(), c, "000000"); !errors.Is(err, ErrBadSecondFactor) {
		t.Fatalf("the pending login survived the clearing: %v", err)
	}
	if eventCount(t, ah.s, EventSecondFactorsCleared) != 1 {
		t.Error("no second-factors-cleared event")
	}
	if res, err := ah.Login(t.Context(), "ada", goodPassword); err != nil || res.Token == "" {
		t.Fatalf("login after clearing: %v", err)
	}
}

func TestRequireSecondFactorSetupAtLogin(t *testing.T) {
	ah := mustAccounts(t)
	link := mustLink(t, ah.s, ah.clock, NewSignupToken{ExpiresAt: ah.clock.now().Add(24 * 365 * time.Hour)})
	u, err := ah.SignupWithLink(t.Context(), link.Secret, account("ada@example.com", "ada", goodPassword))
	if err != nil {
		t.Fatal(err)
	}
	ah.RequireSecondFactor = []Role{u.RootRole}
	_, err = ah.Login(t.Context(), "ada", goodPassword)
	if !errors.Is(err, ErrSecondFactorSetupRequired) {
		t.Fatalf("login without a required factor: %v", err)
	}
	c := login2(t, ah, MethodTOTPSetup)
	// No code can finish it before the setup starts.
	if _, err := ah.CompleteSecondFactor(t.Context(), c, "123456"); !errors.Is(err, ErrBadSecondFactor) {
		t.Fatal(err)
	}
	if _, err := ah.BeginTOTPAtLogin("nope"); !errors.Is(err, ErrBadSecondFactor) {
		t.Fatalf("setup with a bad continuation: %v", err)
	}
	setup, err := ah.BeginTOTPAtLogin(c)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ah.CompleteSecondFactor(t.Context(), c, totpCode(t, setup.Secret, ah.clock.now()))
	if err != nil || res.Token == "" || len(res.RecoveryCodes) != RecoveryCodeCount {
		t.Fatalf("setup at login: %+v %v", res, err)
	}
	// From now on the login asks for the code.
	c = login2(t, ah, MethodTOTP, MethodRecovery)
	if _, err := ah.BeginTOTPAtLogin(c); ErrorCode(err) != EINVALID {
		t.Fatalf("a setup at login with a factor already: %v", err)
	}
}

// A passkey as the second step: only an assertion of the continuation's
// user finishes it, and it is recorded as a passkey login is.
func TestPasskeyAsSecondFactor(t *testing.T) {
	ah := mustAccounts(t)
	link := mustLink(t, ah.s, ah.clock, NewSignupToken{ExpiresAt: ah.clock.now().Add(24 * 365 * time.Hour)})
	u, err := ah.SignupWithLink(t.Context(), link.Secret, account("ada@example.com", "ada", goodPassword))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ah.s.AddPasskey(UserActor(u), testPasskey(u.ID, "key-1")); err != nil {
		t.Fatal(err)
	}
	c := login2(t, ah, MethodPasskey)
	if _, err := ah.CompleteSecondFactorWithPasskey(c, u.ID+1, []byte("key-1"), PasskeyUse{SignCount: 1}); !errors.Is(err, ErrBadSecondFactor) {
		t.Fatalf("another user's assertion: %v", err)
	}
	if _, err := ah.CompleteSecondFactorWithPasskey(c, u.ID, []byte("gone"), PasskeyUse{SignCount: 1}); !errors.Is(err, ErrPasskeyLogin) {
		t.Fatalf("an unknown passkey: %v", err)
	}
	res, err := ah.CompleteSecondFactorWithPasskey(c, u.ID, []byte("key-1"), PasskeyUse{SignCount: 5, UserVerified: true})
	if err != nil || res.Token == "" {
		t.Fatalf("the passkey step: %+v %v", res, err)
	}
	if amr, err := ah.s.SessionAMR(res.Token); err != nil || !slices.Equal(amr, []string{"pwd", "pop", "mfa"}) {
		t.Errorf("the session's methods: %v, %v; want pwd pop mfa", amr, err)
	}
	if pk, _ := ah.s.FindPasskey(u.ID, []byte("key-1")); pk.SignCount != 5 || pk.LastUsedAt == nil {
		t.Errorf("the use was not recorded: %+v", pk)
	}
	if _, err := ah.CompleteSecondFactorWithPasskey(c, u.ID, []byte("key-1"), PasskeyUse{SignCount: 6}); !errors.Is(err, ErrBadSecondFactor) {
		t.Fatalf("a used continuation: %v", err)
	}
}
