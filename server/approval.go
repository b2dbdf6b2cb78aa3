package server

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"invited/db"
)

// handleApproveUser lets in a user who waits for approval (no body, or
// {}): they may log in from now on (once their address is verified, when
// it must be) and are emailed so. 400 for a user who waits for nothing.
func (s *Server) handleApproveUser(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	s.changeUser(w, r, ps, func(id uint64) (db.User, error) { return s.store.ApproveUser(actor, id) })
}

// handleRejectUser deletes a user who waits for approval (no body, or {})
// and answers with the user as they were. 400 for a user who waits for
// nothing, so that it never deletes an active account.
func (s *Server) handleRejectUser(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	s.changeUser(w, r, ps, func(id uint64) (db.User, error) { return s.store.RejectUser(actor, id) })
}
