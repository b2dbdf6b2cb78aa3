package sshadmin

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"invited/db"
)

// The host key is made once, 0600, and read back the same on the next
// start; past its per-minute allowance an address is cut off before any
// SSH is spoken; Serve returns when its context ends.
func TestHostKeyLimitAndShutdown(t *testing.T) {
	dir := t.TempDir()
	store, err := db.Open(filepath.Join(dir, "invited.db"), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	keyPath := filepath.Join(dir, "ssh_host_ed25519_key")
	srv, err := New(Options{Addr: "127.0.0.1:0", HostKeyPath: keyPath, Store: store, PerMinute: 2})
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(keyPath)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("host key file: %v %v", info, err)
	}
	// wish makes a key in the working directory when given none: it must
	// have been given ours.
	if _, err := os.Stat("id_ed25519"); !os.IsNotExist(err) {
		t.Fatalf("a host key was written to the working directory (%v); the server must use only %s", err, keyPath)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()

	// Two handshakes get as far as authentication (and fail it: no key
	// is registered); the third connection is closed unanswered.
	dial := func() error {
		c, err := gossh.Dial("tcp", srv.Addr().String(), &gossh.ClientConfig{
			User: "x", Auth: []gossh.AuthMethod{gossh.Password("nope")},
			HostKeyCallback: gossh.FixedHostKey(srv.HostKey()), Timeout: 5 * time.Second,
		})
		if c != nil {
			c.Close()
		}
		return err
	}
	for i := range 2 {
		if err := dial(); !containsAuth(err) {
			t.Fatalf("connection %d: %v; want an authentication refusal", i+1, err)
		}
	}
	if err := dial(); err == nil || containsAuth(err) {
		t.Fatalf("third connection in a minute: %v; want it cut off before authentication", err)
	}
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}

	// The next start reads the same key.
	again, err := New(Options{Addr: "127.0.0.1:0", HostKeyPath: keyPath, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	defer again.ln.Close()
	if string(again.HostKey().Marshal()) != string(srv.HostKey().Marshal()) {
		t.Fatal("a second start made a new host key")
	}
}

// containsAuth says whether err is the client's "unable to authenticate".
func containsAuth(err error) bool {
	return err != nil && strings.Contains(err.Error(), "unable to authenticate")
}
