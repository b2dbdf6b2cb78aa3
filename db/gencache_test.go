package db

import (
	"errors"
	"go/ast"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Every write transaction of the store goes through Store.update, which
// bumps the write generation that keeps the session and app caches exact:
// no other db code may call bbolt's Update or Batch.
func TestWritesGoThroughUpdate(t *testing.T) {
	fset, files := parseSource(t)
	for _, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			if fn.Name.Name == "update" && fn.Recv != nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if ok && (sel.Sel.Name == "Update" || sel.Sel.Name == "Batch") {
					if x, ok := sel.X.(*ast.SelectorExpr); ok && x.Sel.Name == "db" {
						t.Errorf("%s: %s in %s: write only through Store.update (it keeps the session and app caches exact)",
							fset.Position(sel.Pos()), filepath.Base(fset.Position(sel.Pos()).Filename), fn.Name.Name)
					}
				}
				return true
			})
		}
	}
}

// A known session and a covered host are served from memory: no read
// transaction. Unknown tokens and hosts are never cached.
func TestSessionAndAppCachedSkipTheRead(t *testing.T) {
	s, clock := mustOpen(t)
	ada := mustMember(t, s, clock, "ada@example.com", "ada", RoleViewer)
	mustApp(t, s, NewApp{ID: "wiki", Name: "Wiki", Domains: []string{"wiki.example.com"}})
	token := mustSession(t, s, ada.ID, time.Hour)
	if _, err := s.AuthenticateSession(token); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.AppForHost("wiki.example.com"); !ok || err != nil {
		t.Fatal(ok, err)
	}
	before := readTxs(s)
	for range 3 {
		if u, err := s.AuthenticateSession(token); err != nil || u.ID != ada.ID {
			t.Fatalf("cached session: %+v, %v", u, err)
		}
		if a, ok, err := s.AppForHost("wiki.example.com"); err != nil || !ok || a.ID != "wiki" {
			t.Fatalf("cached app: %+v, %v, %v", a, ok, err)
		}
	}
	if n := readTxs(s) - before; n != 0 {
		t.Errorf("3 cached checks began %d read transactions, want 0", n)
	}
	for range 2 {
		wantCode(t, func() error { _, err := s.AuthenticateSession("never-issued"); return err }(), EUNAUTHORIZED)
		if _, ok, _ := s.AppForHost("nope.example.com"); ok {
			t.Fatal("an uncovered host is covered")
		}
	}
	if n := readTxs(s) - before; n != 4 {
		t.Errorf("2 unknown tokens and 2 unknown hosts began %d read transactions, want 4", n)
	}
	if len(s.sessions.vals) != 1 || len(s.apps.vals) != 1 {
		t.Errorf("cached %d sessions and %d apps, want 1 each", len(s.sessions.vals), len(s.apps.vals))
	}

	// A returned user's groups are the caller's own.
	u, _ := s.AuthenticateSession(token)
	u.Groups = append(u.Groups, "mallory")
	if u, _ := s.AuthenticateSession(token); len(u.Groups) != 0 {
		t.Errorf("changing a returned user changed the cache: %v", u.Groups)
	}
}

