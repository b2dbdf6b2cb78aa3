// Package smtptest is an SMTP server for tests: it listens on loopback,
// keeps every message it is given, and takes received messages apart.
//
// Only tests import it, so that the invited binary does not link go-smtp.
package smtptest

import (
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"invited/internal/testutil"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message as the server received it.
type Message struct {
	From       string   // MAIL FROM
	To         []string // RCPT TO
	Data       []byte   // the raw message
	User, Pass string   // the AUTH PLAIN credentials of the session, if any
}

// Config says where a Server listens and whether it wants a login.
type Config struct {
	// Addr is the address to listen on: "127.0.0.1:0" when empty, or a
	// fixed loopback port such as "127.0.0.1:2525".
	Addr string
	// With Username set, the server offers AUTH PLAIN and refuses mail
	// from sessions that did not log in with Username and Password.
	Username, Password string
}

// Server is a plain-text SMTP server (no TLS) that records every message.
type Server struct {
	user, pass string
	l          net.Listener
	srv        *smtp.Server
	served     chan struct{}
	closeOnce  sync.Once

	mu   sync.Mutex
	msgs []Message
}

// Start runs a Server as c says until Close is called or the test ends.
func Start(tb testing.TB, c Config) *Server {
	tb.Helper()
	addr := c.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatalf("SMTP test server: listen on %s: %v", addr, err)
	}
	s := &Server{user: c.Username, pass: c.Password, l: l, served: make(chan struct{})}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{s: s}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout, s.srv.WriteTimeout = 5*time.Second, 5*time.Second
	s.srv.MaxMessageBytes = 1 << 20
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	go func() { _ = s.srv.Serve(l); close(s.served) }()
	tb.Cleanup(s.Close)
	return s
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.l.Addr().String() }

// Port is the port the server listens on.
func (s *Server) Port() int { return s.l.Addr().(*net.TCPAddr).Port }

// Close stops the server and frees its address. It may be called again.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		_ = s.srv.Close()
		_ = s.l.Close() // in case Serve has not taken it over yet
		<-s.served
	})
}

// Messages returns what arrived so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// MessagesTo returns what arrived so far for one recipient (in any case).
func (s *Server) MessagesTo(rcpt string) []Message {
	var out []Message
	for _, m := range s.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, rcpt) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// WaitMessages waits (at most timeout) until at least n messages arrived,
// and returns them all. It fails the test when they do not.
func (s *Server) WaitMessages(tb testing.TB, n int, timeout time.Duration) []Message {
	tb.Helper()
	return s.wait(tb, n, timeout, "all", s.Messages)
}

// WaitMessagesTo waits (at most timeout) until at least n messages arrived
// for rcpt, and returns those. It fails the test when they do not.
func (s *Server) WaitMessagesTo(tb testing.TB, rcpt string, n int, timeout time.Duration) []Message {
	tb.Helper()
	return s.wait(tb, n, timeout, rcpt, func() []Message { return s.MessagesTo(rcpt) })
}

// wait polls list until it holds at least n messages, and fails the test
// when timeout passes first.
func (s *Server) wait(tb testing.TB, n int, timeout time.Duration, rcpt string, list func() []Message) []Message {
	tb.Helper()
	var msgs []Message
	testutil.Eventually(tb, timeout, fmt.Sprintf("%d emails for %s", n, rcpt), func() error {
		if msgs = list(); len(msgs) < n {
			return fmt.Errorf("%d arrived; all so far: %v", len(msgs), Describe(s.Messages()))
		}
		return nil
	})
	return msgs
}

// Describe names each message by its recipients and subject, for test
// failure messages.
func Describe(msgs []Message) []string {
	var out []string
	for _, m := range msgs {
		subject, _ := Subject(m.Data)
		out = append(out, fmt.Sprintf("%v %q", m.To, subject))
	}
	return out
}

// session is one SMTP connection.
type session struct {
	s      *Server
	cur    Message
	authed bool
}

func (ss *session) AuthMechanisms() []string {
	if ss.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		ss.cur.User, ss.cur.Pass = username, password
		if username != ss.s.user || password != ss.s.pass {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.user != "" && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.cur.From = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.cur.To = append(ss.cur.To, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.cur.Data = data
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, ss.cur)
	ss.s.mu.Unlock()
	ss.Reset()
	return nil
}

// Reset forgets the message under way; the login of the session stays.
func (ss *session) Reset()        { ss.cur.From, ss.cur.To, ss.cur.Data = "", nil, nil }
func (ss *session) Logout() error { return nil }
