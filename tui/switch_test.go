package tui

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"invited/db"
	"invited/server/adminrpc"
)

// switchEnv is a data folder with a SwitchingBackend on it, and a way to
// run a server (a store holding the file, and its admin socket) beside it
// in this process: bbolt's lock is per open file, so it keeps the backend
// out of the file just as another process would.
type switchEnv struct {
	t    *testing.T
	path string
	sock string
	b    *SwitchingBackend
}

func newSwitchEnv(t *testing.T) *switchEnv {
	dir := t.TempDir()
	e := &switchEnv{t: t, path: filepath.Join(dir, "invited.db"), sock: filepath.Join(dir, "admin.sock")}
	e.b = NewSwitchingBackend(SwitchOptions{
		Open: func(readOnly bool) (*db.Store, error) {
			return db.Open(e.path, db.Options{ReadOnly: readOnly, LockTimeout: 100 * time.Millisecond})
		},
		Dial: func(ctx context.Context) (Backend, error) { return adminrpc.Dial(ctx, e.sock) },
		Wait: time.Second,
	})
	return e
}

// startServer opens the file the way `invited serve` does (failing if
// anyone holds it) and serves its admin socket; stop closes both.
func (e *switchEnv) startServer() (store *db.Store, stop func()) {
	e.t.Helper()
	store, err := db.Open(e.path, db.Options{LockTimeout: 100 * time.Millisecond})
	if err != nil {
		e.t.Fatalf("the server cannot open the file the TUI uses: %v", err)
	}
	sock, err := adminrpc.Listen(e.sock, store, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		store.Close()
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sock.Serve(ctx); close(done) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
			store.Close()
		}
	}
	e.t.Cleanup(stop)
	return store, stop
}

// brokenServer listens on the admin socket and hangs up on every
// connection without an answer, like a server killed in the middle of a
// request. It counts the connections.
func (e *switchEnv) brokenServer() (conns *atomic.Int32, stop func()) {
	e.t.Helper()
	ln, err := net.Listen("unix", e.sock)
	if err != nil {
		e.t.Fatal(err)
	}
	conns = new(atomic.Int32)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	stop = func() { ln.Close(); <-done }
	e.t.Cleanup(stop)
	return conns, stop
}

func (e *switchEnv) wantMode(what, want string) {
	e.t.Helper()
	if got := e.b.Mode(); got != want {
		e.t.Fatalf("%s: mode %q, want %q", what, got, want)
	}
}

// linkNames lists the links' names through the backend.
func (e *switchEnv) linkNames(what string) []string {
	e.t.Helper()
	tokens, err := e.b.ListSignupTokens(context.Background(), testAdmin)
	if err != nil {
		e.t.Fatalf("%s: list links: %v", what, err)
	}
	var names []string
	for _, tok := range tokens {
		names = append(names, tok.Name)
	}
	return names
}

func (e *switchEnv) createLink(name string) error {
	e.t.Helper()
	_, err := e.b.CreateSignupToken(context.Background(), testAdmin, db.NewSignupToken{Name: name, ExpiresAt: time.Now().Add(time.Hour)})
	return err
}

