package adminrpc

import (
	"context"
	"testing"
	"time"

	"invited/db"
	"invited/tui"
)

// The link edits, link deletion and a resend with a new ttl work the same
// over the admin socket as on the store, role ceiling included.
func TestBackendLinkEditAndDelete(t *testing.T) {
	for name, open := range map[string]func(*testing.T) (tui.Backend, *db.Store){
		"socket": backendOverSocket, "direct": backendDirect,
	} {
		t.Run(name, func(t *testing.T) {
			b, _ := open(t)
			ctx := context.Background()
			admin := db.Actor{Kind: "tui", Name: "root", Role: db.RoleAdmin}
			editor := db.Actor{Kind: "tui", Name: "ed", Role: db.RoleEditor}
			exp := time.Now().Add(time.Hour)
			adminLink, err := b.CreateSignupToken(ctx, admin, db.NewSignupToken{Name: "admins", ExpiresAt: exp, Role: db.RoleAdmin})
			if err != nil {
				t.Fatal(err)
			}
			link, err := b.CreateSignupToken(ctx, admin, db.NewSignupToken{Name: "team", ExpiresAt: exp, MaxUses: new(3)})
			if err != nil {
				t.Fatal(err)
			}
			// Zero values must arrive as such: no limit, any domain.
			name, role, none, anyDomain := "renamed", db.RoleEditor, 0, []string{}
			up, err := b.UpdateSignupToken(ctx, editor, link.Secret, db.SignupTokenUpdate{Name: &name, Role: &role, MaxUses: &none, AllowedDomains: &anyDomain})
			if err != nil || up.Name != "renamed" || up.Role != db.RoleEditor || up.MaxUses != 0 {
				t.Fatalf("update: %+v %v", up, err)
			}
			up2 := db.RoleAdmin
			_, err = b.UpdateSignupToken(ctx, editor, link.Secret, db.SignupTokenUpdate{Role: &up2})
			wantCode(t, "editor raises a link to Admin", err, db.EINVALID)
			wantCode(t, "editor deletes the Admin link", b.DeleteSignupToken(ctx, editor, adminLink.Secret), db.ENOTFOUND)
			if err := b.DeleteSignupToken(ctx, editor, link.Secret); err != nil {
				t.Fatal(err)
			}
			wantCode(t, "delete twice", b.DeleteSignupToken(ctx, admin, link.Secret), db.ENOTFOUND)
			if tokens, err := b.ListSignupTokens(ctx, admin); err != nil || len(tokens) != 1 || tokens[0].Secret != adminLink.Secret {
				t.Fatalf("links after delete: %+v %v", tokens, err)
			}

			inv, err := b.CreateInvitation(ctx, admin, db.NewInvitation{Email: "grace@example.com", DefaultTTL: time.Hour, Inviter: "Root"})
			if err != nil {
				t.Fatal(err)
			}
			resent, err := b.ResendInvitationWithTTL(ctx, admin, inv.ID, 72*time.Hour)
			if err != nil || resent.TTL != 72*time.Hour || resent.ExpiresAt.Sub(resent.UpdatedAt) != 72*time.Hour {
				t.Fatalf("resend with ttl: %+v %v", resent, err)
			}
		})
	}
}
