package server

import (
	"net/http"
	"net/url"
	"regexp"

	"github.com/julienschmidt/httprouter"

	"invited/db"
	"invited/server/oidc"
	"invited/server/ratelimit"
	"invited/server/web"
)

// pageLimit applies a per-IP limiter to a page and answers over the limit
// with a page; a nil limiter lets everything through.
func (s *Server) pageLimit(l *ratelimit.PerIP, h httprouter.Handle) httprouter.Handle {
	if l == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		if err := s.overLimit(l, w, r); err != nil {
			s.pages.RenderError(w, r, err)
			return
		}
		h(w, r, ps)
	}
}

// newPages builds the pages over the server's store and account flows.
func (s *Server) newPages() *web.Pages {
	return web.New(web.Deps{
		Store: s.store, Accounts: s.accounts, Host: pageHost{s}, Log: s.log,
		SiteName: s.site, BaseURL: s.baseURL, MinPasswordLength: s.policy.MinLength,
		RedirectHosts: s.appHost, OnwardOrigin: s.oidcOnwardOrigin,
		Passkeys: s.webauthn != nil,
	})
}

// cspOriginRE is what an origin put into a CSP header may look like.
var cspOriginRE = regexp.MustCompile(`^https?://[A-Za-z0-9.\-\[\]:]+$`)

// oidcOnwardOrigin is, for the rd /oidc/login?authRequestID=ID, the origin
// of that auth request's redirect URI: after the login the browser goes on
// there with the code, so the login page's CSP form-action must allow it.
// Any other rd, an unknown request, or an origin unfit for a CSP header
// gives "".
func (s *Server) oidcOnwardOrigin(rd string) string {
	u, err := url.Parse(rd)
	if err != nil || u.Path != oidc.PathLogin || u.Host != "" {
		return ""
	}
	req, err := s.store.OIDCAuthRequestByID(u.Query().Get("authRequestID"))
	if err != nil {
		return ""
	}
	ru, err := url.Parse(req.RedirectURI)
	if err != nil {
		return ""
	}
	o := ru.Scheme + "://" + ru.Host
	if !cspOriginRE.MatchString(o) {
		return ""
	}
	return o
}

// appHost admits, as an rd of /login, a host some proxy app covers
// (DESIGN §9), at any port: the gate sends people to log in from there.
// A failed lookup admits nothing.
func (s *Server) appHost(_, host string) bool {
	_, ok, err := s.store.AppForHost(host)
	return err == nil && ok
}

// pageHost lends the pages what the whole HTTP side shares: the error
// table and log, the request log, the session cookie and the counters.
type pageHost struct{ s *Server }

func (h pageHost) Describe(err error) (int, string) {
	status, _, msg, _ := describe(err)
	return status, msg
}

func (h pageHost) LogError(r *http.Request, err error, status int) {
	h.s.logError(r, err, status, requestID(r))
}

func (h pageHost) RequestID(r *http.Request) string { return requestID(r) }

func (h pageHost) SetActor(r *http.Request, u db.User) { info(r).actor = userActor(u).String() }

func (h pageHost) SessionToken(r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil {
		return c.Value
	}
	return ""
}

func (h pageHost) SetSessionCookie(w http.ResponseWriter, res db.LoginResult) {
	h.s.setSessionCookie(w, res)
}

func (h pageHost) ClearSessionCookie(w http.ResponseWriter) { h.s.clearSessionCookie(w) }

func (h pageHost) Joined(kind string) { h.s.joined(kind) }

func (h pageHost) MailQueued() { h.s.pokeOutbox() }

func (h pageHost) NotFound(w http.ResponseWriter, r *http.Request) { h.s.handleNotFound(w, r) }
