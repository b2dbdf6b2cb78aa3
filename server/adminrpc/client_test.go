package adminrpc

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"invited/db"
	"invited/tui"
)

// The client must offer the TUI everything the store does.
var _ tui.Backend = (*Client)(nil)

// startSocket serves store on a fresh admin socket until the test ends,
// with extra methods beside the real ones, and returns the socket's path.
func startSocket(t *testing.T, store *db.Store, extra map[string]handler) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "admin.sock")
	a, err := Listen(sock, store, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if len(extra) > 0 {
		a.methods = maps.Clone(a.methods)
		maps.Copy(a.methods, extra)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode: %v %v, want 0600", fi.Mode(), err)
	}
	return sock
}

// backendOverSocket gives a fresh store, and the same store behind a
// running admin socket with a client on it.
func backendOverSocket(t *testing.T) (tui.Backend, *db.Store) {
	t.Helper()
	store, err := db.Open(filepath.Join(t.TempDir(), "c.db"), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	c, err := Dial(t.Context(), startSocket(t, store, nil))
	if err != nil {
		t.Fatal(err)
	}
	return c, store
}

func backendDirect(t *testing.T) (tui.Backend, *db.Store) {
	t.Helper()
	store, err := db.Open(filepath.Join(t.TempDir(), "c.db"), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return tui.DirectBackend(store), store
}

// TestBackendConformance runs one suite against the store and against the
// socket client: same results, same error codes and field details.
func TestBackendConformance(t *testing.T) {
	for name, open := range map[string]func(*testing.T) (tui.Backend, *db.Store){
		"store": backendDirect, "socket": backendOverSocket,
	} {
		t.Run(name, func(t *testing.T) { backendSuite(t, open) })
	}
}

func wantCode(t *testing.T, what string, err error, code db.Code) {
	t.Helper()
	if db.ErrorCode(err) != code {
		t.Fatalf("%s: error %v (code %q), want %q", what, err, db.ErrorCode(err), code)
	}
}

func backendSuite(t *testing.T, open func(*testing.T) (tui.Backend, *db.Store)) {
	b, store := open(t)
	ctx := t.Context()
	admin := db.Actor{Kind: "tui", Name: "root", Role: db.RoleAdmin}
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)

	// Links.
	tok, err := b.CreateSignupToken(ctx, admin, db.NewSignupToken{Name: "Crew", ExpiresAt: expires, MaxUses: new(3), AllowedDomains: []string{"Example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if !db.ValidSecret(tok.Secret) || !tok.ExpiresAt.Equal(expires) || tok.AllowedDomains[0] != "example.com" {
		t.Fatalf("created link %+v", tok)
	}
	_, err = b.CreateSignupToken(ctx, admin, db.NewSignupToken{Name: "", ExpiresAt: expires})
	wantCode(t, "link without name", err, db.EINVALID)
	if e := err.(*db.Error); len(e.Details) != 1 || e.Details[0].Path != "name" {
		t.Fatalf("details lost: %+v", e)
	}
	off := false
	tok, err = b.UpdateSignupToken(ctx, admin, tok.Secret, db.SignupTokenUpdate{Enabled: &off})
	if err != nil || tok.Enabled {
		t.Fatalf("disable: %+v %v", tok, err)
	}
	_, err = b.UpdateSignupToken(ctx, admin, "0123456789abcdef0123456789abcdef", db.SignupTokenUpdate{Enabled: &off})
	wantCode(t, "update unknown link", err, db.ENOTFOUND)
	on := true
	if _, err := b.UpdateSignupToken(ctx, admin, tok.Secret, db.SignupTokenUpdate{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	u, err := store.RedeemSignupToken(tok.Secret, db.NewUser{Email: "ada@example.com", Name: "Ada", Username: "ada", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := b.ListSignupTokens(ctx, admin)
	if err != nil || len(tokens) != 1 || len(tokens[0].Users) != 1 || tokens[0].Users[0].Email != "ada@example.com" || tokens[0].Uses != 1 {
		t.Fatalf("list links: %+v %v", tokens, err)
	}

	// Users.
	users, total, err := b.ListUsers(ctx, 0, 10)
	if err != nil || total != 1 || users[0].ID != u.ID || users[0].OrganizationID != db.DefaultOrganization {
		t.Fatalf("list users: %+v %d %v", users, total, err)
	}
	role := db.RoleEditor
	got, err := b.UpdateUser(ctx, admin, u.ID, db.UserUpdate{RootRole: &role})
	if err != nil || got.RootRole != db.RoleEditor {
		t.Fatalf("change role: %+v %v", got, err)
	}

	// SSH keys of the Editor: added, listed, refused when bad or taken,
	// removed, with the same codes both ways.
	sshPub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	sshPK, err := ssh.NewPublicKey(sshPub)
	if err != nil {
		t.Fatal(err)
	}
	sshLine := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sshPK))) + " ada@laptop"
	sk, err := b.AddSSHKey(ctx, admin, u.ID, "", sshLine)
	if err != nil || sk.Name != "ada@laptop" || !strings.HasPrefix(sk.Fingerprint, "SHA256:") {
		t.Fatalf("add ssh key: %+v %v", sk, err)
	}
	_, err = b.AddSSHKey(ctx, admin, u.ID, "again", sshLine)
	wantCode(t, "the same ssh key twice", err, db.ECONFLICT)
	_, err = b.AddSSHKey(ctx, admin, u.ID, "bad", "ssh-ed25519 nope")
	wantCode(t, "a bad ssh key", err, db.EINVALID)
	if keys, err := b.ListSSHKeys(ctx, admin, u.ID); err != nil || len(keys) != 1 || keys[0].ID != sk.ID {
		t.Fatalf("list ssh keys: %+v %v", keys, err)
	}
	_, err = b.ListSSHKeys(ctx, db.Actor{Kind: "user", ID: 77, Name: "ed", Role: db.RoleEditor}, u.ID)
	wantCode(t, "another Editor's ssh keys", err, db.EFORBIDDEN)
	if err := b.DeleteSSHKey(ctx, admin, u.ID, sk.ID); err != nil {
		t.Fatalf("delete ssh key: %v", err)
	}
	wantCode(t, "delete a deleted ssh key", b.DeleteSSHKey(ctx, admin, u.ID, sk.ID), db.ENOTFOUND)
	if got, err = b.UnlockUser(ctx, admin, u.ID); err != nil || got.LoginAttempts != 0 {
		t.Fatalf("unlock: %+v %v", got, err)
	}
	_, err = b.UnlockUser(ctx, admin, 999)
	wantCode(t, "unlock unknown", err, db.ENOTFOUND)
	if got, err = b.ClearSecondFactors(ctx, admin, u.ID); err != nil || got.ID != u.ID {
		t.Fatalf("clear second factors: %+v %v", got, err)
	}
	_, err = b.ClearSecondFactors(ctx, admin, 999)
	wantCode(t, "clear second factors of unknown", err, db.ENOTFOUND)
	_, err = b.ClearSecondFactors(ctx, db.Actor{Kind: "user", ID: 77, Name: "vi", Role: db.RoleViewer}, u.ID)
	wantCode(t, "clear second factors above the ceiling", err, db.EFORBIDDEN)
	if got, err = b.DisableUser(ctx, admin, u.ID); err != nil || !got.Disabled {
		t.Fatalf("disable: %+v %v", got, err)
	}
	if got, err = b.EnableUser(ctx, admin, u.ID); err != nil || got.Disabled {
		t.Fatalf("enable: %+v %v", got, err)
	}
	_, err = b.DisableUser(ctx, admin, 999)
	wantCode(t, "disable unknown", err, db.ENOTFOUND)

	// Approval: the link's field crosses the socket, and so do the count,
	// approve and reject with their errors.
	requireIt := true
	approval, err := b.CreateSignupToken(ctx, admin, db.NewSignupToken{Name: "Waiting room", ExpiresAt: expires, Role: db.RoleEditor})
	if err != nil {
		t.Fatal(err)
	}
	if approval, err = b.UpdateSignupToken(ctx, admin, approval.Secret, db.SignupTokenUpdate{RequireApproval: &requireIt}); err != nil || !approval.RequireApproval {
		t.Fatalf("require approval: %+v %v", approval, err)
	}
	var waiting []db.User
	for _, email := range []string{"w1@example.org", "w2@example.org"} {
		w, err := store.RedeemSignupToken(approval.Secret, db.NewUser{Email: email, Name: "W", PasswordHash: "x"})
		if err != nil || !w.PendingApproval {
			t.Fatalf("waiting signup: %+v %v", w, err)
		}
		waiting = append(waiting, w)
	}
	if n, err := b.CountPendingUsers(ctx); err != nil || n != 2 {
		t.Fatalf("pending count %d %v", n, err)
	}
	if got, err = b.ApproveUser(ctx, admin, waiting[0].ID); err != nil || got.PendingApproval {
		t.Fatalf("approve: %+v %v", got, err)
	}
	_, err = b.ApproveUser(ctx, admin, waiting[0].ID)
	wantCode(t, "approve twice", err, db.EINVALID)
	_, err = b.RejectUser(ctx, admin, u.ID)
	wantCode(t, "reject an active user", err, db.EINVALID)
	_, err = b.RejectUser(ctx, db.Actor{Kind: "user", ID: 77, Name: "vi", Role: db.RoleViewer}, waiting[1].ID)
	wantCode(t, "reject above the ceiling", err, db.EFORBIDDEN)
	if got, err = b.RejectUser(ctx, admin, waiting[1].ID); err != nil || got.Email != "w2@example.org" {
		t.Fatalf("reject: %+v %v", got, err)
	}
	_, err = b.ApproveUser(ctx, admin, 999)
	wantCode(t, "approve unknown", err, db.ENOTFOUND)
	if n, err := b.CountPendingUsers(ctx); err != nil || n != 0 {
		t.Fatalf("pending count after %d %v", n, err)
	}

	// Organizations.
	org, err := b.CreateOrganization(ctx, admin, "", "Night Shift")
	if err != nil || org.ID != "night-shift" {
		t.Fatalf("create org: %+v %v", org, err)
	}
	_, err = b.CreateOrganization(ctx, admin, "night-shift", "Again")
	wantCode(t, "duplicate org", err, db.ECONFLICT)
	orgs, err := b.ListOrganizations(ctx)
	if err != nil || len(orgs) != 2 {
		t.Fatalf("orgs: %+v %v", orgs, err)
	}

	// Invitations.
	inv, err := b.CreateInvitation(ctx, admin, db.NewInvitation{Email: "grace@example.com", DefaultTTL: time.Hour, Inviter: "Root", OrgID: "night-shift", Labels: []db.Label{{Key: "team", Value: "ops"}}})
	if err != nil || inv.Token == "" || inv.State != db.InvitationPending || inv.OrgID != "night-shift" {
		t.Fatalf("invite: %+v %v", inv, err)
	}
	_, err = b.CreateInvitation(ctx, admin, db.NewInvitation{Email: "GRACE@example.com", DefaultTTL: time.Hour})
	wantCode(t, "second pending invitation", err, db.ECONFLICT)
	_, err = b.CreateInvitation(ctx, admin, db.NewInvitation{Email: "ada@example.com", DefaultTTL: time.Hour})
	wantCode(t, "invite an existing user", err, db.ECONFLICT)
	err = b.DeleteOrganization(ctx, admin, "night-shift")
	wantCode(t, "delete org in use", err, db.EINVALID)
	resent, err := b.ResendInvitation(ctx, admin, inv.ID)
	if err != nil || resent.Token == "" || resent.Token == inv.Token {
		t.Fatalf("resend: %+v %v", resent, err)
	}
	list, next, err := b.ListInvitations(ctx, admin, db.InvitationPending, 0, 10)
	if err != nil || len(list) != 1 || next != 0 || list[0].Token != "" || len(list[0].Labels) != 1 {
		t.Fatalf("list invitations: %+v %d %v", list, next, err)
	}
	revoked, err := b.RevokeInvitation(ctx, admin, inv.ID)
	if err != nil || revoked.State != db.InvitationRevoked {
		t.Fatalf("revoke: %+v %v", revoked, err)
	}
	_, err = b.ResendInvitation(ctx, admin, inv.ID)
	wantCode(t, "resend revoked", err, db.EINVALID)
	if err := b.DeleteOrganization(ctx, admin, "night-shift"); err != nil {
		t.Fatal(err)
	}

	// A batch: a result per row, in order, with the same codes either way.
	results, err := b.CreateInvitationBatch(ctx, admin, db.NewInvitationBatch{DefaultTTL: time.Hour, Inviter: "Root", Rows: []db.BatchRow{
		{Email: "ada@example.com"}, {Email: "linus@example.com", Role: db.RoleEditor}, {Email: "LINUS@example.com"}, {Email: "nobody"},
	}})
	if err != nil || len(results) != 4 {
		t.Fatalf("batch: %+v %v", results, err)
	}
	for i, want := range []string{db.BatchHasAccount, db.BatchInvited, db.BatchAlreadyInvited, db.BatchInvalid} {
		if results[i].Status != want || (want == db.BatchInvited) != (results[i].Invitation != nil) || (want == db.BatchInvited) == (results[i].Err != nil) {
			t.Fatalf("batch row %d: %+v, want %s", i+1, results[i], want)
		}
	}
	if results[1].Invitation.Token == "" || results[1].Invitation.Role != db.RoleEditor || results[3].Err.Code != db.EINVALID {
		t.Fatalf("batch: %+v", results)
	}
	zero := time.Duration(0)
	_, err = b.CreateInvitationBatch(ctx, admin, db.NewInvitationBatch{TTL: &zero, Rows: []db.BatchRow{{Email: "x@example.com"}}})
	wantCode(t, "batch with a ttl of zero", err, db.EINVALID)
	_, err = b.CreateInvitationBatch(ctx, admin, db.NewInvitationBatch{DefaultTTL: time.Hour})
	wantCode(t, "empty batch", err, db.EINVALID)

	// API keys.
	key, raw, err := b.CreateAPIKey(ctx, admin, "deploy", db.RoleEditor)
	if err != nil || raw == "" || key.Role != db.RoleEditor {
		t.Fatalf("create key: %+v %v", key, err)
	}
	keys, err := b.ListAPIKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].Name != "deploy" {
		t.Fatalf("keys: %+v %v", keys, err)
	}
	if err := b.DeleteAPIKey(ctx, admin, key.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "delete key twice", b.DeleteAPIKey(ctx, admin, key.ID), db.ENOTFOUND)

	// Users again: delete, and the audit log of all of it.
	if err := b.DeleteUser(ctx, admin, u.ID); err != nil {
		t.Fatal(err)
	}
	events, total, err := b.ListEvents(ctx, "", 0, 5)
	if err != nil || len(events) != 5 || total < 10 || events[0].Type != db.EventUserDeleted || events[0].CreatedBy != "tui:root" {
		t.Fatalf("events: %+v total %d %v", events, total, err)
	}
	if events[0].Data["email"] != "ada@example.com" {
		t.Fatalf("event data lost: %+v", events[0].Data)
	}
	events, total, err = b.ListEvents(ctx, db.EventOrgCreated, 0, 5)
	if err != nil || total != 1 || events[0].ObjectID != "night-shift" {
		t.Fatalf("events by type: %+v %d %v", events, total, err)
	}
}

func TestAdminSocketBackup(t *testing.T) {
	b, store := backendOverSocket(t)
	if _, err := store.CreateOrganization(db.SystemActor, "", "Kept In Backup"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := b.(*Client).Backup(t.Context(), &buf)
	if err != nil || n == 0 || int64(buf.Len()) != n {
		t.Fatalf("backup: %d bytes, %v", n, err)
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	copyStore, err := db.Open(path, db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer copyStore.Close()
	orgs, _ := copyStore.ListOrganizations()
	if len(orgs) != 2 || orgs[1].Name != "Kept In Backup" {
		t.Fatalf("backup holds %+v", orgs)
	}
}

func TestDialWithoutServer(t *testing.T) {
	_, err := Dial(t.Context(), filepath.Join(t.TempDir(), "admin.sock"))
	if !errors.Is(err, ErrNoServer) {
		t.Fatalf("dial with no server: %v, want ErrNoServer", err)
	}
}

// TestBackendRoleCeiling checks, on the store and through the admin
// socket, that an Editor actor neither sees nor reaches links and
// invitations with the Admin role, and still manages the others.
func TestBackendRoleCeiling(t *testing.T) {
	for name, open := range map[string]func(*testing.T) (tui.Backend, *db.Store){
		"store": backendDirect, "socket": backendOverSocket,
	} {
		t.Run(name, func(t *testing.T) {
			b, _ := open(t)
			ctx := t.Context()
			admin := db.Actor{Kind: "tui", Name: "root", Role: db.RoleAdmin}
			editor := db.Actor{Kind: "tui", Name: "ed", Role: db.RoleEditor}
			expires := time.Now().Add(time.Hour)
			adminLink, err := b.CreateSignupToken(ctx, admin, db.NewSignupToken{Name: "admins", ExpiresAt: expires, Role: db.RoleAdmin})
			if err != nil {
				t.Fatal(err)
			}
			editorLink, err := b.CreateSignupToken(ctx, admin, db.NewSignupToken{Name: "editors", ExpiresAt: expires, Role: db.RoleEditor})
			if err != nil {
				t.Fatal(err)
			}
			adminInv, err := b.CreateInvitation(ctx, admin, db.NewInvitation{Email: "boss@example.com", DefaultTTL: time.Hour, Role: db.RoleAdmin})
			if err != nil {
				t.Fatal(err)
			}
			viewerInv, err := b.CreateInvitation(ctx, admin, db.NewInvitation{Email: "pal@example.com", DefaultTTL: time.Hour})
			if err != nil {
				t.Fatal(err)
			}

			tokens, err := b.ListSignupTokens(ctx, editor)
			if err != nil || len(tokens) != 1 || tokens[0].Secret != editorLink.Secret {
				t.Fatalf("editor lists links %+v %v, want only the Editor link", tokens, err)
			}
			if tokens, _ := b.ListSignupTokens(ctx, admin); len(tokens) != 2 {
				t.Fatalf("admin lists %d links, want 2", len(tokens))
			}
			off := false
			_, err = b.UpdateSignupToken(ctx, editor, adminLink.Secret, db.SignupTokenUpdate{Enabled: &off})
			wantCode(t, "editor updates the Admin link", err, db.ENOTFOUND)
			if _, err := b.UpdateSignupToken(ctx, editor, editorLink.Secret, db.SignupTokenUpdate{Enabled: &off}); err != nil {
				t.Fatalf("editor updates the Editor link: %v", err)
			}

			invs, next, err := b.ListInvitations(ctx, editor, "", 0, 10)
			if err != nil || len(invs) != 1 || invs[0].ID != viewerInv.ID || next != 0 {
				t.Fatalf("editor lists invitations %+v %d %v, want only the Viewer one", invs, next, err)
			}
			resent, err := b.ResendInvitation(ctx, editor, adminInv.ID)
			wantCode(t, "editor resends the Admin invitation", err, db.ENOTFOUND)
			if resent.Token != "" {
				t.Fatal("a refused resend carries a token")
			}
			_, err = b.RevokeInvitation(ctx, editor, adminInv.ID)
			wantCode(t, "editor revokes the Admin invitation", err, db.ENOTFOUND)
			if _, err := b.ResendInvitation(ctx, editor, viewerInv.ID); err != nil {
				t.Fatalf("editor resends the Viewer invitation: %v", err)
			}
			if _, err := b.ResendInvitation(ctx, admin, adminInv.ID); err != nil {
				t.Fatalf("admin resends the Admin invitation: %v", err)
			}
		})
	}
}