// Every change is seen by the very next check, even when the session or
// the app was cached just before; expiry needs no write at all.
func TestSessionCacheSeesEveryChangeAtOnce(t *testing.T) {
	s, clock := mustOpen(t)
	ada := mustMember(t, s, clock, "ada@example.com", "ada", RoleViewer)
	cached := func(token string) {
		t.Helper()
		for range 2 {
			if u, err := s.AuthenticateSession(token); err != nil || u.ID != ada.ID {
				t.Fatalf("session: %+v, %v", u, err)
			}
		}
	}
	refused := func(token, what string) {
		t.Helper()
		if u, err := s.AuthenticateSession(token); ErrorCode(err) != EUNAUTHORIZED || u.ID != 0 {
			t.Errorf("after %s: %+v, %v; want EUNAUTHORIZED", what, u, err)
		}
	}

	token := mustSession(t, s, ada.ID, time.Hour)
	cached(token)
	if err := s.DeleteSession(token); err != nil {
		t.Fatal(err)
	}
	refused(token, "logout")

	token = mustSession(t, s, ada.ID, time.Hour)
	cached(token)
	if _, err := s.DisableUser(admin, ada.ID); err != nil {
		t.Fatal(err)
	}
	refused(token, "disabling")
	if _, err := s.EnableUser(admin, ada.ID); err != nil {
		t.Fatal(err)
	}

	token = mustSession(t, s, ada.ID, time.Hour)
	cached(token)
	clock.add(time.Hour)
	refused(token, "expiry")

	token = mustSession(t, s, ada.ID, 2*time.Hour)
	cached(token)
	name := "Ada L."
	if _, err := s.UpdateUser(admin, ada.ID, UserUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if u, err := s.AuthenticateSession(token); err != nil || u.Name != name {
		t.Errorf("after a rename: %+v, %v", u, err)
	}
	if err := s.DeleteUser(admin, ada.ID); err != nil {
		t.Fatal(err)
	}
	refused(token, "deletion")
}

func TestAppCacheSeesEveryChangeAtOnce(t *testing.T) {
	s, _ := mustOpen(t)
	mustGroup(t, s, "ops")
	mustApp(t, s, NewApp{ID: "wiki", Name: "Wiki", Domains: []string{"wiki.example.com", "*.tools.example.com"}})
	for range 2 {
		if a, ok, err := s.AppForHost("x.tools.example.com"); err != nil || !ok || len(a.Groups) != 0 {
			t.Fatalf("app: %+v, %v, %v", a, ok, err)
		}
	}
	groups := []string{"ops"}
	if _, err := s.UpdateApp(admin, "wiki", AppUpdate{Groups: &groups}); err != nil {
		t.Fatal(err)
	}
	if a, ok, err := s.AppForHost("x.tools.example.com"); err != nil || !ok || len(a.Groups) != 1 {
		t.Errorf("after limiting to ops: %+v, %v, %v", a, ok, err)
	}
	domains := []string{"wiki.example.com"}
	if _, err := s.UpdateApp(admin, "wiki", AppUpdate{Domains: &domains}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.AppForHost("x.tools.example.com"); ok {
		t.Error("a dropped domain still matches")
	}
	if _, ok, _ := s.AppForHost("wiki.example.com"); !ok {
		t.Fatal("wiki.example.com")
	}
	if err := s.DeleteApp(admin, "wiki"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.AppForHost("wiki.example.com"); ok {
		t.Error("a deleted app still matches")
	}
}

// The caches hold at most maxGenCacheEntries entries.
func TestGenCacheIsBounded(t *testing.T) {
	var c genCache[int]
	for i := range maxGenCacheEntries + 5 {
		c.put(7, 7, string(rune(i+1))+"k", i)
	}
	if n := len(c.vals); n > maxGenCacheEntries {
		t.Errorf("%d entries, want at most %d", n, maxGenCacheEntries)
	}
	c.put(6, 7, "old", 1) // read before a write: dropped
	if _, ok := c.get(7, "old"); ok {
		t.Error("a value read at an older generation was stored")
	}
}

// Checks racing a logout: once DeleteSession has returned, no check that
// starts afterwards lets the session in. Run with -race.
func TestSessionCacheRacingWrites(t *testing.T) {
	s, clock := mustOpen(t)
	ada := mustMember(t, s, clock, "ada@example.com", "ada", RoleViewer)
	for range 20 {
		token := mustSession(t, s, ada.ID, time.Hour)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
						_, _ = s.AuthenticateSession(token)
						_, _, _ = s.AppForHost("wiki.example.com")
					}
				}
			}()
		}
		if err := s.DeleteSession(token); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AuthenticateSession(token); ErrorCode(err) != EUNAUTHORIZED {
			t.Errorf("a check after logout: %v", err)
		}
		close(stop)
		wg.Wait()
	}
}

