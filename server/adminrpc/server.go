package adminrpc

import (
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"invited/db"
)

// Poker is told when a call queued email, so that it goes out now rather
// than at the outbox's next round.
type Poker interface{ Poke() }

// Server serves the admin socket for a store.
type Server struct {
	store   *db.Store
	outbox  Poker
	log     *slog.Logger
	ln      net.Listener
	path    string
	wg      sync.WaitGroup
	methods map[string]handler
}

// Listen creates the socket at path (replacing a stale one left by a
// crash) with mode 0600. The caller holds the database, so no other live
// server can own the socket. outbox may be nil.
func Listen(path string, store *db.Store, outbox Poker, log *slog.Logger) (*Server, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale admin socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return &Server{store: store, outbox: outbox, log: log, ln: ln, path: path, methods: methods}, nil
}

// Serve answers connections until ctx ends, then closes the listener,
// cancels the calls in flight and waits for them, and removes the socket
// file.
func (s *Server) Serve(ctx context.Context) {
	go func() { <-ctx.Done(); s.ln.Close() }()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			break
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(ctx, conn)
		}()
	}
	s.wg.Wait()
	os.Remove(s.path)
}

// errUnreadable marks a request that could not be decoded.
type errUnreadable struct{ err error }

func (e errUnreadable) Error() string { return e.err.Error() }

func (s *Server) serveConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(defaultTimeout))
	limited := &io.LimitedReader{R: conn, N: maxRequestBytes + 1}
	dec := gob.NewDecoder(limited)
	enc := gob.NewEncoder(conn)

	var h requestHeader
	err := dec.Decode(&h)
	var run call
	if err == nil {
		decode, ok := s.methods[h.Method]
		if !ok {
			s.answer(enc, h.Method, nil, db.Errorf(db.EINVALID, "The admin socket has no method %q; are invited and the server the same version?", clip(h.Method, 64)))
			return
		}
		run, err = decode(dec)
	}
	var res any
	if err == nil {
		// The call's context ends when the server stops or the client
		// hangs up: the client sends nothing after its request (read
		// whole by now), so a read returns only when the connection
		// closes or its deadline passes.
		callCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			var b [1]byte
			_, _ = conn.Read(b[:])
			cancel()
		}()
		res, err = run(callCtx, s)
		if st, ok := res.(stream); ok && err == nil {
			s.stream(callCtx, conn, enc, st)
			return
		}
	}
	var unreadable errUnreadable
	if err != nil && (errors.As(err, &unreadable) || h.Method == "") {
		// The answer never echoes what was sent: it may be anything.
		msg := "The request could not be read; are invited and the server the same version?"
		tooLarge := limited.N <= 0
		if tooLarge {
			msg = fmt.Sprintf("The request is larger than %d bytes, the most the admin socket takes; send less.", maxRequestBytes)
		}
		s.log.Warn("admin socket: unreadable request", "error", clip(err.Error(), 200), "too_large", tooLarge)
		err = db.Errorf(db.EINVALID, "%s", msg)
	} else if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// A call broken off because the server stops is no fault.
		err = db.Errorf(db.EUNAVAILABLE, "The server is stopping; try again once it runs again.")
	}
	s.answer(enc, h.Method, res, err)
}

// answer writes the response header and, on success, the response.
func (s *Server) answer(enc *gob.Encoder, method string, res any, err error) {
	if err != nil {
		if db.ErrorCode(err) == db.EINTERNAL {
			s.log.Error("admin socket call failed", "method", clip(method, 64), "error", err)
		}
		if err := enc.Encode(responseHeader{Err: toDBError(err)}); err != nil {
			s.log.Warn("admin socket: write answer", "error", err)
		}
		return
	}
	if err := enc.Encode(responseHeader{}); err != nil {
		s.log.Warn("admin socket: write answer", "error", err)
		return
	}
	if !isEmpty(res) {
		if err := enc.Encode(res); err != nil {
			s.log.Warn("admin socket: write answer", "error", err)
		}
	}
}

// stream lets a response write itself after its header (the backup: a
// large file may take a while, so the deadline goes). An ended call
// context breaks off the writing.
func (s *Server) stream(ctx context.Context, conn net.Conn, enc *gob.Encoder, st stream) {
	_ = conn.SetDeadline(time.Time{})
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := st(conn, enc); err != nil {
		s.log.Error("admin socket: backup failed", "error", err)
	}
}

func toDBError(err error) *db.Error {
	var e *db.Error
	if errors.As(err, &e) {
		return e
	}
	return &db.Error{Code: db.EINTERNAL, Message: db.ErrorMessage(err)}
}

func (s *Server) poke() {
	if s.outbox != nil {
		s.outbox.Poke()
	}
}
