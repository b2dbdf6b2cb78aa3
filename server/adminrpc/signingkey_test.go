package adminrpc

import (
	"path/filepath"
	"slices"
	"testing"

	"invited/db"
)

// RotateSigningKeys over the socket rotates the server's keys with the
// program's keep: the new key is current, the old one still published.
// The socket carries no credentials (whoever opens it may read the file),
// so the role it judges is the actor's: one below Admin is refused, as
// on the store, and nothing changes.
func TestAdminSocketRotateSigningKeys(t *testing.T) {
	store, err := db.Open(filepath.Join(t.TempDir(), "k.db"), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	first, err := store.EnsureSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	c, err := Dial(t.Context(), startSocket(t, store, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []db.Role{db.RoleEditor, db.RoleViewer, 0, 99} {
		id, err := c.RotateSigningKeys(t.Context(), db.Actor{Kind: "cli", Name: "someone", Role: role})
		wantCode(t, "rotate as "+role.Name(), err, db.EFORBIDDEN)
		if id != "" {
			t.Fatalf("a refused rotation named a key %q", id)
		}
	}
	if cur, err := store.CurrentSigningKey(); err != nil || cur.ID != first.ID {
		t.Fatalf("after refused rotations the current key is %q (%v), want %q", cur.ID, err, first.ID)
	}

	id, err := c.RotateSigningKeys(t.Context(), db.Actor{Kind: "cli", Name: "root", Role: db.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := store.SigningKeys(db.DefaultSigningKeyKeep)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range keys {
		got = append(got, k.ID)
	}
	if !slices.Equal(got, []string{id, first.ID}) || !keys[0].Current() || keys[1].Current() {
		t.Fatalf("keys after rotating over the socket: %v, want %q (current) then %q", got, id, first.ID)
	}
	events, _, err := c.ListEvents(t.Context(), db.EventSigningKeysRotated, 0, 10)
	if err != nil || len(events) != 1 || events[0].CreatedBy != "cli:root" || events[0].ObjectID != id {
		t.Fatalf("rotation events over the socket: %+v %v", events, err)
	}
}
