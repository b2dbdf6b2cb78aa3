package adminrpc

import (
	"context"
	"encoding/gob"
	"errors"
	"log/slog"
	"maps"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"invited/db"
	"invited/tui"
)

// TestAdminSocketCapsRequests sends the socket a request above its cap, one
// that echoes a long value, and garbage: each gets a short error that
// echoes nothing of it, and the server goes on answering the next client.
func TestAdminSocketCapsRequests(t *testing.T) {
	b, store := backendOverSocket(t)
	c := b.(*Client)
	admin := db.Actor{Kind: "tui", Name: "root", Role: db.RoleAdmin}
	shortError := func(what string, err error, wantCode db.Code, wantPart string) {
		t.Helper()
		if db.ErrorCode(err) != wantCode {
			t.Fatalf("%s: error %v (code %q), want %q", what, clip(db.ErrorMessage(err), 300), db.ErrorCode(err), wantCode)
		}
		msg := db.ErrorMessage(err)
		if len(msg) > 200 || !strings.Contains(msg, wantPart) {
			t.Errorf("%s: message %q (%d bytes), want a short one saying %q", what, clip(msg, 300), len(msg), wantPart)
		}
	}

	// Above the cap, through the real client: refused, nothing made.
	_, _, err := c.CreateAPIKey(t.Context(), admin, strings.Repeat("x", 2*maxRequestBytes), db.RoleEditor)
	shortError("a request of 2 MiB", err, db.EINVALID, "larger than")
	if keys, err := store.ListAPIKeys(); err != nil || len(keys) != 0 {
		t.Fatalf("after the refused request: keys %v, %v; want none", keys, err)
	}

	raw := func(send func(net.Conn) error) error {
		t.Helper()
		conn, err := net.DialTimeout("unix", c.path, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
		sendErr := send(conn)
		var r responseHeader
		if err := gob.NewDecoder(conn).Decode(&r); err != nil {
			t.Fatalf("no answer (send: %v): %v", sendErr, err)
		}
		if r.Err == nil {
			return nil
		}
		return r.Err
	}
	// Under the cap, an unknown method is named, but only its start.
	err = raw(func(conn net.Conn) error {
		return gob.NewEncoder(conn).Encode(requestHeader{Method: strings.Repeat("M", maxRequestBytes/2)})
	})
	shortError("an unknown method of 512 KiB", err, db.EINVALID, "no method")
	// Not gob at all.
	err = raw(func(conn net.Conn) error {
		if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
			return err
		}
		return conn.(*net.UnixConn).CloseWrite()
	})
	shortError("an HTTP request", err, db.EINVALID, "could not be read")

	// The server is still up for the next client.
	if _, err := c.ListAPIKeys(t.Context()); err != nil {
		t.Fatalf("the next call after refused requests failed: %v", err)
	}
	if _, _, err := c.CreateAPIKey(t.Context(), admin, "ci-bot", db.RoleEditor); err != nil {
		t.Fatalf("a normal request after refused ones failed: %v", err)
	}
}

// blockingMethod is a method that tells started when it runs, then waits
// for its context to end and tells ended. Every step gives up after a
// minute, so that a broken test cannot keep the server from stopping.
func blockingMethod(started, ended chan<- struct{}) handler {
	return method(func(ctx context.Context, _ *Server, _ none) (none, error) {
		send := func(ch chan<- struct{}) {
			select {
			case ch <- struct{}{}:
			case <-time.After(time.Minute):
			}
		}
		send(started)
		select {
		case <-ctx.Done():
			send(ended)
			return none{}, ctx.Err()
		case <-time.After(time.Minute):
			return none{}, errors.New("the call's context never ended")
		}
	})
}

// TestCallHonoursContext: a call the server is slow to answer ends when
// its context is canceled or its deadline passes, and the server's side
// of it learns that the client went away; a server that shuts down ends
// the calls in flight too.
func TestCallHonoursContext(t *testing.T) {
	store, err := db.Open(filepath.Join(t.TempDir(), "c.db"), db.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	started, ended := make(chan struct{}, 1), make(chan struct{}, 1)
	sock := startSocket(t, store, map[string]handler{"Block": blockingMethod(started, ended)})
	c, err := Dial(t.Context(), sock)
	if err != nil {
		t.Fatal(err)
	}
	// wait bounds each step, so that a call that ignores its context
	// fails the test instead of hanging it.
	wait := func(t *testing.T, what string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: not within 10s", what)
		}
	}
	callResult := func(ctx context.Context) <-chan error {
		res := make(chan error, 1)
		go func() { res <- c.call(ctx, "Block", none{}, nil) }()
		return res
	}
	result := func(t *testing.T, what string, res <-chan error) error {
		t.Helper()
		select {
		case err := <-res:
			return err
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the call did not return within 10s", what)
			return nil
		}
	}

	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		res := callResult(ctx)
		wait(t, "the server runs the call", started)
		cancel()
		if err := result(t, "canceled", res); !errors.Is(err, context.Canceled) {
			t.Fatalf("canceled call: %v, want context.Canceled", err)
		}
		wait(t, "the server's side of the call ends", ended)
	})

	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		res := callResult(ctx)
		wait(t, "the server runs the call", started)
		if err := result(t, "deadline", res); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("call past its deadline: %v, want context.DeadlineExceeded", err)
		}
		wait(t, "the server's side of the call ends", ended)
	})

	// The server stops with a call in flight: the call's context ends,
	// and Serve returns.
	t.Run("shutdown", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "admin.sock")
		a, err := Listen(sock, store, nil, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		a.methods = maps.Clone(a.methods)
		a.methods["Block"] = blockingMethod(started, ended)
		ctx, stop := context.WithCancel(context.Background())
		served := make(chan struct{})
		go func() { a.Serve(ctx); close(served) }()
		c := &Client{path: sock}
		res := make(chan error, 1)
		go func() { res <- c.call(t.Context(), "Block", none{}, nil) }()
		wait(t, "the server runs the call", started)
		stop()
		wait(t, "the call's context ends with the server", ended)
		wait(t, "Serve returns", served)
		if err := result(t, "shutdown", res); db.ErrorCode(err) != db.EUNAVAILABLE || !strings.Contains(db.ErrorMessage(err), "server is stopping") {
			t.Fatalf("call cut by the shutdown: %v, want the server's answer that it is stopping", err)
		}
	})
}

// TestEveryBackendMethodHasAHandler: the table has a handler for each
// method of the TUI's Backend, under the same name, and nothing else but
// Ping and the commands' own methods, Backup and RotateSigningKeys.
func TestEveryBackendMethodHasAHandler(t *testing.T) {
	want := map[string]bool{"Ping": true, "Backup": true, "RotateSigningKeys": true}
	bt := reflect.TypeFor[tui.Backend]()
	for i := range bt.NumMethod() {
		want[bt.Method(i).Name] = true
	}
	for name := range want {
		if methods[name] == nil {
			t.Errorf("no handler for %s", name)
		}
	}
	for name := range methods {
		if !want[name] {
			t.Errorf("handler %s is no Backend method", name)
		}
	}
	if len(want) < 20 {
		t.Fatalf("only %d methods found on tui.Backend: %v", len(want), want)
	}
}
