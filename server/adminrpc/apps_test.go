package adminrpc

import (
	"context"
	"slices"
	"testing"

	"invited/db"
	"invited/tui"
)

// Apps work the same over the admin socket as on the store: an emptied
// list of groups arrives as empty, a domain conflict keeps its code.
func TestBackendApps(t *testing.T) {
	for name, open := range map[string]func(*testing.T) (tui.Backend, *db.Store){
		"socket": backendOverSocket, "direct": backendDirect,
	} {
		t.Run(name, func(t *testing.T) {
			b, _ := open(t)
			ctx := context.Background()
			admin := db.Actor{Kind: "tui", Name: "root", Role: db.RoleAdmin}
			if _, err := b.CreateGroup(ctx, admin, db.NewGroup{ID: "ops", Name: "Ops"}); err != nil {
				t.Fatal(err)
			}
			a, _, err := b.CreateApp(ctx, admin, db.NewApp{Name: "Grafana", URL: "https://grafana.example.com", Groups: []string{"ops"}, Domains: []string{"grafana.example.com"}})
			if err != nil || a.ID != "grafana" || a.Kind != db.AppKindProxy || !slices.Equal(a.Groups, []string{"ops"}) {
				t.Fatalf("create: %+v %v", a, err)
			}
			_, _, err = b.CreateApp(ctx, admin, db.NewApp{Name: "Other", URL: "https://o.example.com", Domains: []string{"grafana.example.com"}})
			wantCode(t, "a taken domain", err, db.ECONFLICT)
			none := []string{}
			a, err = b.UpdateApp(ctx, admin, "grafana", db.AppUpdate{Groups: &none})
			if err != nil || len(a.Groups) != 0 {
				t.Fatalf("update to no groups: %+v %v", a, err)
			}
			if list, err := b.ListApps(ctx); err != nil || len(list) != 1 || len(list[0].Groups) != 0 {
				t.Fatalf("list: %+v %v", list, err)
			}
			if err := b.DeleteApp(ctx, admin, "grafana"); err != nil {
				t.Fatal(err)
			}
			wantCode(t, "delete twice", b.DeleteApp(ctx, admin, "grafana"), db.ENOTFOUND)

			// An oidc app: its secret comes back from the create and from
			// a rotation, and the same refusals arrive over both.
			o, secret, err := b.CreateApp(ctx, admin, db.NewApp{Name: "Wiki", URL: "https://wiki.example.com", Kind: db.AppKindOIDC,
				RedirectURIs: []string{"https://wiki.example.com/cb"}})
			if err != nil || secret == "" || o.OIDC == nil || o.OIDC.ClientID == "" || o.OIDC.Public {
				t.Fatalf("oidc create: %+v %q %v", o, secret, err)
			}
			r, fresh, err := b.RotateAppSecret(ctx, admin, "wiki")
			if err != nil || fresh == "" || fresh == secret || r.OIDC == nil || r.OIDC.ClientID != o.OIDC.ClientID {
				t.Fatalf("rotate: %+v %q %v", r, fresh, err)
			}
			if list, _ := b.ListApps(ctx); len(list) != 1 || list[0].OIDC == nil || list[0].OIDC.RedirectURIs[0] != "https://wiki.example.com/cb" {
				t.Fatalf("list: %+v", list)
			}
			_, _, err = b.CreateApp(ctx, admin, db.NewApp{Name: "CLI", URL: "https://cli.example.com", Kind: db.AppKindOIDC, Public: true,
				RedirectURIs: []string{"http://127.0.0.1/cb"}})
			if err != nil {
				t.Fatal(err)
			}
			_, s, err := b.RotateAppSecret(ctx, admin, "cli")
			wantCode(t, "rotate a public app", err, db.EINVALID)
			if s != "" {
				t.Errorf("a refused rotation returned %q", s)
			}
			_, _, err = b.RotateAppSecret(ctx, admin, "nope")
			wantCode(t, "rotate an unknown app", err, db.ENOTFOUND)
			_, _, err = b.CreateApp(ctx, admin, db.NewApp{Name: "Bad", URL: "https://b.example.com", Kind: db.AppKindOIDC,
				RedirectURIs: []string{"javascript:alert(1)"}})
			wantCode(t, "a javascript: redirect", err, db.EINVALID)
		})
	}
}
