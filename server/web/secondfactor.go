package web

import (
	"bytes"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"html/template"
	"image/png"
	"net/http"
	"strings"

	"github.com/julienschmidt/httprouter"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"invited/db"
)

// The second factor's pages (DESIGN §11): the second step of /login
// (POST /login/second-factor), which also sets up an authenticator app
// when the user's role must have one, and the authenticator app's part of
// /account (POST /account/totp, /account/totp/confirm,
// /account/totp/remove).

// pageTwoFA is what the second factor's parts of a page show.
type pageTwoFA struct {
	// Setup: a secret waiting for its first code, as a QR code (a data:
	// URL of a PNG, which the CSP's img-src allows) and as text.
	Setup  bool
	QR     template.URL
	Secret string
	// TOTP, Since and CodesLeft describe an authenticator app that is on.
	TOTP      bool
	Since     string
	CodesLeft int
	// Recovery says the login step also takes a recovery code.
	Recovery bool
	// PasskeyOnly: the user's second factors are passkeys alone.
	PasskeyOnly bool
	// Passkey shows the button that finishes the step with a passkey
	// (passkey.js), for Continuation, going on to Rd.
	Passkey      bool
	Continuation string
	Rd           string
	// RecoveryCodes are shown once, after a setup; Next is where to go on.
	RecoveryCodes []string
	Next          string
	// Form is the part's own form (confirm, remove, or the login step).
	Form *pageForm
}

