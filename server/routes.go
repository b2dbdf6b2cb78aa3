package server

import (
	"net/http"

	"github.com/julienschmidt/httprouter"
)

// routes lists the whole URL space.
func (s *Server) routes() {
	// Signup links (Unleash's public signup tokens).
	s.handleAuth("POST", "/api/admin/invite-link/tokens", permManageLinks, s.handleCreateToken)
	s.handleAuth("GET", "/api/admin/invite-link/tokens", permManageLinks, s.handleListTokens)
	s.handleAuth("GET", "/api/admin/invite-link/tokens/:token", permManageLinks, s.handleGetToken)
	s.handleAuth("PUT", "/api/admin/invite-link/tokens/:token", permManageLinks, s.handleUpdateToken)
	s.handle("GET", "/invite/:token/validate", s.handleValidateToken)
	s.handle("POST", "/invite/:token/signup", s.handleSignup)

	// Operations.
	s.handle("GET", "/health", s.handleHealth)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if _, err := s.store.SchemaVersionOnDisk(); err != nil {
		s.log.ErrorContext(r.Context(), "health check: database unreadable", "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"health": "BAD"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"health": "GOOD"})
}
