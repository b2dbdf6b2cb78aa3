package main

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"invited/db"
)

// newKeyLine is the line rotate-keys prints, with the new key's id.
var newKeyLine = regexp.MustCompile(`New signing key ([A-Za-z0-9_-]+) \((in the file|through the running server)\)`)

// rotateKeys runs `invited rotate-keys` and returns the new key's id and
// where it was made.
func rotateKeys(t *testing.T, env []string) (id, mode string) {
	t.Helper()
	stdout, stderr, code := runBinary(t, 30*time.Second, env, "rotate-keys")
	m := newKeyLine.FindStringSubmatch(stdout)
	if code != 0 || m == nil {
		t.Fatalf("rotate-keys: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "stays published") {
		t.Errorf("rotate-keys does not say the old key stays published: %q", stdout)
	}
	return m[1], m[2]
}

// TestE2ERotateKeys rotates the signing keys on the file with the server
// stopped, then through the running server's socket: both keys are
// published afterwards, the second one current, and both rotations are
// in the audit log.
func TestE2ERotateKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := serverEnv(dir)
	// A mistyped command line is a usage error that changes nothing.
	for _, args := range [][]string{{"rotate-keys", "now"}, {"rotate-keys", "--keep", "1s"}, {"rotate-keys", "--config"}} {
		stdout, stderr, code := runBinary(t, 20*time.Second, env, args...)
		if code != 2 || strings.Contains(stdout, "New signing key") {
			t.Errorf("invited %s: exit %d, stdout %q, stderr %q; want exit 2 and no key", strings.Join(args, " "), code, stdout, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "invited.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused command line touched the database: %v", err)
	}
	cold, mode := rotateKeys(t, env)
	if mode != "in the file" {
		t.Fatalf("rotate-keys with no server worked %s", mode)
	}
	p := startServer(t, dir)
	hot, mode := rotateKeys(t, env)
	if mode != "through the running server" || hot == cold {
		t.Fatalf("rotate-keys while serving: key %q %s, after %q", hot, mode, cold)
	}
	status, _, body := do(t, "GET", p.URL+"/api/admin/events?type="+db.EventSigningKeysRotated, e2eAdminKey, nil)
	wantStatus(t, "rotation events", status, 200, body)
	if events, _ := object(t, "events", body)["events"].([]any); len(events) != 2 {
		t.Fatalf("%d rotation events, want 2: %s", len(events), body)
	}
	p.Stop()

	store, err := db.Open(filepath.Join(dir, "invited.db"), db.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	keys, err := store.SigningKeys(db.DefaultSigningKeyKeep)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	if !slices.Equal(ids, []string{hot, cold}) || !keys[0].Current() || keys[1].Current() {
		t.Fatalf("published keys %v, want %q (current) then %q (retired)", ids, hot, cold)
	}
}