// FindUserByID and the signing keys are read once per write generation,
// and every write is seen by the very next read.
func TestUserAndSigningKeyCaches(t *testing.T) {
	s, clock := mustOpen(t)
	ada := mustMember(t, s, clock, "ada@example.com", "ada", RoleViewer)
	if _, err := s.EnsureSigningKey(); err != nil {
		t.Fatal(err)
	}
	first, err := s.FindUserByID(ada.ID)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := s.SigningKeys(DefaultSigningKeyKeep)
	if err != nil || len(keys) != 1 {
		t.Fatal(keys, err)
	}
	before := readTxs(s)
	for range 3 {
		if u, err := s.FindUserByID(ada.ID); err != nil || u.Email != first.Email {
			t.Fatalf("cached user: %+v, %v", u, err)
		}
		if k, err := s.CurrentSigningKey(); err != nil || k.ID != keys[0].ID {
			t.Fatalf("cached key: %v, %v", k.ID, err)
		}
	}
	if n := readTxs(s) - before; n != 0 {
		t.Errorf("cached reads began %d read transactions, want 0", n)
	}

	// A returned user is the caller's own.
	u, _ := s.FindUserByID(ada.ID)
	u.Groups = append(u.Groups, "mallory")
	if u, _ := s.FindUserByID(ada.ID); len(u.Groups) != 0 {
		t.Errorf("changing a returned user changed the cache: %v", u.Groups)
	}

	// Each write is seen at once.
	name := "Ada Lovelace"
	if _, err := s.UpdateUser(admin, ada.ID, UserUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.FindUserByID(ada.ID); u.Name != name {
		t.Errorf("after a rename: %q", u.Name)
	}
	if _, err := s.DisableUser(admin, ada.ID); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.FindUserByID(ada.ID); u.Active() {
		t.Error("a disabled user reads as active")
	}
	rotated, err := s.RotateSigningKeys(admin, DefaultSigningKeyKeep)
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := s.CurrentSigningKey(); k.ID == keys[0].ID {
		t.Errorf("after rotating to %v the current key is still %v", rotated, k.ID)
	}
	if ks, _ := s.SigningKeys(DefaultSigningKeyKeep); len(ks) != 2 {
		t.Errorf("after a rotation %d keys are published, want 2", len(ks))
	}
	if err := s.DeleteUser(admin, ada.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, func() error { _, err := s.FindUserByID(ada.ID); return err }(), ENOTFOUND)
}

// While a write is in flight the generation is odd and the caches serve
// nothing, so a reader who saw the write's data elsewhere (bbolt shows a
// commit a moment before Update returns) is never served an older entry;
// after the write, and after a failed one, the generation is even and new.
func TestGenerationOddDuringWrites(t *testing.T) {
	s, clock := mustOpen(t)
	ada := mustMember(t, s, clock, "ada@example.com", "ada", RoleViewer)
	if _, err := s.FindUserByID(ada.ID); err != nil {
		t.Fatal(err)
	}
	before := s.gen.Load()
	if before%2 != 0 {
		t.Fatalf("generation %d is odd with no write in flight", before)
	}
	if _, ok := s.users.get(before, "1"); !ok {
		t.Fatal("the user was not cached")
	}
	err := s.update(func(tx *bolt.Tx) error {
		g := s.gen.Load()
		if g%2 != 1 {
			t.Errorf("generation %d is even during a write", g)
		}
		if _, ok := s.users.get(g, "1"); ok {
			t.Error("the cache served an entry during a write")
		}
		s.users.put(g, g, "2", User{})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	after := s.gen.Load()
	if after != before+2 {
		t.Errorf("a write moved the generation from %d to %d, want +2", before, after)
	}
	if _, ok := s.users.get(after, "2"); ok {
		t.Error("an entry read during a write was kept")
	}
	if err := s.update(func(*bolt.Tx) error { return errors.New("roll back") }); err == nil {
		t.Fatal("the failing write succeeded")
	}
	if g := s.gen.Load(); g != after+2 {
		t.Errorf("a rolled-back write left the generation at %d, want %d", g, after+2)
	}
}
