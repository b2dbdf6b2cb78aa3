package db

import (
	"go/ast"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// readTxs is how many read transactions the store has begun.
func readTxs(s *Store) int { return s.db.Stats().TxN }

// A check of a known link is served from memory: no read transaction.
func TestCheckSignupTokenCachedSkipsTheRead(t *testing.T) {
	s, clock := mustOpen(t)
	tok := mustLink(t, s, clock, NewSignupToken{})
	if err := s.CheckSignupToken(tok.Secret, ""); err != nil {
		t.Fatal(err)
	}
	before := readTxs(s)
	for range 3 {
		if err := s.CheckSignupToken(tok.Secret, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := readTxs(s) - before; n != 0 {
		t.Errorf("3 checks of a cached link began %d read transactions, want 0", n)
	}
	// Unknown secrets are never cached.
	wantCode(t, s.CheckSignupToken("0123456789abcdef0123456789abcdef", ""), ENOTFOUND)
	wantCode(t, s.CheckSignupToken("0123456789abcdef0123456789abcdef", ""), ENOTFOUND)
	if n := readTxs(s) - before; n != 2 {
		t.Errorf("2 checks of an unknown secret began %d read transactions, want 2", n)
	}
}

// Every change to a link is seen by the very next check, even when the
// link was cached just before: disabling, enabling, a new limit, a use-up
// through a signup, a new expiry, a deletion; expiry by the clock needs no
// write at all.
func TestCheckSignupTokenSeesEveryChangeAtOnce(t *testing.T) {
	s, clock := mustOpen(t)
	tok := mustLink(t, s, clock, NewSignupToken{MaxUses: new(1), AllowedDomains: []string{"example.com"}})
	check := func(want Code) {
		t.Helper()
		if err := s.CheckSignupToken(tok.Secret, ""); want == "" && err != nil {
			t.Fatalf("check: %v, want usable", err)
		} else if want != "" {
			wantCode(t, err, want)
		}
	}
	check("")
	check("") // cached now

	off, on := false, true
	if _, err := s.UpdateSignupToken(admin, tok.Secret, SignupTokenUpdate{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	check(EGONE)
	if _, err := s.UpdateSignupToken(admin, tok.Secret, SignupTokenUpdate{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	check("")

	// Allowed domains come from the cached record too.
	wantCode(t, s.CheckSignupToken(tok.Secret, "ada@example.org"), EINVALID)
	domains := []string{"example.org"}
	if _, err := s.UpdateSignupToken(admin, tok.Secret, SignupTokenUpdate{AllowedDomains: &domains}); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSignupToken(tok.Secret, "ada@example.org"); err != nil {
		t.Fatalf("check after allowing example.org: %v", err)
	}

	// Used up by a signup.
	check("")
	if _, err := s.RedeemSignupToken(tok.Secret, newUser("ada@example.org", "")); err != nil {
		t.Fatal(err)
	}
	check(EGONE)
	two := 2
	if _, err := s.UpdateSignupToken(admin, tok.Secret, SignupTokenUpdate{MaxUses: &two}); err != nil {
		t.Fatal(err)
	}
	check("")

	// Expired by the clock, with no write in between.
	clock.add(24 * time.Hour)
	check(EGONE)
	later := clock.now().Add(time.Hour)
	if _, err := s.UpdateSignupToken(admin, tok.Secret, SignupTokenUpdate{ExpiresAt: &later}); err != nil {
		t.Fatal(err)
	}
	check("")

	if err := s.DeleteSignupToken(admin, tok.Secret); err != nil {
		t.Fatal(err)
	}
	check(ENOTFOUND)
}

// Checks racing a change never see the old state once the change has
// returned (run with -race to check the cache's locking too).
func TestCheckSignupTokenDuringChanges(t *testing.T) {
	s, clock := mustOpen(t)
	tok := mustLink(t, s, clock, NewSignupToken{})
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					_ = s.CheckSignupToken(tok.Secret, "")
				}
			}
		})
	}
	for i := range 20 {
		enabled := i%2 == 1
		if _, err := s.UpdateSignupToken(admin, tok.Secret, SignupTokenUpdate{Enabled: &enabled}); err != nil {
			t.Fatal(err)
		}
		err := s.CheckSignupToken(tok.Secret, "")
		if enabled && err != nil {
			t.Fatalf("change %d: enabled, check says %v", i, err)
		}
		if !enabled && ErrorCode(err) != EGONE {
			t.Fatalf("change %d: disabled, check says %v", i, err)
		}
	}
	close(stop)
	wg.Wait()
}

// linkBucketReaders may name bucketLinks; they only read it (and
// CreateSignupToken takes the next id from it). Every write of a link
// record goes through putLinkTx or deleteLinkTx, which keep the link cache
// exact; migrations run in Open, before anything is cached. DeleteGroup
// reads the bucket to find the links that hold a group and writes them
// back through putLinkTx, and dropAppTx (DeleteApp) does the same for an
// app; JoinedApp only reads, and PendingSignup reads a link's name for the
// email to the Admins.
var linkBucketReaders = map[string]bool{
	"putLinkTx": true, "deleteLinkTx": true,
	"getLinkTx": true, "ListSignupTokens": true, "CreateSignupToken": true,
	"DeleteGroup": true, "dropAppTx": true, "JoinedApp": true, "PendingSignup": true,
}

func TestLinkWritesGoThroughTheCache(t *testing.T) {
	fset, files := parseSource(t)
	for _, f := range files {
		name := filepath.Base(fset.File(f.Pos()).Name())
		if len(name) > 8 && name[:8] == "migrate_" {
			continue
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				if id, ok := n.(*ast.Ident); ok && id.Name == "bucketLinks" && !linkBucketReaders[fn.Name.Name] {
					t.Errorf("%s: %s uses bucketLinks: write link records only through putLinkTx or deleteLinkTx (they keep the link cache exact); if it only reads, add it to linkBucketReaders",
						fset.Position(id.Pos()), fn.Name.Name)
				}
				return true
			})
		}
	}
}
