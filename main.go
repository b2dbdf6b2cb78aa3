// Command invited lets people into a small team's systems: signup links,
// email invitations and users, served over HTTP and managed from a terminal.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"invited/db"
	"invited/server"
	"invited/server/adminrpc"
	"invited/server/mail"
	"invited/server/sshadmin"
	"invited/server/webhook"
	"invited/tui"
)

// version and commit are set at build time:
// go build -ldflags "-X main.version=v1.2.3 -X main.commit=$(git rev-parse --short HEAD)"
var (
	version = "dev"
	commit  = ""
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "invited:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// usageError is a mistake in the command line; main exits 2 for it.
type usageError struct{ msg string }

func (e usageError) Error() string        { return e.msg }
func (e usageError) Is(target error) bool { return target == errUsage }

const usage = `invited lets people into a small team's systems.

Usage:
  invited serve [--config FILE]                       run the HTTP server
  invited admin [--config FILE]                       open the admin terminal UI
  invited apikey create --name NAME [--role admin|editor] [--config FILE]
                                                      print a new API key once
  invited backup FILE [--config FILE]                 write a consistent copy of the database
  invited rotate-keys [--config FILE]                 add a new OpenID Connect signing key
  invited version                                     print version and build info

With no --config, built-in defaults apply (see config.example.toml); every
key can also be set as INVITED_<SECTION>_<KEY> in the environment.
`

// run is the whole program, with its OS handles passed in so that tests can
// run it in-process.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], environ, stderr)
	case "admin":
		return runAdmin(ctx, args[1:], environ, stdout, stderr)
	case "apikey":
		if len(args) < 2 || args[1] != "create" {
			fmt.Fprint(stderr, usage)
			return usageError{"apikey takes the subcommand create"}
		}
		return runAPIKeyCreate(args[2:], environ, stdout, stderr)
	case "backup":
		return runBackup(args[1:], environ, stdout, stderr)
	case "rotate-keys":
		return runRotateKeys(args[1:], environ, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, versionLine())
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}