// TestSwitchingBackendFollowsTheServer: the backend leaves the file free
// between operations, works through a server that took the file, and goes
// back to the file when the server stops, losing and doubling nothing.
func TestSwitchingBackendFollowsTheServer(t *testing.T) {
	e := newSwitchEnv(t)
	if err := e.b.Probe(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.wantMode("server stopped", ModeDirect)
	if err := e.createLink("Before"); err != nil {
		t.Fatal(err)
	}

	// A server can start: the backend holds nothing between operations.
	srvStore, stop := e.startServer()
	if got := strings.Join(e.linkNames("server running"), ","); got != "Before" {
		t.Fatalf("links through the server: %q", got)
	}
	e.wantMode("server running", ModeServer)
	if err := e.createLink("During"); err != nil {
		t.Fatal(err)
	}
	onServer, err := srvStore.ListSignupTokens(testAdmin)
	if err != nil || len(onServer) != 2 || onServer[1].Name != "During" {
		t.Fatalf("the server's store has %+v (%v), want the link made through it", onServer, err)
	}

	// The server stops. A write that could not reach its socket cannot
	// have happened there, so it is made on the file, once.
	stop()
	if err := e.createLink("After"); err != nil {
		t.Fatal(err)
	}
	e.wantMode("server stopped again", ModeDirect)
	if got := strings.Join(e.linkNames("server stopped again"), ","); got != "Before,During,After" {
		t.Fatalf("links on the file: %q", got)
	}

	// And the file is free again for the next server.
	_, stop = e.startServer()
	stop()
}

// TestSwitchingBackendRetriesReadsNotWrites: when the server goes away in
// the middle of a request, a read is asked again of the file, but a write
// that may have been done is reported, not repeated.
func TestSwitchingBackendRetriesReadsNotWrites(t *testing.T) {
	e := newSwitchEnv(t)
	if err := e.createLink("Kept"); err != nil {
		t.Fatal(err)
	}

	// A read: the server hangs up, the file is free, the answer comes
	// from the file.
	_, stop := e.startServer()
	e.linkNames("server running")
	e.wantMode("server running", ModeServer)
	stop()
	_, stopBroken := e.brokenServer()
	if got := strings.Join(e.linkNames("server hung up"), ","); got != "Kept" {
		t.Fatalf("read after the server hung up: %q", got)
	}
	e.wantMode("server hung up on a read", ModeDirect)
	stopBroken()

	// A write: the server hangs up after the request went out. It is not
	// sent again (one connection), and nothing is made on the file.
	_, stop = e.startServer()
	e.linkNames("server running again")
	e.wantMode("server running again", ModeServer)
	stop()
	conns, _ := e.brokenServer()
	err := e.createLink("Maybe")
	if db.ErrorCode(err) != db.EUNAVAILABLE || !strings.HasPrefix(db.ErrorMessage(err), "The server stopped; press ctrl+r") ||
		!strings.Contains(db.ErrorMessage(err), "may or may not have happened") {
		t.Fatalf("write cut off by the server: %v, want a message that it may or may not have happened", err)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("the cut-off write was sent %d times, want once", n)
	}
	if got := strings.Join(e.linkNames("after the cut-off write"), ","); got != "Kept" {
		t.Fatalf("links after the cut-off write: %q", got)
	}
	e.wantMode("after the cut-off write", ModeDirect)
}

// TestSwitchingBackendFileHeldNoServer: with the file held and no server
// on the socket, an operation waits a bounded time and then says what to
// do, and nothing is written.
func TestSwitchingBackendFileHeldNoServer(t *testing.T) {
	e := newSwitchEnv(t)
	if err := e.createLink("Only"); err != nil {
		t.Fatal(err)
	}
	holder, err := db.Open(e.path, db.Options{LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = e.createLink("Never")
	holder.Close()
	if db.ErrorCode(err) != db.EUNAVAILABLE || !strings.Contains(db.ErrorMessage(err), "no server answers") {
		t.Fatalf("file held, no server: %v", err)
	}
	if got := strings.Join(e.linkNames("file free"), ","); got != "Only" {
		t.Fatalf("links: %q", got)
	}
}

// The header follows the backend's mode, not the one given at start.
func TestHeaderFollowsSwitchingBackend(t *testing.T) {
	e := newSwitchEnv(t)
	m := newModel(e.b, Options{Mode: ModeDirect, DataPath: "./data/invited.db", Actor: testAdmin}, fixedClock, false)
	e.linkNames("direct")
	if h := m.header(); !strings.Contains(h, "direct: ./data/invited.db") || strings.Contains(h, "holding") {
		t.Fatalf("header in direct mode: %q", h)
	}
	_, stop := e.startServer()
	defer stop()
	e.linkNames("server")
	if h := m.header(); !strings.Contains(h, "server: via admin socket") {
		t.Fatalf("header after the server started: %q", h)
	}
}

// TestDeadServerShownAsStopped: the server holds the file and its socket
// closes (a server that is stopping, or hangs, while the file stays held).
// The TUI says the server stopped and how to bring it back, not that
// something went wrong on our side; once a server answers again, ctrl+r
// reconnects.
func TestDeadServerShownAsStopped(t *testing.T) {
	e := newSwitchEnv(t)
	holder, err := db.Open(e.path, db.Options{LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close() })
	if _, err := holder.CreateSignupToken(testAdmin, db.NewSignupToken{Name: "Kept", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	serve := func() (stop func()) {
		t.Helper()
		sock, err := adminrpc.Listen(e.sock, holder, nil, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { sock.Serve(ctx); close(done) }()
		stop = func() { cancel(); <-done }
		t.Cleanup(stop)
		return stop
	}
	stopSocket := serve()

	h := &harness{t: t, clip: &bytes.Buffer{}}
	h.m = newModel(e.b, Options{Mode: ModeDirect, DataPath: "./data/invited.db", Actor: testAdmin, Output: h.clip}, fixedClock, false)
	h.send(tea.WindowSizeMsg{Width: 200, Height: 24})
	h.run(h.m.Init())
	h.contains("server: via admin socket", "Kept")

	// The socket closes; the file stays held.
	stopSocket()
	h.keys("ctrl+r")
	h.contains("The server stopped; press ctrl+r to reconnect, or restart it.")
	h.lacks("Something went wrong")

	// A server answers again: ctrl+r reconnects and the list is back.
	serve()
	h.keys("ctrl+r")
	h.lacks("The server stopped")
	h.contains("server: via admin socket", "Kept")
}

// TestDeadServerShownAsStoppedPlainClient: a TUI on the socket client
// alone (no file to fall back to) says the same when the socket closes.
func TestDeadServerShownAsStoppedPlainClient(t *testing.T) {
	e := newSwitchEnv(t)
	_, stop := e.startServer()
	c, err := adminrpc.Dial(t.Context(), e.sock)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, clip: &bytes.Buffer{}}
	h.m = newModel(c, Options{Mode: ModeServer, Actor: testAdmin, Output: h.clip}, fixedClock, false)
	h.send(tea.WindowSizeMsg{Width: 200, Height: 24})
	h.run(h.m.Init())
	h.lacks("Could not load")

	stop()
	h.keys("ctrl+r")
	h.contains("Could not load signup links: The server stopped; press ctrl+r to reconnect, or restart it.")
	h.lacks("Something went wrong")
}
