package db

import (
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// wantAppIDError checks that err is EINVALID naming appId.
func wantAppIDError(tb testing.TB, err error) {
	tb.Helper()
	wantCode(tb, err, EINVALID)
	wantField(tb, err, "appId")
}

func TestAppIDStoredAndValidated(t *testing.T) {
	s, clock := mustOpen(t)
	mustApp(t, s, NewApp{ID: "grafana", Name: "Grafana", URL: "https://grafana.example.com", Domains: []string{"grafana.example.com"}})
	mustApp(t, s, NewApp{ID: "wiki", Name: "Wiki", URL: "https://wiki.example.com", Kind: AppKindOIDC, RedirectURIs: []string{"https://wiki.example.com/cb"}})

	link := mustLink(t, s, clock, NewSignupToken{AppID: " grafana "})
	if link.AppID != "grafana" {
		t.Fatalf("link appId %q, want grafana", link.AppID)
	}
	got, err := s.FindSignupToken(admin, link.Secret)
	if err != nil || got.AppID != "grafana" {
		t.Fatalf("read back: %q, %v", got.AppID, err)
	}
	// Update: another app (an oidc one), then none.
	upd, err := s.UpdateSignupToken(admin, link.Secret, SignupTokenUpdate{AppID: ptr("wiki")})
	if err != nil || upd.AppID != "wiki" {
		t.Fatalf("update to wiki: %q, %v", upd.AppID, err)
	}
	upd, err = s.UpdateSignupToken(admin, link.Secret, SignupTokenUpdate{AppID: ptr("")})
	if err != nil || upd.AppID != "" {
		t.Fatalf("update to none: %q, %v", upd.AppID, err)
	}

	inv, err := s.CreateInvitation(admin, NewInvitation{Email: "ina@example.com", DefaultTTL: time.Hour, AppID: "wiki"})
	if err != nil || inv.AppID != "wiki" {
		t.Fatalf("invitation appId %q, %v", inv.AppID, err)
	}
	if again, err := s.GetInvitation(admin, inv.ID); err != nil || again.AppID != "wiki" {
		t.Fatalf("invitation read back %q, %v", again.AppID, err)
	}

	// Hostile and unknown ids: a 400 on appId, and nothing made.
	for _, id := range []string{"nope", "Grafana", "../grafana", "grafana\x00", "a b", "<script>", string(make([]byte, 70))} {
		_, err := s.CreateSignupToken(admin, NewSignupToken{Name: "x", ExpiresAt: clock.now().Add(time.Hour), AppID: id})
		wantAppIDError(t, err)
		_, err = s.UpdateSignupToken(admin, link.Secret, SignupTokenUpdate{AppID: &id})
		wantAppIDError(t, err)
		_, err = s.CreateInvitation(admin, NewInvitation{Email: "x@example.com", DefaultTTL: time.Hour, AppID: id})
		wantAppIDError(t, err)
	}
	links, _ := s.ListSignupTokens(admin)
	if len(links) != 1 {
		t.Fatalf("%d links, want 1: a refused create made one", len(links))
	}
}

func TestDeleteAppClearsLinksAndInvitations(t *testing.T) {
	s, clock := mustOpen(t)
	mustApp(t, s, NewApp{ID: "grafana", Name: "Grafana", Domains: []string{"grafana.example.com"}})
	mustApp(t, s, NewApp{ID: "other", Name: "Other", Domains: []string{"other.example.com"}})
	link := mustLink(t, s, clock, NewSignupToken{AppID: "grafana"})
	keep := mustLink(t, s, clock, NewSignupToken{AppID: "other"})
	inv, err := s.CreateInvitation(admin, NewInvitation{Email: "ina@example.com", DefaultTTL: time.Hour, AppID: "grafana"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteApp(admin, "grafana"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.FindSignupToken(admin, link.Secret); got.AppID != "" || !got.Enabled {
		t.Fatalf("link after the app's deletion: appId %q enabled %v, want none and still enabled", got.AppID, got.Enabled)
	}
	if got, _ := s.FindSignupToken(admin, keep.Secret); got.AppID != "other" {
		t.Fatalf("another app's link lost its app: %q", got.AppID)
	}
	if got, _ := s.GetInvitation(admin, inv.ID); got.AppID != "" || got.State != InvitationPending {
		t.Fatalf("invitation after the app's deletion: %+v", got)
	}
	// The validate cache saw the change too: the link still works.
	if err := s.CheckSignupToken(link.Secret, ""); err != nil {
		t.Fatal(err)
	}
	events, _, err := s.ListEvents(EventAppDeleted, 0, 10)
	if err != nil || len(events) != 1 || events[0].Data["links"] != float64(1) || events[0].Data["invitations"] != float64(1) {
		t.Fatalf("app-deleted events %+v, %v: want one counting 1 link and 1 invitation", events, err)
	}
}

func TestJoinSignsInOnlyWithAnApp(t *testing.T) {
	ah := mustAccountsMode(t, VerifyEmailNever)
	mustApp(t, ah.s, NewApp{ID: "grafana", Name: "Grafana", URL: "https://grafana.example.com/", Domains: []string{"grafana.example.com"}})
	plain := mustLink(t, ah.s, ah.clock, NewSignupToken{})
	withApp := mustLink(t, ah.s, ah.clock, NewSignupToken{AppID: "grafana"})

	// No app: nobody is signed in, even when asked.
	j, err := ah.JoinWithLink(t.Context(), plain.Secret, account("a@example.com", "aauser", goodPassword), true)
	if err != nil || j.App != nil || j.Login.Token != "" || j.Login.SecondFactor != nil {
		t.Fatalf("join without an app: %+v, %v", j, err)
	}
	// The app, but not asked (the JSON signup): no session either.
	j, err = ah.JoinWithLink(t.Context(), withApp.Secret, account("b@example.com", "bbuser", goodPassword), false)
	if err != nil || j.App == nil || j.App.ID != "grafana" || j.Login.Token != "" {
		t.Fatalf("join not asked to sign in: %+v, %v", j, err)
	}
	// Asked, with the app: a real session of the new user.
	j, err = ah.JoinWithLink(t.Context(), withApp.Secret, account("c@example.com", "ccuser", goodPassword), true)
	if err != nil || j.App == nil || j.Login.Token == "" {
		t.Fatalf("join with an app: %+v, %v", j, err)
	}
	u, err := ah.s.AuthenticateSession(j.Login.Token)
	if err != nil || u.ID != j.User.ID || u.Email != "c@example.com" {
		t.Fatalf("the join's session is %+v, %v", u, err)
	}
	if u.SeenAt == nil {
		t.Fatal("the join's sign-in did not set seenAt, as a login does")
	}

	// An invitation with the app signs in too.
	inv, err := ah.s.CreateInvitation(admin, NewInvitation{Email: "d@example.com", DefaultTTL: time.Hour, AppID: "grafana"})
	if err != nil {
		t.Fatal(err)
	}
	j, err = ah.JoinInvitation(t.Context(), inv.Token, account("", "dduser", goodPassword), true)
	if err != nil || j.App == nil || j.Login.Token == "" || j.User.Email != "d@example.com" {
		t.Fatalf("accept with an app: %+v, %v", j, err)
	}
}

func TestJoinDoesNotSignInUnverifiedOrRefusedOrSecondFactor(t *testing.T) {
	ah := mustAccountsMode(t, VerifyEmailAlways)
	ah.RequireSecondFactor = []Role{RoleAdmin}
	ops := mustGroup(t, ah.s, "ops")
	mustApp(t, ah.s, NewApp{ID: "grafana", Name: "Grafana", Domains: []string{"grafana.example.com"}})
	mustApp(t, ah.s, NewApp{ID: "ops-only", Name: "Ops", Domains: []string{"ops.example.com"}, Groups: []string{ops.ID}})

	// An address still to verify: no session, the app is named.
	link := mustLink(t, ah.s, ah.clock, NewSignupToken{AppID: "grafana"})
	j, err := ah.JoinWithLink(t.Context(), link.Secret, account("v@example.com", "vvuser", goodPassword), true)
	if err != nil || j.Login.Token != "" || j.Login.SecondFactor != nil || j.App == nil || j.User.EmailVerified {
		t.Fatalf("unverified join: %+v, %v", j, err)
	}
	if app, ok, err := ah.s.JoinedApp(j.User); err != nil || !ok || app.ID != "grafana" {
		t.Fatalf("JoinedApp of the unverified user: %+v %v %v", app, ok, err)
	}

	// An app whose groups do not admit the invitee: no session.
	inv, err := ah.s.CreateInvitation(admin, NewInvitation{Email: "o@example.com", DefaultTTL: time.Hour, AppID: "ops-only"})
	if err != nil {
		t.Fatal(err)
	}
	j, err = ah.JoinInvitation(t.Context(), inv.Token, account("", "oouser", goodPassword), true)
	if err != nil || j.Login.Token != "" || j.Login.SecondFactor != nil {
		t.Fatalf("join into an app that does not admit the user: %+v, %v", j, err)
	}

	// A role that must have a second factor: the login's second step
	// (set one up), never a session.
	inv, err = ah.s.CreateInvitation(admin, NewInvitation{Email: "adm@example.com", DefaultTTL: time.Hour, AppID: "grafana", Role: RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	j, err = ah.JoinInvitation(t.Context(), inv.Token, account("", "admadmuser", goodPassword), true)
	if err != nil || j.Login.Token != "" || j.Login.SecondFactor == nil ||
		len(j.Login.SecondFactor.Methods) != 1 || j.Login.SecondFactor.Methods[0] != MethodTOTPSetup {
		t.Fatalf("join of a role that must have a second factor: %+v, %v", j, err)
	}
	sessions := 0
	_ = ah.s.db.View(func(tx *bolt.Tx) error { sessions = tx.Bucket(bucketSessions).Stats().KeyN; return nil })
	if sessions != 0 {
		t.Fatalf("%d sessions, want none", sessions)
	}
}
