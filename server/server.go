// Package server is invited's HTTP side: the JSON API, the middleware
// around it, and the route table of the whole URL space, which mounts the
// HTML pages of package web; and RunPruner, the hourly pass of `invited
// serve` that deletes expired and old records.
package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/julienschmidt/httprouter"

	"invited/db"
	"invited/server/oidc"
	"invited/server/ratelimit"
	"invited/server/web"
)

// Options are everything the server needs, passed in by main.
type Options struct {
	Store    *db.Store
	Hasher   *db.Hasher
	Policy   db.PasswordPolicy
	Logger   *slog.Logger
	SiteName string
	// BaseURL is the public URL; an https one makes cookies Secure.
	BaseURL string
	// MaxLoginAttempts failed logins in a row start slowing an account
	// down (db.Throttle); 0 means 10.
	MaxLoginAttempts int
	// LockoutMax is the longest wait failed logins give an account; 0
	// means db.DefaultLockoutMax.
	LockoutMax time.Duration
	// SessionTTL is how long a login lasts.
	SessionTTL time.Duration
	// CookieDomain is the Domain of the login cookie ("" for the host
	// only), already checked to hold BaseURL's host.
	CookieDomain string
	// RequireSecondFactor lists the roles that must have a second factor
	// (auth.require_second_factor).
	RequireSecondFactor []db.Role
	// TrustedProxies may set X-Forwarded-For.
	TrustedProxies []netip.Prefix
	// AuthPerMinute and PublicPerMinute are per-IP request rates on the
	// /auth/* and the public link routes; 0 turns a limit off.
	AuthPerMinute   int
	PublicPerMinute int
	// InvitationTTL is how long an invitation lasts when its request
	// says nothing.
	InvitationTTL time.Duration
	// Outbox is poked after a change queued an email; nil is fine.
	Outbox interface{ Poke() }
	// Webhooks is poked after every request that may have changed
	// something (any method but GET, HEAD and OPTIONS), since a change
	// may have queued webhook deliveries; nil is fine.
	Webhooks interface{ Poke() }
}

// Server serves the HTTP API over one store.
type Server struct {
	store         *db.Store
	accounts      *db.Accounts
	pages         *web.Pages
	hasher        *db.Hasher
	policy        db.PasswordPolicy
	log           *slog.Logger
	site          string
	secureCookies bool
	cookieDomain  string
	throttle      db.Throttle
	sessionTTL    time.Duration
	trusted       []netip.Prefix
	authLimit     *ratelimit.PerIP
	publicLimit   *ratelimit.PerIP
	baseURL       string
	inviteTTL     time.Duration
	outbox        interface{ Poke() }
	webhooks      interface{ Poke() }
	metrics       *serverMetrics
	router        *httprouter.Router
	oidc          oidcProvider
	handler       http.Handler
	// webauthn is the passkey relying party (passkey.go); nil when
	// server.base_url cannot be one, and then passkeys are off.
	webauthn   *webauthn.WebAuthn
	ceremonies *ceremonies
}

