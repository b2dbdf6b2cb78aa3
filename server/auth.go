package server

import (
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"

	"invited/db"
)

// sessionCookie names the login cookie.
const sessionCookie = "invited_session"

// userActor is a logged-in user as the actor of its requests.
func userActor(u db.User) db.Actor { return db.UserActor(u) }

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// handleLogin checks a password. An unknown login, a wrong password and any
// password while the account is throttled cost the same hash and get the
// same answer, so answers never tell whether an account exists nor whether
// it is being slowed down. A right password of a user with a second factor
// answers 401 SecondFactorRequired with a continuation (secondfactor.go).
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var req loginRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.accounts.Login(r.Context(), req.Username, req.Password)
	if res.SecondFactor != nil && loginNeedsSecondFactor(err) {
		s.writeSecondFactorRequired(w, r, err, res.SecondFactor)
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setSessionCookie(w, res)
	writeJSON(w, http.StatusOK, newUserResponse(res.User))
}

// setSessionCookie sets the login cookie, for auth.cookie_domain when it is
// set (so apps on its subdomains receive it), else for this host only.
func (s *Server) setSessionCookie(w http.ResponseWriter, res db.LoginResult) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: res.Token, Path: "/", Domain: s.cookieDomain, Expires: res.ExpiresAt,
		MaxAge: int(s.sessionTTL.Seconds()), HttpOnly: true, Secure: s.secureCookies, SameSite: http.SameSiteLaxMode,
	})
}

// clearSessionCookie clears the login cookie; a browser clears only the
// cookie of the same name, path and domain, so the Domain is the same.
func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", Domain: s.cookieDomain, MaxAge: -1,
		HttpOnly: true, Secure: s.secureCookies, SameSite: http.SameSiteLaxMode})
}

// handleLogout ends the caller's session, if any, and clears the cookie.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.store.DeleteSession(c.Value); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	s.clearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

type resendVerificationRequest struct {
	Email string `json:"email"`
}

// handleResendVerification sends the verification email again (POST
// /auth/verify-email/resend): 202 whatever the address, so the answer
// never tells whether an account exists or still has to verify. The store
// queues an email only for an unverified, enabled account that got fewer
// than db.VerifyEmailsPerHour in the last hour, and the newer link
// replaces the older.
func (s *Server) handleResendVerification(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var req resendVerificationRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if strings.TrimSpace(req.Email) == "" {
		s.writeError(w, r, db.FieldErrorf("email", "is required; give the address you signed up with"))
		return
	}
	queued, err := s.store.ResendVerification(req.Email)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if queued {
		s.pokeOutbox()
	}
	w.WriteHeader(http.StatusAccepted)
}