func versionLine() string {
	rev := commit
	if bi, ok := debug.ReadBuildInfo(); ok && rev == "" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = s.Value
			}
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	return fmt.Sprintf("invited %s (commit %s, %s, %s/%s)", version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// loadConfig parses a subcommand's flags (at least --config) and loads the
// configuration, logging any warnings.
func loadConfig(fs *flag.FlagSet, args, environ []string, stderr io.Writer) (Config, error) {
	configPath := fs.String("config", "", "TOML configuration `file` (default: built-in defaults)")
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return Config{}, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return Config{}, usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	cfg, warnings, err := LoadConfig(*configPath, environ)
	if err != nil {
		return Config{}, err
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	return cfg, nil
}

func newLogger(cfg LogConfig, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serveLockWait is how long `invited serve` waits for the database file.
// `invited admin`, `apikey create` and `backup` hold it only while they
// work (milliseconds, or a backup's copy), so the server waits them out
// instead of failing a restart.
const serveLockWait = 5 * time.Second

// openStore opens the database, explaining a held lock in terms of what
// the admin should do.
func openStore(cfg Config) (*db.Store, error) {
	store, err := openStoreTimeout(cfg, serveLockWait)
	if errors.Is(err, db.ErrLocked) {
		return nil, fmt.Errorf("the database %s is in use by another process: is `invited serve` already running on this data folder? Stop it, or point --config / INVITED_STORAGE_DATA_DIR at another folder", cfg.DatabasePath())
	}
	return store, err
}

// openStoreTimeout opens the database, waiting at most wait for another
// process to let go of it. Emails are queued as data; the server's mail
// worker renders them with its own configuration when it sends them.
func openStoreTimeout(cfg Config, wait time.Duration) (*db.Store, error) {
	return db.Open(cfg.DatabasePath(), db.Options{
		WelcomeEmails: cfg.Mail.Welcome, NotifyInviter: cfg.Mail.NotifyInviter, LockTimeout: wait,
		OwnHost: ownHost(cfg), VerifyEmail: db.VerifyEmailMode(cfg.Auth.VerifyEmail),
	})
}

// ownHost is the host name of server.base_url, which no app may claim.
func ownHost(cfg Config) string {
	u, err := url.Parse(cfg.Server.BaseURL)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// siteOf is the configuration emails are rendered with.
func siteOf(cfg Config) mail.Site {
	return mail.Site{Name: cfg.Site.Name, BaseURL: cfg.Server.BaseURL}
}

// osUser names the person at the terminal, for audit events.
func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

func runServe(ctx context.Context, args, environ []string, stderr io.Writer) error {
	cfg, err := loadConfig(flag.NewFlagSet("serve", flag.ContinueOnError), args, environ, stderr)
	if err != nil {
		return err
	}
	// Logs are buffered and written every 100 ms (and at exit), so the
	// per-request line costs no system call of its own.
	logOut := newFlushWriter(stderr, 100*time.Millisecond)
	defer logOut.Close()
	log := newLogger(cfg.Log, logOut)
	stopDebug, err := startDebugListener(environ, log)
	if err != nil {
		return err
	}
	defer stopDebug()

	store, err := openStore(cfg)
	if err != nil {
		return err
	}
	defer store.Close()
	if m := store.Migration; m.Backup != "" {
		log.Info("migrated the database schema", "from", m.From, "to", m.To, "backup", m.Backup)
	}
	for _, w := range store.Migration.Warnings {
		log.Warn("database migration: " + w)
	}
	if err := ensureInitKeys(store, cfg.Auth.InitAdminAPITokens, log); err != nil {
		return err
	}

	hasher, err := db.NewHasher(db.HashParams{
		MemoryKiB: cfg.Auth.Argon2MemoryKiB, Iterations: cfg.Auth.Argon2Iterations, Parallelism: cfg.Auth.Argon2Parallelism,
	}, cfg.Auth.MaxConcurrentHashes, 3*time.Second)
	if err != nil {
		return fmt.Errorf("set up password hashing: %w", err)
	}
	log.Info("password hashing", "slots", hasher.Slots(), "argon2_memory_kib", cfg.Auth.Argon2MemoryKiB,
		"at_most_mib", int64(hasher.Slots())*int64(cfg.Auth.Argon2MemoryKiB)>>10)
	sender, err := mail.NewSender(mail.SenderOptions{
		Driver: cfg.Mail.Driver, Host: cfg.Mail.Host, Port: cfg.Mail.Port, Username: cfg.Mail.Username,
		Password: cfg.Mail.Password, From: cfg.Mail.From, TLS: cfg.Mail.TLS,
	}, log)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	outbox := mail.NewOutbox(store, sender, siteOf(cfg), log, mail.OutboxOptions{
		BaseDelay: cfg.Mail.RetryDelay.Duration, MaxAttempts: cfg.Mail.MaxAttempts,
	})
	// The worker stops after the HTTP server, so nothing a request queued
	// is left unsent for long; what is still pending waits in the file.
	outboxCtx, stopOutbox := context.WithCancel(context.Background())
	outboxDone := make(chan struct{})
	go func() { outbox.Run(outboxCtx); close(outboxDone) }()
	defer func() { stopOutbox(); <-outboxDone }()

	// Webhook deliveries (DESIGN §12) have their own worker, stopped
	// after the HTTP server like the mail one.
	hooks := webhook.New(store, log, webhook.Options{
		MaxAttempts: cfg.Webhooks.MaxAttempts, BaseDelay: cfg.Webhooks.RetryDelay.Duration,
		AllowPrivate: cfg.Webhooks.AllowPrivate, Render: server.WebhookBody(cfg.Server.BaseURL),
	})
	hooksCtx, stopHooks := context.WithCancel(context.Background())
	hooksDone := make(chan struct{})
	go func() { hooks.Run(hooksCtx); close(hooksDone) }()
	defer func() { stopHooks(); <-hooksDone }()

	trusted, err := server.ParseTrustedProxies(cfg.Server.TrustedProxies)
	if err != nil {
		return err
	}
	// Expired sessions, codes and tokens, and events and emails past
	// their retention, are deleted at once and then every hour, in short
	// transactions beside the requests'. The loop stops before the store
	// closes.
	pruneCtx, stopPruner := context.WithCancel(context.Background())
	prunerDone := make(chan struct{})
	go func() {
		server.RunPruner(pruneCtx, store, server.PrunerOptions{Retention: cfg.Retention.retention(), Logger: log})
		close(prunerDone)
	}()
	defer func() { stopPruner(); <-prunerDone }()
	// The OpenID Connect provider signs with the current key; the first
	// one is made here rather than by the first sign-in.
	if _, err := store.EnsureSigningKey(); err != nil {
		return fmt.Errorf("make the OpenID Connect signing key: %w", err)
	}
	srv := server.New(server.Options{
		Store: store, Hasher: hasher, Logger: log, SiteName: cfg.Site.Name, BaseURL: cfg.Server.BaseURL,
		Policy:           db.PasswordPolicy{MinLength: cfg.Auth.MinPasswordLength, MinScore: cfg.Auth.MinPasswordScore},
		MaxLoginAttempts: cfg.Auth.MaxLoginAttempts,
		LockoutMax:       cfg.Auth.LockoutMax.Duration,
		SessionTTL:       cfg.Auth.SessionTTL.Duration,
		CookieDomain:     cfg.Auth.CookieDomain,
		TrustedProxies:   trusted,
		AuthPerMinute:    cfg.Limits.AuthPerMinute,
		PublicPerMinute:  cfg.Limits.PublicPerMinute,
		InvitationTTL:    cfg.Invitations.DefaultTTL.Duration,
		Outbox:           outbox,
		Webhooks:         hooks,
		// auth.require_second_factor, already validated.
		RequireSecondFactor: cfg.Auth.secondFactorRoles(),
	})

	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (server.listen): %w", cfg.Server.Listen, err)
	}
	httpServer := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme, serve := "http", func() error { return httpServer.Serve(ln) }
	if cfg.Server.TLSCert != "" {
		httpServer.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		scheme, serve = "https", func() error { return httpServer.ServeTLS(ln, cfg.Server.TLSCert, cfg.Server.TLSKey) }
	}
	log.Info("invited is listening", "addr", scheme+"://"+ln.Addr().String(), "base_url", cfg.Server.BaseURL, "version", version)
	log.Info("data", "database", cfg.DatabasePath(), "mail", cfg.Mail.Driver)
	if keys, err := store.ListAPIKeys(); err == nil && len(keys) == 0 {
		log.Warn("no API keys yet: run `invited apikey create --name admin` in another terminal (it prints a key once), or open `invited admin`")
	} else if err == nil {
		log.Info("admin API keys", "count", len(keys), "hint", "create another with `invited apikey create --name NAME`, or in `invited admin`")
	}

	sock, err := adminrpc.Listen(cfg.SocketPath(), store, outbox, log)
	if err != nil {
		return err
	}
	sockCtx, stopSock := context.WithCancel(context.Background())
	sockDone := make(chan struct{})
	go func() { sock.Serve(sockCtx); close(sockDone) }()
	defer func() { stopSock(); <-sockDone }()
	log.Info("admin socket", "path", cfg.SocketPath(), "hint", "run `invited admin` on this machine to manage everything")

	// The admin TUI over SSH (DESIGN §13), on this process's store. It
	// stops before the store closes: its sessions are told and closed
	// when ctx ends, before the HTTP server's shutdown returns.
	if cfg.Server.SSHListen != "" {
		sshSrv, err := sshadmin.New(sshadmin.Options{
			Addr: cfg.Server.SSHListen, HostKeyPath: cfg.SSHHostKeyPath(), Store: store, Logger: log,
			PerMinute: cfg.Limits.AuthPerMinute,
			TUI: tui.Options{
				Mode: "server", DataPath: cfg.DatabasePath(), SiteName: cfg.Site.Name, BaseURL: cfg.Server.BaseURL,
				Inviter:          siteOf(cfg).Team(),
				MaxLoginAttempts: cfg.Auth.MaxLoginAttempts,
				InvitationTTL:    cfg.Invitations.DefaultTTL.Duration,
			},
		})
		if err != nil {
			return err
		}
		sshCtx, stopSSH := context.WithCancel(ctx)
		sshDone := make(chan error, 1)
		go func() { sshDone <- sshSrv.Serve(sshCtx) }()
		defer func() {
			stopSSH()
			if err := <-sshDone; err != nil {
				log.Error("ssh server", "err", err)
			}
		}()
	}

	err = server.Serve(ctx, httpServer, serve, 15*time.Second)
	log.Info("invited stopped")
	return err
}

// The socket client must offer the TUI everything the store does.
var _ tui.Backend = (*adminrpc.Client)(nil)

// runAdmin opens the admin TUI. It works on the database file, opening it
// only for each operation so that `invited serve` can start meanwhile, and
// through the server's admin socket while a server holds the file.
func runAdmin(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(flag.NewFlagSet("admin", flag.ContinueOnError), args, environ, stderr)
	if err != nil {
		return err
	}
	backend := adminBackend(cfg)
	// One operation at start, so that a damaged file or a held one with
	// no server is reported before the screen opens.
	probeCtx, cancel := context.WithTimeout(ctx, time.Minute)
	err = backend.Probe(probeCtx)
	cancel()
	if err != nil {
		if errors.Is(err, db.ErrLocked) || db.ErrorCode(err) == db.EUNAVAILABLE {
			return fmt.Errorf("the database %s is in use by another process, and no server answers on %s: if `invited serve` is starting or stopping, try again in a moment; otherwise stop the program that holds the file", cfg.DatabasePath(), cfg.SocketPath())
		}
		return err
	}
	opts := tui.Options{
		Mode: backend.Mode(), DataPath: cfg.DatabasePath(), SiteName: cfg.Site.Name, BaseURL: cfg.Server.BaseURL,
		Actor:            db.Actor{Kind: "tui", Name: osUser(), Role: db.RoleAdmin},
		Inviter:          siteOf(cfg).Team(),
		MaxLoginAttempts: cfg.Auth.MaxLoginAttempts,
		InvitationTTL:    cfg.Invitations.DefaultTTL.Duration,
		Output:           stdout,
		NoColor:          lookupEnv(environ, "NO_COLOR") != "",
	}
	return tui.Run(ctx, backend, opts)
}

// adminLockWait is how long one TUI operation waits for the database file
// before it asks the server's admin socket instead.
const adminLockWait = 300 * time.Millisecond

// adminBackend is the TUI's backend: the file while no server holds it,
// else the server's admin socket, chosen again whenever the other side
// stops working.
func adminBackend(cfg Config) *tui.SwitchingBackend {
	return tui.NewSwitchingBackend(tui.SwitchOptions{
		Open: func(readOnly bool) (*db.Store, error) {
			if readOnly {
				return db.Open(cfg.DatabasePath(), db.Options{ReadOnly: true, LockTimeout: adminLockWait})
			}
			return openStoreTimeout(cfg, adminLockWait)
		},
		Dial: func(ctx context.Context) (tui.Backend, error) { return adminrpc.Dial(ctx, cfg.SocketPath()) },
	})
}

// lookupEnv is the value of name in environ, or "".
func lookupEnv(environ []string, name string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v
		}
	}
	return ""
}

// openOrDial opens the database, or, when a running server holds it,
// connects to that server's admin socket. close releases either.
func openOrDial(ctx context.Context, cfg Config) (store *db.Store, client *adminrpc.Client, close func(), err error) {
	store, err = openStoreTimeout(cfg, adminLockWait)
	if err == nil {
		return store, nil, func() { store.Close() }, nil
	}
	if !errors.Is(err, db.ErrLocked) {
		return nil, nil, nil, err
	}
	client, derr := adminrpc.Dial(ctx, cfg.SocketPath())
	if derr != nil {
		return nil, nil, nil, fmt.Errorf("the database %s is in use by another process, and no server answers on %s: if `invited serve` is starting or stopping, try again in a moment; otherwise stop the program that holds the file (%v)", cfg.DatabasePath(), cfg.SocketPath(), derr)
	}
	return nil, client, func() {}, nil
}

// ensureInitKeys creates the admin keys named in auth.init_admin_api_tokens
// that do not exist yet. Their names derive from a hash of the key, so they
// are stable across restarts and reveal nothing.
func ensureInitKeys(store *db.Store, tokens []string, log *slog.Logger) error {
	for _, raw := range tokens {
		sum := sha256.Sum256([]byte(strings.TrimSpace(raw)))
		name := "init-" + hex.EncodeToString(sum[:4])
		created, err := store.EnsureAPIKey(name, raw)
		if err != nil {
			return err
		}
		if created {
			log.Info("created admin API key from auth.init_admin_api_tokens", "name", name)
		}
	}
	return nil
}

func runAPIKeyCreate(args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("apikey create", flag.ContinueOnError)
	name := fs.String("name", "", "what the key is for, e.g. ci-bot (required)")
	roleName := fs.String("role", "admin", "the key's role: admin or editor")
	cfg, err := loadConfig(fs, args, environ, stderr)
	if err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return usageError{"apikey create needs --name NAME, e.g. --name ci-bot"}
	}
	role, ok := db.ParseRole(*roleName)
	if !ok || (role != db.RoleAdmin && role != db.RoleEditor) {
		return usageError{fmt.Sprintf("--role %q: use admin or editor", *roleName)}
	}
	// One short call: a server that does not answer within a minute is
	// reported rather than waited for.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store, client, release, err := openOrDial(ctx, cfg)
	if err != nil {
		return err
	}
	defer release()
	var keys tui.Backend = client
	if store != nil {
		keys = tui.DirectBackend(store)
	}
	actor := db.Actor{Kind: "cli", Name: osUser(), Role: db.RoleAdmin}
	key, raw, err := keys.CreateAPIKey(ctx, actor, *name, role)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, raw)
	fmt.Fprintf(stderr, "Created the %s API key %q. It is shown only this once: store it now. Use it as the header `Authorization: Bearer KEY`.\n", key.Role.Name(), key.Name)
	return nil
}

