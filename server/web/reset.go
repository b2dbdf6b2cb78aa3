package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/julienschmidt/httprouter"

	"invited/db"
)

// Resetting a forgotten password (GET/POST /forgot-password, GET/POST
// /reset-password/:token), DESIGN §11.

func (p *Pages) forgotForm() *pageForm {
	return &pageForm{
		Action: "/forgot-password", Submit: "Email me a reset link",
		Fields: []*pageField{
			{Name: "email", Label: "Email", Type: "email", Autocomplete: "email", Required: true},
		},
	}
}

// ForgotPage shows the form that asks for a reset link (GET
// /forgot-password).
func (p *Pages) ForgotPage(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	p.renderPage(w, r, http.StatusOK, "forgot", &pageData{Title: "Forgot your password", Form: p.forgotForm()})
}

// ForgotForm asks for a reset link (POST /forgot-password) with
// Accounts.RequestPasswordReset and shows the same page whatever the
// address: "if that address has an account, we sent a link". Only an
// empty field gets the form again.
func (p *Pages) ForgotForm(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if !p.readForm(w, r) {
		return
	}
	form := p.forgotForm()
	form.fill(r.PostForm)
	email := strings.TrimSpace(r.PostForm.Get("email"))
	if email == "" {
		form.fieldError("email", "Email is required: type the address of your account.")
		p.renderPage(w, r, http.StatusBadRequest, "forgot", &pageData{Title: "Forgot your password", Form: form})
		return
	}
	if err := p.accounts.RequestPasswordReset(r.Context(), email); err != nil {
		p.RenderError(w, r, err)
		return
	}
	p.host.MailQueued()
	p.renderPage(w, r, http.StatusOK, "forgot", &pageData{Title: "Check your email", Heading: "Check your email",
		Message: "If " + email + " has an account here, we have sent it a link to choose a new password. The link works once, for 1 hour.",
		Next:    "No email after a few minutes? Check your spam folder and that you typed the address of your account, then ask again. An admin can also give you a reset link."})
}

// resetForm is the form of the reset link token for the account whose
// address is email (shown, so the person knows which account it is, and
// given to password managers).
func (p *Pages) resetForm(token, email string) *pageForm {
	return &pageForm{
		Action: "/reset-password/" + url.PathEscape(token), Submit: "Set new password", paths: newAccountPaths,
		Fields: []*pageField{
			{Name: "email", Label: "Account", Type: "email", Autocomplete: "username", ReadOnly: true, Value: email},
			{Name: "password", Label: "New password", Type: "password", Autocomplete: "new-password", Required: true,
				Hint: passwordHint(p.minLength)},
			{Name: "password2", Label: "New password again", Type: "password", Autocomplete: "new-password", Required: true},
		},
	}
}

// renderDeadReset says that a reset link is unknown, used, replaced or
// expired (the store cannot tell them apart, and the answer is the same),
// with 404 as for an unknown invitation link.
func (p *Pages) renderDeadReset(w http.ResponseWriter, r *http.Request) {
	p.renderPage(w, r, http.StatusNotFound, "gone", &pageData{
		Title: "Reset link no longer works", Heading: "This reset link is used or expired",
		Message: "A password reset link works once, for 1 hour, and only the newest one sent works. This one is used, expired, replaced by a newer one, or cut short.",
		Next:    "Ask for a new link, and use the newest email you get.", ShowForgot: true, ShowLogin: true,
	})
}

// openReset returns the active account the live reset link token is
// for, or answers with the page that says why not (a dead link, a
// disabled account) and returns false.
func (p *Pages) openReset(w http.ResponseWriter, r *http.Request, token string) (db.User, bool) {
	t, err := p.store.PeekUserToken(db.TokenResetPassword, token)
	var u db.User
	if err == nil {
		u, err = p.store.FindUserByID(t.UserID)
	}
	if err == nil && !u.Active() {
		err = db.ErrResetDisabled
	}
	switch db.ErrorCode(err) {
	case "":
		return u, true
	case db.ENOTFOUND:
		p.renderDeadReset(w, r)
	default:
		p.RenderError(w, r, err)
	}
	return db.User{}, false
}

// ResetPage shows the form that sets a new password through a reset link
// (GET /reset-password/:token), or the page that says the link is dead.
func (p *Pages) ResetPage(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	token := ps.ByName("token")
	u, ok := p.openReset(w, r, token)
	if !ok {
		return
	}
	p.renderPage(w, r, http.StatusOK, "reset", &pageData{Title: "Choose a new password", Form: p.resetForm(token, u.Email)})
}

// ResetForm sets a new password through a reset link (POST
// /reset-password/:token) with Accounts.ResetPassword, then sends the
// browser (303) to /login?reset: every session has ended, this
// browser's too, so its cookie is cleared.
func (p *Pages) ResetForm(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	token := ps.ByName("token")
	if !p.readForm(w, r) {
		return
	}
	u, ok := p.openReset(w, r, token)
	if !ok {
		return
	}
	form := p.resetForm(token, u.Email)
	show := func(status int) {
		p.renderPage(w, r, status, "reset", &pageData{Title: "Choose a new password", Form: form})
	}
	again := r.PostForm.Get("password2")
	if _, err := p.accounts.ResetPassword(r.Context(), token, r.PostForm.Get("password"), &again); err != nil {
		p.formFailed(w, r, form, err, show, func() { p.renderDeadReset(w, r) })
		return
	}
	p.host.ClearSessionCookie(w)
	http.Redirect(w, r, "/login?reset", http.StatusSeeOther)
}
