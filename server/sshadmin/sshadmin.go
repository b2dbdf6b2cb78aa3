// Package sshadmin serves the admin TUI over SSH (DESIGN §13): `invited
// serve` with server.ssh_listen set lets Admins and Editors open the same
// TUI as `invited admin` with `ssh -p PORT host`, working on the server's
// own store in-process.
//
// Only public keys registered to a user (db.Store.AddSSHKey) are accepted,
// and only while that user is active and an Editor or Admin; the check is
// made again when the session starts, with the key that actually signed.
// Changes are recorded as "ssh:<username>" with the user's role, and an
// Editor's TUI reaches only what the API lets an Editor do. Sessions need
// a terminal (a pty); a command or a plain shell request is refused.
package sshadmin

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	bm "github.com/charmbracelet/wish/bubbletea"
	"github.com/muesli/termenv"
	gossh "golang.org/x/crypto/ssh"

	"invited/db"
	"invited/server/ratelimit"
	"invited/tui"
)

// Banner is what every client reads before it authenticates.
const Banner = "invited admin TUI: log in with an SSH key registered to your invited account (Admins and Editors); passwords are not accepted.\n"

// Options configure the SSH server.
type Options struct {
	// Addr is server.ssh_listen, host:port.
	Addr string
	// HostKeyPath is the host's private key (OpenSSH format, mode 0600);
	// a new ed25519 key is written there when the file does not exist.
	HostKeyPath string
	Store       *db.Store
	Logger      *slog.Logger
	// TUI is what every session's TUI starts from; Actor, Input, Output,
	// Renderer and NoColor are set per session.
	TUI tui.Options
	// PerMinute limits new connections per client IP (limits.auth_per_minute;
	// 0 turns the limit off). IPv6 addresses count by their /64.
	PerMinute int
	// ShutdownWait bounds how long Serve waits, once its context ends, for
	// sessions to close after they were told to; 0 means 5 seconds.
	ShutdownWait time.Duration
}

// Server is the SSH server. Make one with New, run it with Serve.
type Server struct {
	opts     Options
	srv      *ssh.Server
	ln       net.Listener
	hostKey  gossh.Signer
	limiter  *ratelimit.PerIP
	mu       sync.Mutex
	programs map[*tea.Program]struct{}
	closing  bool
	// active counts the session handlers running; once closing, drained
	// is closed when it reaches 0, so that shutdown knows every session
	// had its farewell.
	active  int
	drained chan struct{}
}

// New loads or makes the host key and binds opts.Addr. It returns an error
// that names the file or the address when either cannot be used.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.ShutdownWait <= 0 {
		opts.ShutdownWait = 5 * time.Second
	}
	signer, created, err := loadOrCreateHostKey(opts.HostKeyPath)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, hostKey: signer, programs: map[*tea.Program]struct{}{}}
	s.limiter = ratelimit.New(opts.PerMinute)
	srv, err := wish.NewServer(
		// The host key goes in as an option: wish.NewServer writes a key
		// of its own to the working directory when it is given none.
		func(srv *ssh.Server) error { srv.AddHostKey(signer); return nil },
		wish.WithPublicKeyAuth(s.allowKey),
		// Shown before authentication, so that a refused client (a
		// password, an unknown key) reads what this server wants.
		wish.WithBanner(Banner),
		wish.WithMiddleware(
			// The last is the outermost: the terminal check runs first,
			// the farewell after the TUI ended.
			s.farewell,
			bm.MiddlewareWithProgramHandler(s.program, termenv.Ascii),
			requirePty,
			s.track,
		),
	)
	if err != nil {
		return nil, fmt.Errorf("set up the SSH server: %w", err)
	}
	srv.ConnCallback = s.limitConn
	srv.Version = "invited"
	s.srv = srv
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (server.ssh_listen): %w", opts.Addr, err)
	}
	s.ln = ln
	verb := "loaded"
	if created {
		verb = "created"
	}
	opts.Logger.Info("ssh admin TUI", "addr", ln.Addr().String(), "host_key", opts.HostKeyPath,
		"host_key_fingerprint", gossh.FingerprintSHA256(signer.PublicKey()), "host_key_was", verb)
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// HostKey is the server's public host key.
func (s *Server) HostKey() gossh.PublicKey { return s.hostKey.PublicKey() }

