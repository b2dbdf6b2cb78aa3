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
		})
	}
}
