package server

import (
	"errors"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"invited/db"
	"invited/server/web"
)

// The second factor of the JSON login (DESIGN §11). A right password of a
// user with a second factor answers 401 SecondFactorRequired with a
// continuation and the methods that can finish it; the continuation and
// a code finish it at /auth/simple/login/second-factor. A user whose role
// must have a second factor and who has none gets the method
// "totp-setup": /auth/simple/login/second-factor/setup gives them a
// secret, and a code of it finishes the login (with recovery codes).

// secondFactorRequiredBody is the 401 of a login waiting for its second
// factor: the Unleash error body plus the continuation.
type secondFactorRequiredBody struct {
	errorBody
	Continuation string   `json:"continuation"`
	ExpiresAt    string   `json:"expiresAt"`
	Methods      []string `json:"methods"`
}

// writeSecondFactorRequired answers a right password that needs a second
// factor.
func (s *Server) writeSecondFactorRequired(w http.ResponseWriter, r *http.Request, err error, p *db.SecondFactorPending) {
	id := newUUID()
	s.logError(r, err, http.StatusUnauthorized, id)
	writeJSON(w, http.StatusUnauthorized, secondFactorRequiredBody{
		errorBody:    errorBody{ID: id, Name: "SecondFactorRequired", Message: db.ErrorMessage(err)},
		Continuation: p.Continuation, ExpiresAt: db.FormatTime(p.ExpiresAt), Methods: p.Methods,
	})
}

type secondFactorRequest struct {
	Continuation string `json:"continuation"`
	Code         string `json:"code"`
}

// secondFactorLoginResponse is a login's answer, plus the recovery codes
// of a login that set an authenticator app up (shown once).
type secondFactorLoginResponse struct {
	userResponse
	RecoveryCodes []string `json:"recoveryCodes,omitempty"`
}

// handleSecondFactor finishes a login with its second factor: a TOTP code
// or a recovery code. It answers as a login does (the session cookie and
// the user); a wrong code, a used or expired continuation and any code
// while the account is throttled answer the same 401.
func (s *Server) handleSecondFactor(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var req secondFactorRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Continuation == "" || req.Code == "" {
		s.writeError(w, r, &db.Error{Code: db.EINVALID, Message: "Give the continuation of the login and the code.",
			Details: []db.FieldError{{Path: "continuation", Message: "is required"}, {Path: "code", Message: "is required"}}})
		return
	}
	res, err := s.accounts.CompleteSecondFactor(r.Context(), req.Continuation, req.Code)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.setSessionCookie(w, res)
	writeJSON(w, http.StatusOK, secondFactorLoginResponse{userResponse: newUserResponse(res.User), RecoveryCodes: res.RecoveryCodes})
}

type secondFactorSetupRequest struct {
	Continuation string `json:"continuation"`
}

type secondFactorSetupResponse struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauthUrl"`
}

// handleSecondFactorSetup starts an authenticator app's setup for a login
// that must set one up ("totp-setup"): the secret, as text and as an
// otpauth:// URL. The login finishes at /auth/simple/login/second-factor
// with a code of it. A second call replaces the secret.
func (s *Server) handleSecondFactorSetup(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var req secondFactorSetupRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	setup, err := s.accounts.BeginTOTPAtLogin(req.Continuation)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	key, err := web.OTPAuthKey(s.site, setup)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, secondFactorSetupResponse{Secret: setup.Secret, OTPAuthURL: key.URL()})
}

// handleClearSecondFactors turns every second factor of a user off (no
// body, or {}): for someone who lost their phone. An actor may not clear
// the factors of a user whose role is above theirs.
func (s *Server) handleClearSecondFactors(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	s.changeUser(w, r, ps, func(id uint64) (db.User, error) { return s.store.ClearSecondFactors(actor, id) })
}

// loginNeedsSecondFactor reports whether err is a right password waiting
// for its second factor.
func loginNeedsSecondFactor(err error) bool {
	return errors.Is(err, db.ErrSecondFactorRequired) || errors.Is(err, db.ErrSecondFactorSetupRequired)
}