// Serve answers connections until ctx ends. Then it refuses new sessions,
// ends every open TUI with a word to its user, waits up to
// Options.ShutdownWait for the session handlers to finish, and closes the
// listener and every connection.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, ssh.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("ssh server: %w", err)
	case <-ctx.Done():
	}
	ended := make(chan struct{})
	s.mu.Lock()
	s.closing = true
	if s.active == 0 {
		close(ended)
	} else {
		s.drained = ended
	}
	programs := make([]*tea.Program, 0, len(s.programs))
	for p := range s.programs {
		programs = append(programs, p)
	}
	s.mu.Unlock()
	for _, p := range programs {
		p.Quit()
	}
	timer := time.NewTimer(s.opts.ShutdownWait)
	defer timer.Stop()
	select {
	case <-ended:
	case <-timer.C:
		s.opts.Logger.Warn("ssh sessions did not end in time; closing them", "wait", s.opts.ShutdownWait.String())
	}
	// Every session was told (or ran out of time): close the listener and
	// the connections, which clients would otherwise keep open.
	_ = s.srv.Close()
	<-errc
	return nil
}

// track counts a session while its handlers run.
func (s *Server) track(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		s.mu.Lock()
		s.active++
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.active--
			if s.active == 0 && s.drained != nil {
				close(s.drained)
				s.drained = nil
			}
			s.mu.Unlock()
		}()
		next(sess)
	}
}

// farewell runs after a session's TUI ended: when the server ended it,
// the user reads why before the connection closes.
func (s *Server) farewell(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		s.mu.Lock()
		closing := s.closing
		s.mu.Unlock()
		if closing {
			wish.Println(sess, "invited is shutting down, which ended this session; connect again when it is back.")
		}
		next(sess)
	}
}

// requirePty refuses a session without a terminal: a command (`ssh host
// ls`), `ssh -T`, or a subsystem.
func requirePty(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		_, _, ok := sess.Pty()
		if !ok || len(sess.Command()) > 0 {
			wish.Fatalln(sess, "invited: this SSH server only opens the admin TUI, which needs a terminal; connect with `ssh -t` and no command.")
			return
		}
		next(sess)
	}
}

// allowKey accepts a key registered to an active Admin or Editor.
func (s *Server) allowKey(ctx ssh.Context, key ssh.PublicKey) bool {
	// Read only: the client may not yet have proven it holds the key;
	// its use is recorded when the session starts (program).
	u, err := s.opts.Store.SSHKeyUser(key)
	if err != nil {
		if db.ErrorCode(err) == db.EINTERNAL {
			s.opts.Logger.Error("ssh login", "err", err)
		}
		s.opts.Logger.Info("ssh key refused", "user", ctx.User(), "remote", ctx.RemoteAddr().String(),
			"fingerprint", gossh.FingerprintSHA256(key))
		return false
	}
	s.opts.Logger.Info("ssh key accepted", "user", u.Username, "remote", ctx.RemoteAddr().String(),
		"fingerprint", gossh.FingerprintSHA256(key))
	return true
}