func runBackup(args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	// The file comes first ("invited backup FILE --config x"); flags may
	// follow it.
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError{"backup needs the file to write: invited backup FILE"}
	}
	target := args[0]
	cfg, err := loadConfig(fs, args[1:], environ, stderr)
	if err != nil {
		return err
	}
	// A backup takes as long as the file needs: only the connection's
	// start is bounded.
	ctx := context.Background()
	dialCtx, cancel := context.WithTimeout(ctx, time.Minute)
	store, client, release, err := openOrDial(dialCtx, cfg)
	cancel()
	if err != nil {
		return err
	}
	defer release()
	n, err := writeFileAtomic(target, func(w io.Writer) (int64, error) {
		if client != nil {
			return client.Backup(ctx, w)
		}
		var size int64
		err := store.Backup(func(sz int64, write func(io.Writer) error) error {
			size = sz
			return write(w)
		})
		return size, err
	})
	if err != nil {
		return fmt.Errorf("backup to %s: %w", target, err)
	}
	// A copy that does not open is no backup: check it.
	check, err := db.Open(target, db.Options{ReadOnly: true, LockTimeout: time.Second})
	if err != nil {
		return fmt.Errorf("the copy at %s does not open: %w", target, err)
	}
	version, verr := check.SchemaVersionOnDisk()
	check.Close()
	if verr != nil {
		return fmt.Errorf("the copy at %s is not readable: %w", target, verr)
	}
	mode := "from the file"
	if client != nil {
		mode = "from the running server"
	}
	fmt.Fprintf(stdout, "Wrote %s (%d bytes, schema %d, %s).\n", target, n, version, mode)
	return nil
}

