package server

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"invited/db"
)

type signupRequest struct {
	Username string `json:"username"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

// publicLinkError turns a lookup failure of a public link route into the
// seed's 400: those routes answer only 200, 400 and 409.
func publicLinkError(err error) error {
	if db.ErrorCode(err) == db.ENOTFOUND {
		return &db.Error{Code: db.EINVALID, Message: db.ErrorMessage(err)}
	}
	return err
}

func (s *Server) handleValidateToken(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	if err := s.store.CheckSignupToken(ps.ByName("token"), ""); err != nil {
		s.writeError(w, r, publicLinkError(err))
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handleSignup signs a person up through a link: one call to
// Accounts.SignupWithLink, which refuses early, hashes and writes.
func (s *Server) handleSignup(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	secret := ps.ByName("token")
	var req signupRequest
	if err := decode(w, r, &req); err != nil {
		// A link that cannot be used is said before anything about the
		// body; it is looked up only on this error path, so that a good
		// request costs one domain call.
		if lerr := s.store.CheckSignupToken(secret, ""); lerr != nil {
			err = lerr
		}
		s.writeError(w, r, publicLinkError(err))
		return
	}
	user, err := s.accounts.SignupWithLink(r.Context(), secret, db.NewAccount{
		Email: req.Email, Name: req.Name, Username: req.Username, Password: req.Password})
	if err != nil {
		s.writeError(w, r, publicLinkError(err))
		return
	}
	s.joined("link")
	writeJSON(w, http.StatusOK, newUserResponse(user))
}
