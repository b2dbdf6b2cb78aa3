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

func (s *Server) handleSignup(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	secret := ps.ByName("token")
	if err := s.store.CheckSignupToken(secret, ""); err != nil {
		s.writeError(w, r, publicLinkError(err))
		return
	}
	var req signupRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	user, err := s.signup(r, secret, db.UserInput{Email: req.Email, Name: req.Name, Username: req.Username, Password: req.Password})
	if err != nil {
		s.writeError(w, r, publicLinkError(err))
		return
	}
	writeJSON(w, http.StatusOK, newUserResponse(user))
}

// signup validates the input, hashes the password outside any write
// transaction, then redeems the link. Cheap checks run first so that a
// refused signup costs no hash.
func (s *Server) signup(r *http.Request, secret string, in db.UserInput) (db.User, error) {
	if err := s.checkSignupDomain(secret, in.Email); err != nil {
		return db.User{}, err
	}
	in, err := s.policy.ValidateUserInput(in)
	if err != nil {
		return db.User{}, err
	}
	if err := s.store.CheckSignupToken(secret, in.Email); err != nil {
		return db.User{}, err
	}
	if err := s.store.CheckUserAvailable(in.Email, in.Username); err != nil {
		return db.User{}, err
	}
	hash, err := s.hasher.Hash(r.Context(), in.Password)
	if err != nil {
		return db.User{}, err
	}
	u, err := s.store.RedeemSignupToken(secret, db.NewUser{Email: in.Email, Name: in.Name, Username: in.Username, PasswordHash: hash})
	if err == nil {
		s.metrics.signup("link")
		s.pokeOutbox()
	}
	return u, err
}

// checkSignupDomain refuses an address outside the link's allowedDomains
// before anything else about the signup is checked. That answer stands
// alone: a person who must use another address is told so first, rather
// than asked to change a password whose strength is judged against the
// address too (and which may be fine once the address is right). An
// address that is not an address at all is left to ValidateUserInput,
// which reports it with every other problem.
func (s *Server) checkSignupDomain(secret, email string) error {
	email, err := db.NormalizeEmail("email", email)
	if err != nil {
		return nil
	}
	return s.store.CheckSignupToken(secret, email)
}