// OTPAuthKey is the otpauth:// key of setup, named by the site, as
// authenticator apps read it from a QR code.
func OTPAuthKey(site string, setup db.TOTPSetup) (*otp.Key, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(setup.Secret)
	if err != nil {
		return nil, err
	}
	return totp.Generate(totp.GenerateOpts{Issuer: site, AccountName: setup.Account, Secret: raw,
		Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// setupPart draws setup as a QR code and as text.
func (p *Pages) setupPart(setup db.TOTPSetup) (*pageTwoFA, error) {
	key, err := OTPAuthKey(p.site, setup)
	if err != nil {
		return nil, err
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	// The URL is made here from our own PNG bytes, never from input.
	qr := template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))
	return &pageTwoFA{Setup: true, QR: qr, Secret: setup.Secret}, nil
}

func codeField(hint string) *pageField {
	return &pageField{Name: "code", Label: "Code", Type: "text", Autocomplete: "one-time-code", Required: true, Hint: hint}
}

// secondStepForm is the login's second step, carrying the continuation
// and a safe rd in hidden fields (and, during a setup, the secret, only to
// draw it again after a wrong code: the store checks its own copy).
func (p *Pages) secondStepForm(continuation, rd, secret string) *pageForm {
	hidden := []pageHidden{{Name: "continuation", Value: continuation}}
	if next, ok := p.safeRedirect(rd); ok {
		hidden = append(hidden, pageHidden{Name: "rd", Value: next})
	}
	hint := "The six digits your authenticator app shows now, or one of your recovery codes."
	if secret != "" {
		hidden = append(hidden, pageHidden{Name: "secret", Value: secret})
		hint = "The six digits the app shows for this account once you have added the key."
	}
	return &pageForm{Action: "/login/second-factor", Submit: "Continue", Hidden: hidden, Fields: []*pageField{codeField(hint)}}
}

// secondStep answers a right password that needs a second factor: the
// code form, the passkey button, or (MethodTOTPSetup) a new secret to set
// up first.
func (p *Pages) secondStep(w http.ResponseWriter, r *http.Request, pending *db.SecondFactorPending, rd string) {
	setup := len(pending.Methods) == 1 && pending.Methods[0] == db.MethodTOTPSetup
	if setup {
		s, err := p.accounts.BeginTOTPAtLogin(pending.Continuation)
		if err != nil {
			p.RenderError(w, r, err)
			return
		}
		p.renderSetupStep(w, r, http.StatusOK, s, p.secondStepForm(pending.Continuation, rd, s.Secret))
		return
	}
	p.renderSecondStep(w, r, http.StatusOK, pending.Continuation, rd, pending.Methods, nil)
}

// renderSecondStep draws the login's second step for the methods the
// user has: the code form (TOTP, recovery codes) with form's errors, and
// the passkey button when passkeys are on (with passkey.js).
func (p *Pages) renderSecondStep(w http.ResponseWriter, r *http.Request, status int, continuation, rd string, methods []string, form *pageForm) {
	d := &pageData{Title: "Second step"}
	codes := containsString(methods, db.MethodTOTP) || containsString(methods, db.MethodRecovery)
	part := &pageTwoFA{Recovery: containsString(methods, db.MethodRecovery), PasskeyOnly: !codes}
	if codes {
		if form == nil {
			form = p.secondStepForm(continuation, rd, "")
		}
		d.Form, part.Form = form, form
	}
	if p.passkeys && containsString(methods, db.MethodPasskey) {
		part.Passkey, part.Continuation = true, continuation
		if next, ok := p.safeRedirect(rd); ok {
			part.Rd = next
		}
		d = p.withPasskeys(d)
	}
	d.TwoFA = part
	p.renderPage(w, r, status, "login2", d)
}

func (p *Pages) renderSetupStep(w http.ResponseWriter, r *http.Request, status int, setup db.TOTPSetup, form *pageForm) {
	part, err := p.setupPart(setup)
	if err != nil {
		p.RenderError(w, r, db.Errorf(db.EINVALID, "The login step is damaged; log in again."))
		return
	}
	part.Form = form
	p.renderPage(w, r, status, "login2", &pageData{Title: "Set up an authenticator app", Form: form, TwoFA: part})
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// SecondStepForm finishes a login with its second factor (POST
// /login/second-factor) through Accounts.CompleteSecondFactor, then goes
// on as a login does: to the safe rd, else /account. After a setup it
// first shows the new recovery codes, once.
func (p *Pages) SecondStepForm(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if !p.readForm(w, r) {
		return
	}
	continuation, rd, secret := r.PostForm.Get("continuation"), r.PostForm.Get("rd"), r.PostForm.Get("secret")
	if len(secret) > 64 {
		secret = ""
	}
	form := p.secondStepForm(continuation, rd, secret)
	res, err := p.accounts.CompleteSecondFactor(r.Context(), continuation, r.PostForm.Get("code"))
	if err != nil {
		if !errors.Is(err, db.ErrBadSecondFactor) {
			p.RenderError(w, r, err)
			return
		}
		t, perr := p.store.PeekUserToken(db.TokenSecondFactor, continuation)
		if perr != nil {
			// The step is over (used, expired, or too many wrong codes):
			// back to the password.
			login := p.loginForm(rd)
			login.general = append(login.general, "This login step has ended (it lasts 5 minutes and takes a few tries); log in again.")
			p.renderPage(w, r, http.StatusUnauthorized, "login", &pageData{Title: "Log in", Form: login})
			return
		}
		form.fieldError("code", "The code is not right, or was used already. Type the code your app shows now.")
		if secret != "" {
			u, ferr := p.store.FindUserByID(t.UserID)
			if ferr != nil {
				p.RenderError(w, r, ferr)
				return
			}
			p.renderSetupStep(w, r, http.StatusUnauthorized, db.TOTPSetup{Secret: secret, Account: u.Email}, form)
			return
		}
		st, serr := p.store.SecondFactors(t.UserID)
		if serr != nil {
			p.RenderError(w, r, serr)
			return
		}
		methods := []string{db.MethodTOTP, db.MethodRecovery}
		if st.Passkeys > 0 {
			methods = append(methods, db.MethodPasskey)
		}
		p.renderSecondStep(w, r, http.StatusUnauthorized, continuation, rd, methods, form)
		return
	}
	p.host.SetSessionCookie(w, res)
	p.host.SetActor(r, res.User)
	next := "/account"
	if safe, ok := p.safeRedirect(rd); ok {
		next = safe
	}
	if len(res.RecoveryCodes) > 0 {
		p.renderPage(w, r, http.StatusOK, "recovery", &pageData{Title: "Your recovery codes",
			TwoFA: &pageTwoFA{RecoveryCodes: res.RecoveryCodes, Next: next}})
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// accountTwoFA is the authenticator part of /account for u.
func (p *Pages) accountTwoFA(u db.User) *pageTwoFA {
	st, err := p.store.SecondFactors(u.ID)
	if err != nil {
		return nil
	}
	part := &pageTwoFA{TOTP: st.TOTP, CodesLeft: st.RecoveryCodesLeft}
	if st.TOTPEnabledAt != nil {
		part.Since = st.TOTPEnabledAt.UTC().Format(pageTimeLayout)
	}
	if st.TOTP {
		part.Form = removeTOTPForm()
	}
	return part
}

func removeTOTPForm() *pageForm {
	return &pageForm{Action: "/account/totp/remove", Submit: "Remove the authenticator app", Fields: []*pageField{
		{Name: "password", Label: "Password", Type: "password", Autocomplete: "current-password",
			Hint: "Your password, or leave it empty and give a code below."},
		{Name: "code", Label: "Code", Type: "text", Autocomplete: "one-time-code",
			Hint: "A code from the app, or a recovery code."},
	}}
}

func confirmTOTPForm(secret string) *pageForm {
	return &pageForm{Action: "/account/totp/confirm", Submit: "Turn on", Hidden: []pageHidden{{Name: "secret", Value: secret}},
		Fields: []*pageField{codeField("The six digits the app shows for this account once you have added the key.")}}
}

// TOTPStart makes a new authenticator secret for the logged-in user and
// shows it with the form that confirms it (POST /account/totp).
func (p *Pages) TOTPStart(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	u, _, ok := p.pageSession(w, r)
	if !ok || !p.readForm(w, r) {
		return
	}
	setup, err := p.store.BeginTOTP(u.ID)
	if err != nil {
		p.RenderError(w, r, err)
		return
	}
	p.renderTOTPSetup(w, r, http.StatusOK, u, setup, confirmTOTPForm(setup.Secret))
}

func (p *Pages) renderTOTPSetup(w http.ResponseWriter, r *http.Request, status int, u db.User, setup db.TOTPSetup, form *pageForm) {
	part, err := p.setupPart(setup)
	if err != nil {
		p.RenderError(w, r, err)
		return
	}
	part.Form = form
	d := p.accountPage(u, p.passwordForm())
	d.TwoFA = part
	p.renderPage(w, r, status, "account", d)
}

// TOTPConfirm turns the new secret on with a current code and shows the
// recovery codes once (POST /account/totp/confirm).
func (p *Pages) TOTPConfirm(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	u, _, ok := p.pageSession(w, r)
	if !ok || !p.readForm(w, r) {
		return
	}
	codes, err := p.store.ConfirmTOTP(db.UserActor(u), u.ID, r.PostForm.Get("code"))
	if err != nil {
		secret := r.PostForm.Get("secret")
		if db.ErrorCode(err) != db.EINVALID || len(secret) > 64 || secret == "" {
			p.RenderError(w, r, err)
			return
		}
		form := confirmTOTPForm(secret)
		form.addError(err)
		p.renderTOTPSetup(w, r, http.StatusBadRequest, u, db.TOTPSetup{Secret: secret, Account: u.Email}, form)
		return
	}
	p.renderPage(w, r, http.StatusOK, "recovery", &pageData{Title: "Your recovery codes",
		TwoFA: &pageTwoFA{RecoveryCodes: codes, Next: "/account?totp-on"}})
}

// TOTPRemove turns the authenticator app off once the password or a
// current code is given (POST /account/totp/remove).
func (p *Pages) TOTPRemove(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	u, _, ok := p.pageSession(w, r)
	if !ok || !p.readForm(w, r) {
		return
	}
	err := p.accounts.RemoveTOTP(r.Context(), db.UserActor(u), u.ID, r.PostForm.Get("password"), strings.TrimSpace(r.PostForm.Get("code")))
	if err != nil {
		if db.ErrorCode(err) != db.EINVALID && db.ErrorCode(err) != db.EUNAVAILABLE {
			p.RenderError(w, r, err)
			return
		}
		d := p.accountPage(u, p.passwordForm())
		d.TwoFA = p.accountTwoFA(u)
		if d.TwoFA == nil || d.TwoFA.Form == nil {
			p.RenderError(w, r, err)
			return
		}
		d.TwoFA.Form.addError(err)
		p.renderPage(w, r, p.pageStatus(err), "account", d)
		return
	}
	http.Redirect(w, r, "/account?totp-off", http.StatusSeeOther)
}
