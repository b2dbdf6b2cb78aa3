package server

import (
	"net/http"
	"sync"

	"github.com/julienschmidt/httprouter"

	"invited/db"
	"invited/server/oidc"
	"invited/server/ratelimit"
)

// oidcProvider is made on first use, so that a server that never serves
// an oidc request costs nothing (tests make many servers).
type oidcProvider struct {
	once sync.Once
	p    *oidc.Provider
	err  error
}

func (s *Server) provider() (*oidc.Provider, error) {
	s.oidc.once.Do(func() {
		s.oidc.p, s.oidc.err = oidc.New(oidc.Options{
			Store: s.store, Issuer: s.baseURL, Logger: s.log,
			Session: func(r *http.Request) (db.User, bool) {
				c, err := r.Cookie(sessionCookie)
				if err != nil || c.Value == "" {
					return db.User{}, false
				}
				u, err := s.store.AuthenticateSession(c.Value)
				return u, err == nil
			},
			SessionToken: func(r *http.Request) string {
				if c, err := r.Cookie(sessionCookie); err == nil {
					return c.Value
				}
				return ""
			},
			EndSession: s.store.DeleteSession,
			ErrorPage:  s.pages.RenderError,
		})
	})
	return s.oidc.p, s.oidc.err
}

// registerOIDC adds the provider's paths to the router; the token,
// revocation and introspection endpoints, which check client secrets,
// share the login limiter, and the authorization endpoint, where each
// request is stored, shares the public one.
func (s *Server) registerOIDC() {
	for _, rt := range oidcRoutes {
		var limiter *ratelimit.PerIP
		switch rt.path {
		case oidc.PathToken, oidc.PathRevoke, oidc.PathIntrospect:
			limiter = s.authLimit
		case oidc.PathAuthorize:
			limiter = s.publicLimit
		}
		rm := s.metrics.route(rt.method, rt.path)
		pattern := rt.path
		s.router.Handle(rt.method, rt.path, func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
			ri := info(r)
			ri.route, ri.metrics = pattern, rm
			if limiter != nil {
				if err := s.overLimit(limiter, w, r); err != nil {
					s.writeError(w, r, err)
					return
				}
			}
			p, err := s.provider()
			if err != nil {
				s.log.ErrorContext(r.Context(), "start the OpenID Connect provider", "error", err)
				s.writeError(w, r, db.Errorf(db.EUNAVAILABLE, "The OpenID Connect provider could not start; the log says why."))
				return
			}
			if pattern == oidc.PathLogin {
				p.LoginHandler(w, r)
				return
			}
			p.ServeHTTP(w, r)
		})
	}
}
