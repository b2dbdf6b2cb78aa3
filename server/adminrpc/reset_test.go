package adminrpc

import (
	"context"
	"testing"
	"time"

	"invited/db"
	"invited/tui"
)

// TestBackendResetLink: a reset link comes back the same over the socket
// as from the store, works once, and the same refusals arrive over both.
func TestBackendResetLink(t *testing.T) {
	for name, open := range map[string]func(*testing.T) (tui.Backend, *db.Store){
		"socket": backendOverSocket, "direct": backendDirect,
	} {
		t.Run(name, func(t *testing.T) {
			b, store := open(t)
			ctx := context.Background()
			root := db.Actor{Kind: "tui", Name: "root", Role: db.RoleAdmin}
			link, err := store.CreateSignupToken(root, db.NewSignupToken{Name: "t", ExpiresAt: time.Now().Add(time.Hour), Role: db.RoleAdmin})
			if err != nil {
				t.Fatal(err)
			}
			u, err := store.RedeemSignupToken(link.Secret, db.NewUser{Email: "ada@example.com", Name: "Ada", PasswordHash: "$argon2id$fake"})
			if err != nil {
				t.Fatal(err)
			}
			secret, tok, err := b.CreateResetLink(ctx, root, u.ID)
			if err != nil || len(secret) != 64 || tok.UserID != u.ID || tok.Purpose != db.TokenResetPassword || time.Until(tok.ExpiresAt) > time.Hour {
				t.Fatalf("reset link: %q %+v %v", secret, tok, err)
			}
			if got, err := store.PeekUserToken(db.TokenResetPassword, secret); err != nil || got.UserID != u.ID {
				t.Fatalf("the secret does not open the link: %+v %v", got, err)
			}
			_, _, err = b.CreateResetLink(ctx, db.Actor{Kind: "tui", Name: "ed", Role: db.RoleEditor}, u.ID)
			wantCode(t, "an Editor for an Admin", err, db.EFORBIDDEN)
			_, _, err = b.CreateResetLink(ctx, root, 999)
			wantCode(t, "an unknown user", err, db.ENOTFOUND)
		})
	}
}