// program builds one session's TUI; nil (the session ends with a message)
// when its key no longer opens it or the server is shutting down.
func (s *Server) program(sess ssh.Session) *tea.Program {
	// The key that signed, checked again: the auth callback may have been
	// asked about several keys, and the user may have changed since.
	pk := sess.PublicKey()
	if pk == nil {
		wish.Fatalln(sess, "invited: only public-key logins open the admin TUI.")
		return nil
	}
	u, _, err := s.opts.Store.SSHLogin(pk)
	if err != nil {
		wish.Fatalln(sess, "invited: "+db.ErrSSHLogin.Message)
		return nil
	}
	name := u.Username
	if name == "" {
		name = u.Email
	}
	opts := s.opts.TUI
	opts.Actor = db.Actor{Kind: "ssh", ID: u.ID, Name: name, Role: u.RootRole, Groups: u.Groups}
	opts.Output = sess
	opts.Input = sess
	pty, _, _ := sess.Pty()
	env := sshEnviron(append(sess.Environ(), "TERM="+pty.Term))
	opts.NoColor = env.Getenv("NO_COLOR") != ""
	profile := termenv.WithProfile(termenv.Ascii)
	if pty.Term != "" && pty.Term != "dumb" {
		profile = termenv.WithEnvironment(env)
	}
	opts.Renderer = lipgloss.NewRenderer(sess, profile, termenv.WithUnsafe(), termenv.WithColorCache(true))
	if opts.Mode == "" {
		opts.Mode = "server"
	}
	model := tui.NewModel(ForRole(tui.DirectBackend(s.opts.Store), u.RootRole), opts)
	// The middleware quits the program when the session's context ends
	// (the client went away); a context here would kill it instead, which
	// the middleware logs as an error.
	p := tea.NewProgram(model, tea.WithInput(sess), tea.WithOutput(sess), tea.WithAltScreen(),
		tea.WithoutSignalHandler())
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		wish.Fatalln(sess, "invited is shutting down; connect again when it is back.")
		return nil
	}
	s.programs[p] = struct{}{}
	s.mu.Unlock()
	s.opts.Logger.Info("ssh session opened", "actor", opts.Actor.String(), "remote", sess.RemoteAddr().String())
	go func() {
		<-sess.Context().Done()
		s.mu.Lock()
		delete(s.programs, p)
		s.mu.Unlock()
		s.opts.Logger.Info("ssh session closed", "actor", opts.Actor.String())
	}()
	return p
}

// sshEnviron is a session's environment for termenv.
type sshEnviron []string

func (e sshEnviron) Environ() []string { return e }

func (e sshEnviron) Getenv(k string) string {
	for _, v := range e {
		if strings.HasPrefix(v, k+"=") {
			return v[len(k)+1:]
		}
	}
	return ""
}

// loadOrCreateHostKey reads the private host key at path, or writes a new
// ed25519 key there (mode 0600, never over an existing file) when there is
// none. created says which.
func loadOrCreateHostKey(path string) (gossh.Signer, bool, error) {
	raw, err := os.ReadFile(path)
	if err == nil {
		signer, err := gossh.ParsePrivateKey(raw)
		if err != nil {
			return nil, false, fmt.Errorf("read the SSH host key %s: %w; move the file away to have a new key made (clients will then warn that the host key changed)", path, err)
		}
		return signer, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("read the SSH host key: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, err
	}
	block, err := gossh.MarshalPrivateKey(priv, "invited host key")
	if err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("write the SSH host key: %w; check that the data directory is writable", err)
	}
	_, err = f.Write(pem.EncodeToMemory(block))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return nil, false, fmt.Errorf("write the SSH host key %s: %w", path, err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		return nil, false, err
	}
	return signer, true, nil
}

// limitConn drops a connection from an address past its per-minute
// allowance before any SSH is spoken.
func (s *Server) limitConn(_ ssh.Context, conn net.Conn) net.Conn {
	ap, err := netip.ParseAddrPort(conn.RemoteAddr().String())
	if err != nil {
		return conn
	}
	if ok, _ := s.limiter.Allow(ap.Addr()); !ok {
		s.opts.Logger.Warn("ssh connection refused: too many from this address", "remote", conn.RemoteAddr().String())
		_ = conn.Close()
		return nil
	}
	return conn
}
