package db

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func testPasskey(userID uint64, id string) Passkey {
	return Passkey{UserID: userID, CredentialID: []byte(id), Name: "Laptop " + id, PublicKey: []byte("cose-" + id),
		AttestationType: "none", Transports: []string{"internal"}, UserPresent: true, UserVerified: true}
}

// A passkey is stored under its user, listed oldest first, found by user
// and credential only, removed with an event, and gone with its user.
func TestPasskeyStoreListDelete(t *testing.T) {
	s, clock := mustOpen(t)
	ann := mustMember(t, s, clock, "ann@example.com", "ann", RoleViewer)
	bob := mustMember(t, s, clock, "bob@example.com", "bob", RoleViewer)
	self := UserActor(ann)

	if _, err := s.AddPasskey(self, testPasskey(ann.ID, "zz-first")); err != nil {
		t.Fatal(err)
	}
	clock.add(time.Minute)
	pk, err := s.AddPasskey(self, testPasskey(ann.ID, "aa-second"))
	if err != nil || !pk.CreatedAt.Equal(clock.now().UTC().Truncate(time.Millisecond)) || pk.LastUsedAt != nil {
		t.Fatalf("add: %+v, %v", pk, err)
	}
	if _, err := s.AddPasskey(self, testPasskey(ann.ID, "aa-second")); ErrorCode(err) != ECONFLICT {
		t.Fatalf("the same credential twice: %v", err)
	}
	if _, err := s.AddPasskey(UserActor(bob), testPasskey(bob.ID, "bob-1")); err != nil {
		t.Fatal(err)
	}
	list, err := s.Passkeys(ann.ID)
	if err != nil || len(list) != 2 || string(list[0].CredentialID) != "zz-first" || list[1].Name != "Laptop aa-second" {
		t.Fatalf("list: %+v, %v", list, err)
	}
	// Bob's credential id is not Ann's passkey.
	if _, err := s.FindPasskey(ann.ID, []byte("bob-1")); ErrorCode(err) != ENOTFOUND {
		t.Fatalf("another user's passkey found: %v", err)
	}
	if err := s.DeletePasskey(self, ann.ID, []byte("bob-1")); ErrorCode(err) != ENOTFOUND {
		t.Fatalf("removed another user's passkey: %v", err)
	}
	if err := s.DeletePasskey(self, ann.ID, []byte("zz-first")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePasskey(self, ann.ID, []byte("zz-first")); ErrorCode(err) != ENOTFOUND {
		t.Fatalf("removed twice: %v", err)
	}
	events, _, err := s.ListEvents("", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var added, removed int
	for _, e := range events {
		switch e.Type {
		case EventPasskeyAdded:
			added++
		case EventPasskeyRemoved:
			removed++
			if e.Data["name"] != "Laptop zz-first" || e.ObjectID != fmt.Sprint(ann.ID) {
				t.Errorf("removed event: %+v", e)
			}
		}
	}
	if added != 3 || removed != 1 {
		t.Fatalf("events: %d added, %d removed", added, removed)
	}

	// Deleting Ann deletes her passkeys, and only hers.
	if err := s.DeleteUser(SystemActor, ann.ID); err != nil {
		t.Fatal(err)
	}
	if list, err := s.Passkeys(ann.ID); err != nil || len(list) != 0 {
		t.Fatalf("passkeys outlive their user: %+v, %v", list, err)
	}
	if list, err := s.Passkeys(bob.ID); err != nil || len(list) != 1 {
		t.Fatalf("bob's passkeys: %+v, %v", list, err)
	}
	if _, err := s.AddPasskey(SystemActor, testPasskey(ann.ID, "late")); ErrorCode(err) != ENOTFOUND {
		t.Fatalf("a passkey for a deleted user: %v", err)
	}
}

func TestPasskeyHostileInput(t *testing.T) {
	s, clock := mustOpen(t)
	ann := mustMember(t, s, clock, "ann@example.com", "ann", RoleViewer)
	for name, pk := range map[string]Passkey{
		"no name":         {UserID: ann.ID, CredentialID: []byte("x"), PublicKey: []byte("k"), Name: "  "},
		"long name":       {UserID: ann.ID, CredentialID: []byte("x"), PublicKey: []byte("k"), Name: strings.Repeat("é", MaxPasskeyNameLength+1)},
		"control":         {UserID: ann.ID, CredentialID: []byte("x"), PublicKey: []byte("k"), Name: "a\x00b"},
		"bad utf-8":       {UserID: ann.ID, CredentialID: []byte("x"), PublicKey: []byte("k"), Name: "a\xffb"},
		"no credential":   {UserID: ann.ID, PublicKey: []byte("k"), Name: "n"},
		"huge credential": {UserID: ann.ID, CredentialID: bytes.Repeat([]byte("x"), 1024), PublicKey: []byte("k"), Name: "n"},
		"no key":          {UserID: ann.ID, CredentialID: []byte("x"), Name: "n"},
	} {
		if _, err := s.AddPasskey(SystemActor, pk); ErrorCode(err) != EINVALID {
			t.Errorf("%s: %v, want EINVALID", name, err)
		}
	}
	if _, err := s.AddPasskey(SystemActor, Passkey{UserID: 9999, CredentialID: []byte("x"), PublicKey: []byte("k"), Name: "n"}); ErrorCode(err) != ENOTFOUND {
		t.Errorf("unknown user: %v", err)
	}
	for i := range MaxPasskeysPerUser {
		if _, err := s.AddPasskey(SystemActor, testPasskey(ann.ID, fmt.Sprint("k", i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddPasskey(SystemActor, testPasskey(ann.ID, "one-too-many")); ErrorCode(err) != EINVALID {
		t.Fatalf("over the limit: %v", err)
	}
	for _, h := range [][]byte{nil, {1}, make([]byte, 9)} {
		if id := UserIDFromPasskeyHandle(h); id != 0 {
			t.Errorf("handle %x read as user %d", h, id)
		}
	}
	if id := UserIDFromPasskeyHandle(PasskeyUserHandle(ann.ID)); id != ann.ID {
		t.Errorf("handle round trip: %d", id)
	}
}

// A passkey login records the use, opens a session, refuses a counter
// that does not move forward, a disabled user and a removed passkey.
func TestPasskeyLogin(t *testing.T) {
	s, clock := mustOpen(t)
	ann := mustMember(t, s, clock, "ann@example.com", "ann", RoleViewer)
	pk := testPasskey(ann.ID, "c1")
	pk.SignCount = 5
	if _, err := s.AddPasskey(UserActor(ann), pk); err != nil {
		t.Fatal(err)
	}
	res, err := s.PasskeyLogin(ann.ID, pk.CredentialID, PasskeyUse{SignCount: 6}, time.Hour)
	if err != nil || res.Token == "" || res.User.ID != ann.ID || res.User.SeenAt == nil {
		t.Fatalf("login: %+v, %v", res, err)
	}
	if u, err := s.AuthenticateSession(res.Token); err != nil || u.ID != ann.ID {
		t.Fatalf("session: %+v, %v", u, err)
	}
	// Without user verification a passkey is one factor; with it, two.
	if amr, err := s.SessionAMR(res.Token); err != nil || !slices.Equal(amr, []string{"pop"}) {
		t.Errorf("the methods of a login without user verification: %v, %v; want pop", amr, err)
	}
	got, _ := s.FindPasskey(ann.ID, pk.CredentialID)
	if got.SignCount != 6 || got.LastUsedAt == nil {
		t.Fatalf("use not recorded: %+v", got)
	}
	for _, n := range []uint32{6, 3, 0} {
		if _, err := s.PasskeyLogin(ann.ID, pk.CredentialID, PasskeyUse{SignCount: n}, time.Hour); err != ErrPasskeyLogin {
			t.Errorf("counter %d after 6: %v", n, err)
		}
	}
	if _, err := s.PasskeyLogin(ann.ID+1, pk.CredentialID, PasskeyUse{SignCount: 9}, time.Hour); err != ErrPasskeyLogin {
		t.Errorf("wrong user: %v", err)
	}
	if _, err := s.DisableUser(SystemActor, ann.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PasskeyLogin(ann.ID, pk.CredentialID, PasskeyUse{SignCount: 9}, time.Hour); err != ErrAccountDisabled {
		t.Errorf("disabled user: %v", err)
	}
	if _, err := s.EnableUser(SystemActor, ann.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePasskey(UserActor(ann), ann.ID, pk.CredentialID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PasskeyLogin(ann.ID, pk.CredentialID, PasskeyUse{SignCount: 10}, time.Hour); err != ErrPasskeyLogin {
		t.Errorf("removed passkey: %v", err)
	}

	// An authenticator that keeps no counter (always 0) logs in each time.
	zero := testPasskey(ann.ID, "c0")
	if _, err := s.AddPasskey(UserActor(ann), zero); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.PasskeyLogin(ann.ID, zero.CredentialID, PasskeyUse{}, time.Hour); err != nil {
			t.Fatalf("counterless passkey: %v", err)
		}
	}
	uv, err := s.PasskeyLogin(ann.ID, zero.CredentialID, PasskeyUse{UserVerified: true}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if amr, err := s.SessionAMR(uv.Token); err != nil || !slices.Equal(amr, []string{"pop", "mfa"}) {
		t.Errorf("the methods of a login with user verification: %v, %v; want pop mfa", amr, err)
	}
}
