package db

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestThrottleWait(t *testing.T) {
	for _, tc := range []struct {
		name string
		th   Throttle
		n    int
		want time.Duration
	}{
		{"no failure", Throttle{MaxAttempts: 3, Max: 15 * time.Minute}, 0, 0},
		{"free failure", Throttle{MaxAttempts: 3, Max: 15 * time.Minute}, 2, 0},
		{"first wait", Throttle{MaxAttempts: 3, Max: 15 * time.Minute}, 3, time.Minute},
		{"doubles", Throttle{MaxAttempts: 3, Max: 15 * time.Minute}, 4, 2 * time.Minute},
		{"doubles again", Throttle{MaxAttempts: 3, Max: 15 * time.Minute}, 6, 8 * time.Minute},
		{"capped", Throttle{MaxAttempts: 3, Max: 15 * time.Minute}, 7, 15 * time.Minute},
		{"capped far out", Throttle{MaxAttempts: 3, Max: 15 * time.Minute}, 1 << 40, 15 * time.Minute},
		{"max below the first wait", Throttle{MaxAttempts: 1, Max: 30 * time.Second}, 1, 30 * time.Second},
		{"zero value: the first failure waits", Throttle{}, 1, time.Minute},
		{"zero value capped", Throttle{}, 50, DefaultLockoutMax},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.th.Wait(tc.n); got != tc.want {
				t.Errorf("Wait(%d) = %v, want %v", tc.n, got, tc.want)
			}
		})
	}
}

// TestLoginThrottling walks an account through failed logins on the
// store's clock: free failures, a wait in which even the right password is
// refused with the wrong-password error, waits that grow and stop at the
// cap, and a good login after the wait that resets everything.
func TestLoginThrottling(t *testing.T) {
	s, clock := mustOpen(t)
	tok := mustLink(t, s, clock, NewSignupToken{})
	u, err := s.RedeemSignupToken(tok.Secret, newUser("ada@example.com", "ada"))
	if err != nil {
		t.Fatal(err)
	}
	th := Throttle{MaxAttempts: 3, Max: 15 * time.Minute}
	record := func(check PasswordCheck) (LoginResult, error) {
		t.Helper()
		res, err := s.RecordLogin(u.ID, check, th, time.Hour)
		if err != nil && !errors.Is(err, ErrBadLogin) {
			t.Fatalf("RecordLogin: %v", err)
		}
		return res, err
	}
	state := func() (attempts int, waiting bool, until *time.Time) {
		t.Helper()
		got, err := s.FindUserByID(u.ID)
		if err != nil {
			t.Fatal(err)
		}
		waiting, err = s.LoginThrottled(u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.LoginAttempts, waiting, got.ThrottledUntil
	}
	// wantWait checks that the account waits exactly d from now.
	wantWait := func(attempts int, d time.Duration) {
		t.Helper()
		n, waiting, until := state()
		if n != attempts || !waiting || until == nil || !until.Equal(clock.now().Add(d)) {
			t.Fatalf("attempts %d waiting %v until %v; want %d waiting until %v", n, waiting, until, attempts, clock.now().Add(d))
		}
	}

	for i := 1; i <= 2; i++ {
		_, err := record(PasswordWrong)
		if !errors.Is(err, ErrBadLogin) {
			t.Fatalf("wrong password %d: %v", i, err)
		}
		if n, waiting, _ := state(); n != i || waiting {
			t.Fatalf("after %d free failures: attempts %d waiting %v", i, n, waiting)
		}
	}
	_, wrongErr := record(PasswordWrong)
	wantWait(3, time.Minute)

	// In the wait the right password gets the very error a wrong one
	// gets, opens no session, and moves the wait no further.
	res, err := record(PasswordRight)
	if err == nil || err.Error() != wrongErr.Error() || ErrorCode(err) != ErrorCode(wrongErr) || res.Token != "" {
		t.Fatalf("right password in the wait: %v, token %q; want %v and no session", err, res.Token, wrongErr)
	}
	clock.add(30 * time.Second)
	if _, err := record(PasswordUnchecked); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("unchecked login in the wait: %v", err)
	}
	if _, err := record(PasswordWrong); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("wrong password in the wait: %v", err)
	}
	wantWait(6, 30*time.Second) // every refusal counted, the wait unmoved

	// The wait ends; each further failure waits longer (the count is 7,
	// so 1m·2^4 = 16m), capped at 15m, and never for ever.
	clock.add(30 * time.Second)
	if _, waiting, _ := state(); waiting {
		t.Fatal("still waiting when the wait is over")
	}
	record(PasswordWrong)
	wantWait(7, 15*time.Minute)
	clock.add(15 * time.Minute)
	record(PasswordWrong)
	wantWait(8, 15*time.Minute)

	// An unchecked login that arrives after its wait ended (the race at
	// the wait's end) is refused but starts no new wait.
	clock.add(15 * time.Minute)
	record(PasswordUnchecked)
	if n, waiting, _ := state(); n != 9 || waiting {
		t.Fatalf("late unchecked login: attempts %d waiting %v; want 9, not waiting", n, waiting)
	}

	// The right password after the wait logs in and resets the count.
	res, err = record(PasswordRight)
	if err != nil || res.Token == "" || res.User.LoginAttempts != 0 || res.User.SeenAt == nil {
		t.Fatalf("right password after the wait: %+v, %v", res, err)
	}
	if n, waiting, until := state(); n != 0 || waiting || until != nil {
		t.Fatalf("after a good login: attempts %d waiting %v until %v", n, waiting, until)
	}
	if _, err := s.AuthenticateSession(res.Token); err != nil {
		t.Fatalf("the new session: %v", err)
	}
	// Free failures again after the reset.
	record(PasswordWrong)
	if n, waiting, _ := state(); n != 1 || waiting {
		t.Fatalf("after the reset: attempts %d waiting %v; want 1, not waiting", n, waiting)
	}
	// One user-locked event for the episode, not one per wait.
	if _, total, err := s.ListEvents(EventUserLocked, 0, 10); err != nil || total != 1 {
		t.Fatalf("%d user-locked events (%v), want 1", total, err)
	}
}

