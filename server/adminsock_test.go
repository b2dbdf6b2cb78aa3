package server

import (
	"encoding/gob"
	"net"
	"strings"
	"testing"
	"time"

	"invited/db"
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
	_, _, err := c.CreateAPIKey(admin, strings.Repeat("x", 2*maxRequestBytes), db.RoleEditor)
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
		var r rpcResponse
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
		return gob.NewEncoder(conn).Encode(rpcRequest{Method: strings.Repeat("M", maxRequestBytes/2)})
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
	if _, err := c.ListAPIKeys(); err != nil {
		t.Fatalf("the next call after refused requests failed: %v", err)
	}
	if _, _, err := c.CreateAPIKey(admin, "ci-bot", db.RoleEditor); err != nil {
		t.Fatalf("a normal request after refused ones failed: %v", err)
	}
}