// New returns a server with every route registered.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxLoginAttempts <= 0 {
		opts.MaxLoginAttempts = 10
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 7 * 24 * time.Hour
	}
	s := &Server{
		store: opts.Store, hasher: opts.Hasher, policy: opts.Policy,
		log: opts.Logger, site: opts.SiteName,
		secureCookies: strings.HasPrefix(opts.BaseURL, "https://"),
		cookieDomain:  opts.CookieDomain,
		throttle:      db.Throttle{MaxAttempts: opts.MaxLoginAttempts, Max: opts.LockoutMax},
		sessionTTL:    opts.SessionTTL,
		trusted:       opts.TrustedProxies,
		authLimit:     ratelimit.New(opts.AuthPerMinute),
		publicLimit:   ratelimit.New(opts.PublicPerMinute),
		baseURL:       strings.TrimRight(opts.BaseURL, "/"),
		inviteTTL:     opts.InvitationTTL,
		outbox:        opts.Outbox,
		webhooks:      opts.Webhooks,
	}
	var why string
	if s.webauthn, why = newRelyingParty(s.baseURL, s.site); why != "" && s.baseURL != "" {
		s.log.Warn("passkeys are off", "reason", why)
	}
	s.ceremonies = newCeremonies(s.store.Now)
	s.accounts = &db.Accounts{Store: s.store, Hasher: s.hasher, Policy: s.policy, Throttle: s.throttle, SessionTTL: s.sessionTTL,
		RequireSecondFactor: opts.RequireSecondFactor}
	if s.inviteTTL <= 0 {
		s.inviteTTL = 7 * 24 * time.Hour
	}
	s.pages = s.newPages()
	s.metrics = newServerMetrics()
	if s.hasher != nil {
		s.hasher.ObserveWait(func(d time.Duration) { s.metrics.hashWait.Update(d.Seconds()) })
	}
	s.router = httprouter.New()
	s.router.RedirectTrailingSlash = false
	s.router.RedirectFixedPath = false
	s.router.HandleMethodNotAllowed = true
	s.router.NotFound = http.HandlerFunc(s.handleNotFound)
	s.router.MethodNotAllowed = http.HandlerFunc(s.handleMethodNotAllowed)
	s.router.PanicHandler = s.handlePanic
	for _, rt := range s.routes() {
		s.register(rt)
	}
	s.registerOIDC()
	// Browsers say where a request comes from; a state-changing request
	// from another site is refused, so a session cookie cannot be used
	// by a page elsewhere (CSRF). Clients that are not browsers send no
	// such headers and pass.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := db.Errorf(db.EFORBIDDEN, "Cross-origin requests that change data are refused; use this site's own pages or a non-browser client.")
		if r.URL.Path == doitInvitePath {
			s.writeDoitError(w, r, err)
			return
		}
		s.writeError(w, r, err)
	}))
	// The provider's token-side endpoints are called from other origins
	// by design (a browser app redeeming its code) and take no cookie.
	for _, path := range []string{oidc.PathToken, oidc.PathRevoke, oidc.PathIntrospect, oidc.PathUserinfo} {
		csrf.AddInsecureBypassPattern("POST " + path)
	}
	s.handler = s.logRequests(csrf.Handler(s.router))
	return s
}

// joined counts a new user who came through kind ("link" or
// "invitation") and wakes the mail worker for their welcome email.
func (s *Server) joined(kind string) {
	s.metrics.signup(kind)
	s.pokeOutbox()
}

// pokeOutbox wakes the mail worker after a change queued an email.
func (s *Server) pokeOutbox() {
	if s.outbox != nil {
		s.outbox.Poke()
	}
}

// ServeHTTP runs a request through the middleware and the router.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
	if s.webhooks != nil && r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
		s.webhooks.Poke()
	}
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, db.Errorf(db.ENOTFOUND, "There is nothing at %s %s; see /docs/openapi.json for the API.", clip(r.Method, maxLoggedMethod), redactPath(r.URL.Path)))
}

func (s *Server) handleMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, &statusError{http.StatusMethodNotAllowed, "MethodNotAllowed",
		"This path does not take " + clip(r.Method, maxLoggedMethod) + "; it takes " + w.Header().Get("Allow") + "."})
}

func (s *Server) handlePanic(w http.ResponseWriter, r *http.Request, v any) {
	s.log.ErrorContext(r.Context(), "panic in handler", "panic", v, "request_id", requestID(r))
	s.writeError(w, r, db.Errorf(db.EINTERNAL, "panic"))
}

// Serve runs an HTTP server for s on the listener until ctx ends, then
// stops taking requests and lets those in flight finish for up to grace.
func Serve(ctx context.Context, srv *http.Server, serve func() error, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- serve() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; err != nil && err != http.ErrServerClosed {
		return err
	}
	return nil
}