// TestLoginWaitsDoubleToTheCap: a guesser who waits out every wait gets
// waits of 1, 2, 4, 8 minutes, then 15 minutes for ever after, never more.
func TestLoginWaitsDoubleToTheCap(t *testing.T) {
	s, clock := mustOpen(t)
	tok := mustLink(t, s, clock, NewSignupToken{})
	u, err := s.RedeemSignupToken(tok.Secret, newUser("ada@example.com", "ada"))
	if err != nil {
		t.Fatal(err)
	}
	th := Throttle{MaxAttempts: 2, Max: 15 * time.Minute}
	if _, err := s.RecordLogin(u.ID, PasswordWrong, th, time.Hour); !errors.Is(err, ErrBadLogin) {
		t.Fatal(err)
	}
	for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15 * time.Minute, 15 * time.Minute} {
		if _, err := s.RecordLogin(u.ID, PasswordWrong, th, time.Hour); !errors.Is(err, ErrBadLogin) {
			t.Fatal(err)
		}
		got, err := s.FindUserByID(u.ID)
		if err != nil || got.ThrottledUntil == nil {
			t.Fatalf("failure %d: no wait (%v)", i+2, err)
		}
		if wait := got.ThrottledUntil.Sub(clock.now()); wait != want {
			t.Fatalf("failure %d: waits %v, want %v", i+2, wait, want)
		}
		clock.add(want)
	}
}

func TestUnlockEndsTheWait(t *testing.T) {
	s, clock := mustOpen(t)
	tok := mustLink(t, s, clock, NewSignupToken{})
	u, err := s.RedeemSignupToken(tok.Secret, newUser("ada@example.com", "ada"))
	if err != nil {
		t.Fatal(err)
	}
	th := Throttle{MaxAttempts: 2, Max: time.Hour}
	for range 2 {
		if _, err := s.RecordLogin(u.ID, PasswordWrong, th, time.Hour); !errors.Is(err, ErrBadLogin) {
			t.Fatal(err)
		}
	}
	if waiting, err := s.LoginThrottled(u.ID); err != nil || !waiting {
		t.Fatalf("waiting %v, %v; want a wait after 2 failures", waiting, err)
	}
	got, err := s.UnlockUser(admin, u.ID)
	if err != nil || got.LoginAttempts != 0 || got.ThrottledUntil != nil {
		t.Fatalf("unlock: %+v, %v", got, err)
	}
	if waiting, err := s.LoginThrottled(u.ID); err != nil || waiting {
		t.Fatalf("waiting %v, %v after unlock", waiting, err)
	}
	if res, err := s.RecordLogin(u.ID, PasswordRight, th, time.Hour); err != nil || res.Token == "" {
		t.Fatalf("right password after unlock: %v", err)
	}
	events, _, err := s.ListEvents(EventUserUnlocked, 0, 10)
	if err != nil || len(events) != 1 || events[0].Data["loginAttempts"] != float64(2) {
		t.Fatalf("unlock events %+v, %v", events, err)
	}
}

// TestSimulateTakesASlot: the hash a throttled login pays is bounded like
// every other, and any stored hash (or none) is fine.
func TestSimulateTakesASlot(t *testing.T) {
	h, err := NewHasher(HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, 1, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash(context.Background(), "secret words here")
	if err != nil {
		t.Fatal(err)
	}
	for _, stored := range []string{hash, "", "not a hash"} {
		if err := h.Simulate(context.Background(), "secret words here", stored); err != nil {
			t.Errorf("Simulate with stored hash %q: %v", stored, err)
		}
	}
	h.slots <- struct{}{}
	if err := h.Simulate(context.Background(), "x", hash); !errors.Is(err, ErrBusy) {
		t.Fatalf("Simulate with no free slot: %v, want ErrBusy", err)
	}
	<-h.slots
}
