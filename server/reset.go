package server

import (
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"

	"invited/db"
	"invited/weburl"
)

// Password resets (DESIGN §11): the forgot-password request, setting a
// password through a reset link, and an admin's reset link.

type resetRequest struct {
	Email string `json:"email"`
}

// handleRequestPasswordReset asks for a reset link by email (POST
// /auth/reset-password). It answers 202 with no body whatever the
// address, known, unknown, malformed or a disabled account's, after the
// same work (db.Accounts.RequestPasswordReset): the answer and its time
// say nothing about which accounts exist. Only a body that is not the
// strict JSON object, or that has no email at all, is a 400.
func (s *Server) handleRequestPasswordReset(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var req resetRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if strings.TrimSpace(req.Email) == "" {
		s.writeError(w, r, db.FieldErrorf("email", "is required; give the address of the account whose password to reset"))
		return
	}
	if err := s.accounts.RequestPasswordReset(r.Context(), req.Email); err != nil {
		s.writeError(w, r, err)
		return
	}
	// Poked whether or not an email was queued, so that nothing differs.
	s.pokeOutbox()
	w.WriteHeader(http.StatusAccepted)
}

type setPasswordRequest struct {
	Password string `json:"password"`
}

// handleResetPassword sets a new password through a reset link (POST
// /auth/reset-password/:token) and answers 204: every session of the user
// has ended, so there is nothing to show and no one to show it to; the
// caller logs in with the new password. A dead link (unknown, used,
// replaced or expired) is 404, as an unknown invitation token is; a
// password the policy refuses is 400 naming password; a disabled account
// is 403.
func (s *Server) handleResetPassword(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	var req setPasswordRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.accounts.ResetPassword(r.Context(), ps.ByName("token"), req.Password, nil); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// resetLinkResponse is an admin's reset link: the one time its secret is
// shown.
type resetLinkResponse struct {
	URL       string `json:"url"`
	ExpiresAt string `json:"expiresAt"`
}

// handleCreateResetLink makes a reset link for a user without email (POST
// /api/admin/user-admin/:id/reset-link, no body or {}), under the role
// ceiling, and answers 201 with its URL and expiry; the URL is not kept.
func (s *Server) handleCreateResetLink(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	id, err := parseID(ps, "user")
	if err == nil {
		err = decodeEmpty(w, r)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	secret, t, err := s.store.CreateResetLink(actor, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, resetLinkResponse{URL: weburl.ResetPassword(s.baseURL, secret), ExpiresAt: db.FormatTime(t.ExpiresAt)})
}