// runRotateKeys adds a new OpenID Connect signing key (DESIGN §10), through
// the running server's admin socket or on the file. The key it replaces
// stays published for db.DefaultSigningKeyKeep.
func runRotateKeys(args, environ []string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(flag.NewFlagSet("rotate-keys", flag.ContinueOnError), args, environ, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	store, client, release, err := openOrDial(ctx, cfg)
	if err != nil {
		return err
	}
	defer release()
	actor := db.Actor{Kind: "cli", Name: osUser(), Role: db.RoleAdmin}
	var id, mode string
	if client != nil {
		id, err = client.RotateSigningKeys(ctx, actor)
		mode = "through the running server"
	} else {
		var k db.SigningKey
		k, err = store.RotateSigningKeys(actor, db.DefaultSigningKeyKeep)
		id, mode = k.ID, "in the file"
	}
	if err != nil {
		return fmt.Errorf("rotate the signing keys: %w", err)
	}
	fmt.Fprintf(stdout, "New signing key %s (%s); it signs from now on.\n", id, mode)
	fmt.Fprintf(stdout, "The key it replaces stays published for %s, until every token it signed has expired; then the next rotation deletes it.\n", db.DefaultSigningKeyKeep)
	return nil
}

// writeFileAtomic writes a file through a temporary one in the same
// folder, fsynced and renamed into place, so the target is never half
// written.
func writeFileAtomic(path string, write func(io.Writer) (int64, error)) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".invited-backup-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	n, err := write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	return n, err
}

// flushWriter buffers writes to w and flushes them every interval and on
// Close. Each Write is kept whole, so log lines never interleave.
type flushWriter struct {
	mu   sync.Mutex
	buf  *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

func newFlushWriter(w io.Writer, every time.Duration) *flushWriter {
	f := &flushWriter{buf: bufio.NewWriterSize(w, 64<<10), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				f.flush()
			case <-f.stop:
				return
			}
		}
	}()
	return f
}

func (f *flushWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf.Write(p)
}

func (f *flushWriter) flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = f.buf.Flush()
}

// Close stops the timer and writes out what is left.
func (f *flushWriter) Close() {
	close(f.stop)
	<-f.done
	f.flush()
}
