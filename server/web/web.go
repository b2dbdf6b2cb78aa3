// Package web is invited's server-rendered HTML pages: signing up
// through a link (/new-user), accepting an invitation
// (/invitations/:token), logging in and out (/login, /logout), verifying
// an address and asking for the verification email again (/verify-email),
// the second step of a login (/login/second-factor: a code of an
// authenticator app or a recovery code), a small account page where a
// person changes their password, manages their passkeys and turns an
// authenticator app on or off (/account), and resetting a forgotten password
// (/forgot-password, then the emailed /reset-password/:token; reset.go).
// They are html/template files embedded in the binary, with one
// stylesheet, and they run every account flow through the same
// db.Accounts calls as the JSON API, so the two cannot disagree.
// The one script, passkey.js, is loaded only by /login and /account when
// passkeys are on; it runs the WebAuthn ceremonies against the server's
// JSON endpoints, and every page works without it.
//
// The server mounts them: web.New(Deps) returns the Pages, whose handlers
// the server lists in its route table with its rate limits. The pages
// borrow from the server, through Host, what belongs to the whole HTTP
// side (the error table, the session cookie, the request log), so that
// this package does not import the server.
//
// CSRF: every page form posts to this server, and the server wraps its
// whole handler in http.CrossOriginProtection, which refuses a
// state-changing request that a browser marks as coming from another site
// (by Sec-Fetch-Site, or Origin against Host). That is the only CSRF
// defence the pages rely on, so there are no tokens in the forms. The
// session cookie is also SameSite=Lax, and every page carries a strict
// Content-Security-Policy (no script but the site's own passkey.js where
// it is loaded, no frames, no form posting elsewhere) and forbids
// framing.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"invited/db"
	"invited/weburl"
)

//go:embed *.html style.css passkey.js
var webFS embed.FS

// maxFormBytes caps a page form's body; the largest form holds a few
// short fields and two passwords of at most 1 KiB each.
const maxFormBytes = 64 << 10

// pageCSP allows the page its own stylesheet and images, and nothing
// else: no script, no frames, no form posting elsewhere.
//
// img-src also allows data: images, for the QR code of an authenticator
// secret, drawn as a PNG in the page itself: an image cannot run script,
// and only the server makes those URLs (html/template refuses any other).
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// scriptCSP is added to pageCSP on the pages that load passkey.js: the
// site's own script, and fetch to the site only.
const scriptCSP = "script-src 'self'; connect-src 'self'; "

// pageTimeLayout shows an instant the way a person reads it.
const pageTimeLayout = "Monday, 2 January 2006 at 15:04 UTC"

var (
	pageCSS = mustRead("style.css")
	// pageCSSName carries a hash of the stylesheet, so it can be cached
	// for a year and a new build is still fetched at once.
	pageCSSName  = "style." + contentHash(pageCSS) + ".css"
	pageCSSPath  = "/static/" + pageCSSName
	pageJS       = mustRead("passkey.js")
	pageJSName   = "passkey." + contentHash(pageJS) + ".js"
	pageJSPath   = "/static/" + pageJSName
	pageTemplate = parsePageTemplates("signup", "invitation", "welcome", "gone", "error", "login", "account", "portal", "forgot", "reset", "passkeyremove", "verify", "login2", "recovery")
)

func mustRead(name string) []byte {
	b, err := webFS.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return b
}

func contentHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:5])
}

// parsePageTemplates parses each page with the shared layout; each page
// defines "content".
func parsePageTemplates(names ...string) map[string]*template.Template {
	out := make(map[string]*template.Template, len(names))
	for _, name := range names {
		out[name] = template.Must(template.New(name).ParseFS(webFS, "layout.html", name+".html"))
	}
	return out
}

// Host is what the server that mounts the pages lends them.
type Host interface {
	// Describe returns the HTTP status and the message the JSON API
	// answers err with (a generic message for an internal error).
	Describe(err error) (status int, message string)
	// LogError logs a refused or failed request as the JSON API does.
	LogError(r *http.Request, err error, status int)
	// RequestID is the id the server gave the request.
	RequestID(r *http.Request) string
	// SetActor names the logged-in user in the request's log line.
	SetActor(r *http.Request, u db.User)
	// SessionToken returns the login cookie's token, or "".
	SessionToken(r *http.Request) string
	// SetSessionCookie and ClearSessionCookie set and clear the login
	// cookie, as the JSON login and logout do.
	SetSessionCookie(w http.ResponseWriter, res db.LoginResult)
	ClearSessionCookie(w http.ResponseWriter)
	// Joined is told of each new user and how they came ("link" or
	// "invitation"), for the metrics and the mail worker.
	Joined(kind string)
	// MailQueued wakes the mail worker after a page queued an email.
	MailQueued()
	// NotFound answers a path that nothing serves.
	NotFound(w http.ResponseWriter, r *http.Request)
}

// Deps are everything the pages need.
type Deps struct {
	// Store is read to draw the pages (a link's description, an
	// invitation's inviter, the logged-in user).
	Store *db.Store
	// Accounts runs the flows the forms start.
	Accounts *db.Accounts
	// Host is the server that mounts the pages.
	Host Host
	// Log receives what cannot be shown, such as a template error; nil
	// discards it.
	Log *slog.Logger
	// SiteName is shown on every page; "" means "invited".
	SiteName string
	// BaseURL is the public URL, without a trailing slash.
	BaseURL string
	// MinPasswordLength is the policy's, for the hint under a new
	// password.
	MinPasswordLength int
	// RedirectHosts admits, besides BaseURL's own scheme and host, the
	// absolute addresses /login may send a browser to after logging in
	// (rd); nil admits none. This is where the domains of proxy apps are
	// added. It gets the scheme and the host in weburl.SafeRedirect's
	// canonical form.
	RedirectHosts func(scheme, host string) bool
	// OnwardOrigin, for an rd on invited's own host, returns the origin
	// (scheme://host[:port]) the browser is sent on to from there, or ""
	// for none; nil knows of none. An OpenID Connect sign-in's rd
	// (/oidc/login?authRequestID=) ends at its app's redirect URI, which
	// the login page's CSP form-action must name.
	OnwardOrigin func(rd string) string
	// Passkeys shows the passkey controls of /login and /account (and
	// loads passkey.js there); false when the server cannot be a WebAuthn
	// relying party.
	Passkeys bool
}

// Pages serves the HTML pages. Its handlers are mounted by the server's
// route table.
type Pages struct {
	store     *db.Store
	accounts  *db.Accounts
	host      Host
	log       *slog.Logger
	site      string
	baseURL   string
	minLength int
	// redirectOK is the allowed set of weburl.SafeRedirect for rd.
	redirectOK func(scheme, host string) bool
	// onward is Deps.OnwardOrigin (nil: none).
	onward   func(rd string) string
	passkeys bool
}

// New returns the pages over deps.
func New(deps Deps) *Pages {
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.SiteName == "" {
		deps.SiteName = "invited"
	}
	own, more := weburl.SameOrigin(deps.BaseURL), deps.RedirectHosts
	return &Pages{store: deps.Store, accounts: deps.Accounts, host: deps.Host, log: deps.Log,
		site: deps.SiteName, baseURL: strings.TrimRight(deps.BaseURL, "/"), minLength: deps.MinPasswordLength,
		redirectOK: func(scheme, host string) bool { return own(scheme, host) || more != nil && more(scheme, host) },
		onward:     deps.OnwardOrigin, passkeys: deps.Passkeys}
}

// safeRedirect is where rd may send a browser after a login, or false:
// the one check every rd goes through (weburl.SafeRedirect), against
// base_url's origin and Deps.RedirectHosts.
func (p *Pages) safeRedirect(rd string) (string, bool) {
	return weburl.SafeRedirect(rd, p.redirectOK)
}

// NextAfterLogin is where a login sends the browser: rd when it is safe
// (the same check as the login form's), else /account. The JSON passkey
// login answers it, so that the page script goes on as the form would.
func (p *Pages) NextAfterLogin(rd string) string {
	if next, ok := p.safeRedirect(rd); ok {
		return next
	}
	return "/account"
}

// ScriptPath is the path passkey.js is served at (under /static/, named
// by a hash of its content).
func ScriptPath() string { return pageJSPath }

// StylesheetPath is the path the stylesheet is served at (under
// /static/, named by a hash of its content).
func StylesheetPath() string { return pageCSSPath }

// pageData is everything a page template may show.
type pageData struct {
	Site, Title, Stylesheet string
	// Script is passkey.js's path on the pages that load it, else "".
	Script string
	Form   *pageForm
	Notice string

	// Signup and invitation pages. A link's name is private to admins;
	// its signup page shows only its public description.
	LinkDescription, Inviter, Role, Expires string
	Welcome                                 *pageWelcome

	// Dead-link and error pages.
	Heading, Message, Next string
	ShowLogin              bool
	RequestID              string

	// ShowForgot links to /forgot-password, for a dead reset link.
	ShowForgot bool
	// ShowResend links the email verification page; Resend is the login
	// page's button that sends the verification email again.
	ShowResend bool
	Resend     *pageForm

	Account *pageAccount
	// Passkeys says the passkey controls are shown; PasskeyList are the
	// user's on /account, and PasskeyRemove the one to confirm removing.
	Passkeys      bool
	PasskeyList   []pagePasskey
	PasskeyRemove *pagePasskey
	// TwoFA is the second factor's part of the login step and /account.
	TwoFA *pageTwoFA

	// Apps are the portal's: the apps the logged-in user may open.
	Apps []pageApp
	// JoinApp is the app a signup link or invitation sends the person on
	// to (nil for none): the signup, invitation, welcome and verification
	// pages name it.
	JoinApp *pageApp
	// onward is an origin the page's form may end at besides its own (a
	// join that goes on to its app's url): renderPage adds it to the
	// CSP's form-action, which also covers where a post redirects to.
	onward string
}

// pageApp is one app on the portal.
type pageApp struct{ Name, URL string }

type pageWelcome struct {
	Name, Email, Username, LoginURL string
	// Mailed says whether a welcome email is on its way.
	Mailed bool
	// Verify says the address must be verified before logging in: a
	// verification email is on its way instead.
	Verify bool
	// Pending says the account waits for an admin's approval (a link
	// with requireApproval): the admins are told, and so is the user
	// once approved.
	Pending bool
}

type pageAccount struct{ Name, Email, Username, Role string }

// pagePasskey is one passkey as /account shows it; ID is the credential
// id in base64url.
type pagePasskey struct{ ID, Name, Created, LastUsed string }

// pageForm is a form with its fields in order and the problems of the
// last submission.
type pageForm struct {
	Action, Submit string
	Fields         []*pageField
	// paths names the field of each error detail path the domain uses
	// that is not itself a field's name.
	paths map[string]string
	// general holds problems that concern no one field.
	general []string
	// Hidden are hidden inputs the form carries through (such as the
	// login's rd).
	Hidden []pageHidden
}

// pageHidden is a hidden input; the template escapes its value.
type pageHidden struct{ Name, Value string }

// pageField is one input. Name is also its id; its error and hint have
// the ids Name-error and Name-hint.
type pageField struct {
	Name, Label, Type, Autocomplete, Hint string
	Required, ReadOnly                    bool
	Value, Error                          string
}

// DescribedBy lists the ids of the field's error and hint, for
// aria-describedby.
func (f *pageField) DescribedBy() string {
	var ids []string
	if f.Error != "" {
		ids = append(ids, f.Name+"-error")
	}
	if f.Hint != "" {
		ids = append(ids, f.Name+"-hint")
	}
	return strings.Join(ids, " ")
}

type pageProblem struct{ Field, Text string }

// Problems lists the form's problems for the summary: general ones first,
// then each field's in the order of the form.
func (f *pageForm) Problems() []pageProblem {
	var out []pageProblem
	for _, g := range f.general {
		out = append(out, pageProblem{Text: g})
	}
	for _, fld := range f.Fields {
		if fld.Error != "" {
			out = append(out, pageProblem{Field: fld.Name, Text: fld.Error})
		}
	}
	return out
}

func (f *pageForm) failed() bool { return len(f.Problems()) > 0 }

func (f *pageForm) field(name string) *pageField {
	for _, fld := range f.Fields {
		if fld.Name == name {
			return fld
		}
	}
	return nil
}

// fill keeps what was typed, except passwords, which are never sent back.
func (f *pageForm) fill(values url.Values) {
	for _, fld := range f.Fields {
		if fld.Type != "password" && !fld.ReadOnly {
			fld.Value = values.Get(fld.Name)
		}
	}
}

// fieldError puts a sentence next to a field (or in the summary alone
// when the form has no such field).
func (f *pageForm) fieldError(name, sentence string) {
	fld := f.field(name)
	switch {
	case fld == nil:
		f.general = append(f.general, sentence)
	case fld.Error == "":
		fld.Error = sentence
	default:
		fld.Error += " " + sentence
	}
}

// addError shows err on the form, each detail of a *db.Error next to the
// field its path names, with the same words as the JSON API's message.
func (f *pageForm) addError(err error) {
	var de *db.Error
	if !errors.As(err, &de) || len(de.Details) == 0 {
		f.general = append(f.general, db.ErrorMessage(err))
		return
	}
	for _, d := range de.Details {
		name := d.Path
		if n, ok := f.paths[name]; ok {
			name = n
		}
		fld := f.field(name)
		switch {
		case fld == nil:
			f.general = append(f.general, de.Message)
		case de.Code == db.ECONFLICT:
			// "is taken" is terse; the whole message says what to do.
			f.fieldError(name, de.Message)
		default:
			f.fieldError(name, fld.Label+" "+d.Message+".")
		}
	}
}

func passwordHint(minLength int) string {
	n := minLength
	if n < 1 {
		n = 1
	}
	return "At least " + strconv.Itoa(n) + " characters. A few unrelated words make a password that is easy to remember and hard to guess."
}

// newAccountFields are the fields of a form that creates an account: the
// email field given, then name, username and the password twice (the
// domain's passwordAgain is password2; see newAccountPaths).
func (p *Pages) newAccountFields(email *pageField) []*pageField {
	return []*pageField{
		email,
		{Name: "name", Label: "Name", Type: "text", Autocomplete: "name", Required: true,
			Hint: "How others will see you, for example Ada Lovelace."},
		{Name: "username", Label: "Username", Type: "text", Autocomplete: "username",
			Hint: "2 to 64 letters, digits, '.', '-' or '_'. You can log in with it instead of your email."},
		{Name: "password", Label: "Password", Type: "password", Autocomplete: "new-password", Required: true,
			Hint: passwordHint(p.minLength)},
		{Name: "password2", Label: "Password again", Type: "password", Autocomplete: "new-password", Required: true},
	}
}

// newAccountPaths maps the domain's name of the repeated password to its
// field.
var newAccountPaths = map[string]string{"passwordAgain": "password2"}

// signupForm is the form of link, whose email field says which domains
// the link accepts, if it limits them.
func (p *Pages) signupForm(secret string, link db.SignupToken) *pageForm {
	email := &pageField{Name: "email", Label: "Email", Type: "email", Autocomplete: "email", Required: true}
	if len(link.AllowedDomains) > 0 {
		email.Hint = "Use an address at " + orList(link.AllowedDomains) + "."
	}
	return &pageForm{
		Action: "/new-user?invite=" + url.QueryEscape(secret), Submit: "Create account",
		Fields: p.newAccountFields(email), paths: newAccountPaths,
	}
}

// orList joins items as a sentence does: "a", "a or b", "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

func (p *Pages) invitationForm(token, email string) *pageForm {
	return &pageForm{
		Action: "/invitations/" + url.PathEscape(token), Submit: "Accept and create account", paths: newAccountPaths,
		Fields: p.newAccountFields(
			&pageField{Name: "email", Label: "Email", Type: "email", Autocomplete: "email", ReadOnly: true, Value: email,
				Hint: "The invitation is for this address; it cannot be changed here."}),
	}
}

// loginForm is the login form; a safe rd (see Pages.safeRedirect) rides
// along in a hidden field, and anything else is dropped.
func (p *Pages) loginForm(rd string) *pageForm {
	var hidden []pageHidden
	if next, ok := p.safeRedirect(rd); ok {
		hidden = []pageHidden{{Name: "rd", Value: next}}
	}
	return &pageForm{
		Action: "/login", Submit: "Log in", Hidden: hidden,
		Fields: []*pageField{
			{Name: "username", Label: "Username or email", Type: "text", Autocomplete: "username", Required: true},
			{Name: "password", Label: "Password", Type: "password", Autocomplete: "current-password", Required: true},
		},
	}
}

func (p *Pages) passwordForm() *pageForm {
	return &pageForm{
		Action: "/account/password", Submit: "Change password",
		paths: map[string]string{"currentPassword": "current-password", "newPassword": "new-password", "newPasswordAgain": "new-password-again"},
		Fields: []*pageField{
			{Name: "current-password", Label: "Current password", Type: "password", Autocomplete: "current-password", Required: true},
			{Name: "new-password", Label: "New password", Type: "password", Autocomplete: "new-password", Required: true,
				Hint: passwordHint(p.minLength)},
			{Name: "new-password-again", Label: "New password again", Type: "password", Autocomplete: "new-password", Required: true},
		},
	}
}

// Rendering.

// setPageHeaders sets the headers every page carries. Pages are never
// stored by caches: signup and invitation URLs hold secrets, and the
// others show who is logged in.
func setPageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin: no other site ever sees a page's address (signup and
	// invitation addresses hold secrets), while the page's own form posts
	// keep their Origin, which the CSRF check reads where a browser sends
	// no Sec-Fetch-Site (plain http at a host other than localhost).
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Robots-Tag", "noindex, nofollow")
}

// renderPage renders a page fully before writing, so a template error
// still gets a clean 500.
func (p *Pages) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, data *pageData) {
	data.Site, data.Stylesheet = p.site, pageCSSPath
	var buf bytes.Buffer
	if err := pageTemplate[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		p.log.ErrorContext(r.Context(), "render page", "page", name, "error", err, "request_id", p.host.RequestID(r))
		setPageHeaders(w.Header())
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("<!doctype html><title>Error</title><p>Something went wrong on our side; it has been logged.</p>\n"))
		return
	}
	setPageHeaders(w.Header())
	csp := pageCSP
	if data.Script != "" {
		csp = strings.Replace(csp, "style-src", scriptCSP+"style-src", 1)
	}
	// CSP's form-action also covers where the post redirects to, so a
	// login form whose rd goes on to an app on another host (the gate's
	// login round trip) must name that origin, or the browser stops on
	// /login after a successful login.
	if o := p.rdOrigin(data.Form); o != "" {
		csp = strings.Replace(csp, "form-action 'self'", "form-action 'self' "+o, 1)
	} else if data.onward != "" {
		csp = strings.Replace(csp, "form-action 'self'", "form-action 'self' "+data.onward, 1)
	}
	w.Header().Set("Content-Security-Policy", csp)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// rdOrigin is the scheme://host[:port] of form's hidden rd when it is an
// absolute URL, else the origin Deps.OnwardOrigin names for it, else "".
// Only a safe rd (Pages.safeRedirect) is ever put in the form, so the
// origin is base_url's, a proxy app's, or a registered redirect URI's.
func (p *Pages) rdOrigin(form *pageForm) string {
	if form == nil {
		return ""
	}
	for _, h := range form.Hidden {
		if h.Name != "rd" {
			continue
		}
		if u, err := url.Parse(h.Value); err == nil && u.Scheme != "" && u.Host != "" {
			return u.Scheme + "://" + u.Host
		}
		if p.onward != nil && strings.HasPrefix(h.Value, "/") {
			return p.onward(h.Value)
		}
	}
	return ""
}

// RenderError answers with an error page for err, with the status the
// JSON API would use. Internal errors are logged and not shown.
func (p *Pages) RenderError(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := p.host.Describe(err)
	p.renderErrorPage(w, r, err, status, msg)
}

func (p *Pages) renderErrorPage(w http.ResponseWriter, r *http.Request, err error, status int, msg string) {
	p.host.LogError(r, err, status)
	d := &pageData{Title: "Error", Heading: "Something went wrong", Message: msg}
	switch {
	case status == http.StatusRequestEntityTooLarge:
		d.Heading = "The form is too large"
	case status == http.StatusTooManyRequests:
		d.Heading = "Too many requests"
	case status == http.StatusServiceUnavailable:
		d.Heading = "The server is busy"
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "1")
		}
	case status >= 500:
		d.RequestID = p.host.RequestID(r)
	case status == http.StatusNotFound:
		d.Heading = "Not found"
	case status < 500:
		d.Heading = "This request could not be handled"
	}
	p.renderPage(w, r, status, "error", d)
}

// pageStatus is the status of a form shown again with its problems.
func (p *Pages) pageStatus(err error) int {
	status, _ := p.host.Describe(err)
	return status
}

// readForm parses a url-encoded form body of at most maxFormBytes into
// r.PostForm, or answers with an error page and returns false.
func (p *Pages) readForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	err := r.ParseForm()
	if err == nil {
		return true
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		msg := "The form sent more than 64 KiB; go back, shorten what you typed and send it again."
		p.renderErrorPage(w, r, errors.New("form body over 64 KiB"), http.StatusRequestEntityTooLarge, msg)
	} else {
		p.RenderError(w, r, db.Errorf(db.EINVALID, "The form could not be read; go back, reload the page and try again."))
	}
	return false
}

// Static serves the stylesheet and passkey.js under their hashed names,
// cacheable for a year (GET /static/:file).
func (p *Pages) Static(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	var body []byte
	var ctype string
	switch ps.ByName("file") {
	case pageCSSName:
		body, ctype = pageCSS, "text/css; charset=utf-8"
	case pageJSName:
		body, ctype = pageJS, "text/javascript; charset=utf-8"
	default:
		p.host.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+contentHash(body)+`"`)
	http.ServeContent(w, r, ps.ByName("file"), time.Time{}, bytes.NewReader(body))
}

// Signup through a link (GET/POST /new-user?invite=SECRET).

// openLink returns the link of secret when it can be used now, or answers
// with the page that says why not and returns false.
func (p *Pages) openLink(w http.ResponseWriter, r *http.Request, secret string) (db.SignupToken, bool) {
	err := p.store.CheckSignupToken(secret, "")
	if err == nil {
		var t db.SignupToken
		// Whoever holds the secret may open the link it belongs to.
		if t, err = p.store.FindSignupToken(db.SystemActor, secret); err == nil {
			return t, true
		}
	}
	p.renderDeadLink(w, r, secret, err)
	return db.SignupToken{}, false
}

// renderDeadLink explains why a signup link cannot be used: 404 for an
// unknown one, 410 for a disabled, expired or used-up one.
func (p *Pages) renderDeadLink(w http.ResponseWriter, r *http.Request, secret string, err error) {
	const next = "Ask the admin who shared the link with you for a new one."
	switch db.ErrorCode(err) {
	case db.ENOTFOUND:
		p.renderPage(w, r, http.StatusNotFound, "gone", &pageData{
			Title: "Unknown signup link", Heading: "This signup link is not valid",
			Message: "There is no signup link at this address. It may be mistyped or cut short.",
			Next:    "Check that you opened the whole link. If you did, ask the admin who shared it for a new one.",
		})
	case db.EGONE:
		d := &pageData{Title: "Signup link no longer works", Heading: "This signup link no longer works",
			Message: db.ErrorMessage(err), Next: next, ShowLogin: true}
		if t, ferr := p.store.FindSignupToken(db.SystemActor, secret); ferr == nil {
			// The same order as the store's check: switched off, then
			// expired, then used up.
			switch {
			case !t.Switched:
				d.Title, d.Heading = "Signup link disabled", "This signup link has been disabled"
			case t.Expired:
				d.Title, d.Heading = "Signup link expired", "This signup link has expired"
			case t.MaxUses > 0 && t.Uses >= t.MaxUses:
				d.Title, d.Heading = "Signup link used up", "This signup link has been used up"
			}
		}
		p.renderPage(w, r, http.StatusGone, "gone", d)
	default:
		p.RenderError(w, r, err)
	}
}

// SignupPage shows the signup form of a link (GET /new-user?invite=SECRET),
// or the page that says why the link cannot be used.
func (p *Pages) SignupPage(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	secret := r.URL.Query().Get("invite")
	link, ok := p.openLink(w, r, secret)
	if !ok {
		return
	}
	p.renderPage(w, r, http.StatusOK, "signup", p.withJoinApp(link.AppID, &pageData{Title: "Create your account", LinkDescription: link.Description, Form: p.signupForm(secret, link)}))
}

// SignupForm signs a person up through a link (POST /new-user?invite=SECRET)
// with Accounts.SignupWithLink.
func (p *Pages) SignupForm(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	secret := r.URL.Query().Get("invite")
	if !p.readForm(w, r) {
		return
	}
	// The link is read to draw the form again if something is wrong; the
	// signup itself is the one call below, which checks the link anew.
	link, ok := p.openLink(w, r, secret)
	if !ok {
		return
	}
	form := p.signupForm(secret, link)
	form.fill(r.PostForm)
	again := r.PostForm.Get("password2")
	show := func(status int) {
		p.renderPage(w, r, status, "signup", p.withJoinApp(link.AppID, &pageData{Title: "Create your account", LinkDescription: link.Description, Form: form}))
	}
	// The same checks as the JSON API's: a wrong domain is said first,
	// then every problem of the fields (passwords that differ too), all
	// before anything is hashed. Unlike the JSON signup, the page signs
	// the person in when the link names an app.
	j, err := p.accounts.JoinWithLink(r.Context(), secret, db.NewAccount{Email: r.PostForm.Get("email"),
		Name: r.PostForm.Get("name"), Username: r.PostForm.Get("username"), Password: r.PostForm.Get("password"), PasswordAgain: &again}, true)
	if err != nil {
		p.formFailed(w, r, form, err, show, func() { p.renderDeadLink(w, r, secret, err) })
		return
	}
	p.host.Joined("link")
	p.finishJoin(w, r, j)
}

// withJoinApp names, on d, the app appID ("" for none) a join sends the
// person on to, and lets d's form end at that app's origin.
func (p *Pages) withJoinApp(appID string, d *pageData) *pageData {
	if appID == "" {
		return d
	}
	app, err := p.store.GetApp(appID)
	if err != nil {
		// Deleted meanwhile (or unreadable): the page names no app, and
		// the join's own write decides where it goes.
		return d
	}
	d.JoinApp = &pageApp{Name: app.Name, URL: app.URL}
	d.onward = appOrigin(app.URL)
	return d
}

// appOrigin is the scheme://host[:port] of an app's url (an absolute http
// or https address, as the store checks), or "".
func appOrigin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || strings.ContainsAny(u.Host, " ;'\"") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// finishJoin ends a join on the page: when the join signed the person in,
// the session cookie is set and the browser goes on (303) to the app's
// url, the address an Admin set, never one from the request; when the
// person must first pass or set up a second factor, the login's second
// step is shown with the app as where it ends (for a proxy app; an oidc
// app's url is not a place /login sends anyone, so the second step ends
// at the portal, which lists it); anything else gets the welcome page,
// which names the app.
func (p *Pages) finishJoin(w http.ResponseWriter, r *http.Request, j db.Joined) {
	switch {
	case j.Login.Token != "" && j.App != nil:
		p.host.SetSessionCookie(w, j.Login)
		p.host.SetActor(r, j.Login.User)
		http.Redirect(w, r, j.App.URL, http.StatusSeeOther)
	case j.Login.SecondFactor != nil && j.App != nil:
		rd := "/"
		if _, ok := p.safeRedirect(j.App.URL); ok {
			rd = j.App.URL
		}
		p.secondStep(w, r, j.Login.SecondFactor, rd)
	default:
		p.renderWelcome(w, r, j.User, j.App)
	}
}

// formFailed shows a failed submission: a dead link or invitation gets its
// page, input problems and a busy server get the form again, anything else
// an error page.
func (p *Pages) formFailed(w http.ResponseWriter, r *http.Request, form *pageForm, err error, show func(int), dead func()) {
	switch db.ErrorCode(err) {
	case db.EGONE, db.ENOTFOUND:
		dead()
	default:
		p.showFormError(w, r, form, err, show, db.EINVALID, db.ECONFLICT)
	}
}

// showFormError shows a failed submission: an error with one of the codes
// of input (a problem with what was typed) gets the form again with the
// status the JSON API would use, a busy server gets it again with 503 and
// Retry-After, and anything else gets an error page.
func (p *Pages) showFormError(w http.ResponseWriter, r *http.Request, form *pageForm, err error, show func(int), input ...db.Code) {
	code := db.ErrorCode(err)
	switch {
	case slices.Contains(input, code):
		form.addError(err)
		show(p.pageStatus(err))
	case code == db.EUNAVAILABLE:
		w.Header().Set("Retry-After", "1")
		form.addError(err)
		show(http.StatusServiceUnavailable)
	default:
		p.RenderError(w, r, err)
	}
}

func (p *Pages) renderWelcome(w http.ResponseWriter, r *http.Request, u db.User, app *db.App) {
	title := "Your account is ready"
	if !u.EmailVerified {
		title = "Check your mailbox"
	}
	if u.PendingApproval {
		title = "Your account waits for approval"
	}
	p.renderPage(w, r, http.StatusOK, "welcome", &pageData{Title: title, Welcome: &pageWelcome{
		Name: u.Name, Email: u.Email, Username: u.Username, LoginURL: p.baseURL + "/login",
		Mailed: p.store.SendsWelcomeEmails(), Verify: !u.EmailVerified, Pending: u.PendingApproval,
	}, JoinApp: pageAppOf(app)})
}

// Invitations (GET/POST /invitations/:token).

// renderDeadInvitation explains why an invitation cannot be accepted: 404
// for an unknown token, 410 for an accepted, revoked or expired one.
func (p *Pages) renderDeadInvitation(w http.ResponseWriter, r *http.Request, inv db.Invitation, err error) {
	switch db.ErrorCode(err) {
	case db.ENOTFOUND:
		p.renderPage(w, r, http.StatusNotFound, "gone", &pageData{
			Title: "Unknown invitation", Heading: "This invitation link is not valid",
			Message:   "No open invitation has this link. It may be mistyped, already used, withdrawn, or replaced by a newer invitation email.",
			Next:      "If you already accepted it, log in. Otherwise use the link in the latest invitation email, or ask the person who invited you to send a new invitation.",
			ShowLogin: true,
		})
	case db.EGONE:
		d := &pageData{Title: "Invitation no longer valid", Heading: "This invitation can no longer be accepted",
			Message: db.ErrorMessage(err), ShowLogin: true,
			Next: "Ask the person who invited you, or an admin, to send you a new invitation."}
		switch inv.State {
		case db.InvitationAccepted:
			d.Title, d.Heading = "Invitation already accepted", "This invitation has already been accepted"
			d.Next, d.ShowLogin = "Log in with the account you created. If that was not you, tell an admin.", true
		case db.InvitationRevoked:
			d.Title, d.Heading = "Invitation withdrawn", "This invitation has been withdrawn"
		case db.InvitationExpired:
			d.Title, d.Heading = "Invitation expired", "This invitation has expired"
		}
		p.renderPage(w, r, http.StatusGone, "gone", d)
	default:
		p.RenderError(w, r, err)
	}
}

func (p *Pages) invitationPage(inv db.Invitation, form *pageForm) *pageData {
	return p.withJoinApp(inv.AppID, &pageData{
		Title: "Accept your invitation", Inviter: inv.Inviter, Role: inv.Role.Name(),
		Expires: inv.ExpiresAt.UTC().Format(pageTimeLayout), Form: form,
	})
}

// pageAppOf is app as the pages name it, or nil.
func pageAppOf(app *db.App) *pageApp {
	if app == nil {
		return nil
	}
	return &pageApp{Name: app.Name, URL: app.URL}
}

// openInvitation returns the invitation of token when it can be accepted
// now, or answers with the page that says why not and returns false.
func (p *Pages) openInvitation(w http.ResponseWriter, r *http.Request, token string) (db.Invitation, bool) {
	inv, err := p.store.FindInvitationByToken(token)
	if err != nil {
		p.renderDeadInvitation(w, r, inv, err)
		return db.Invitation{}, false
	}
	return inv, true
}

// InvitationPage shows the form that accepts an invitation (GET
// /invitations/:token), or the page that says why it cannot be accepted.
func (p *Pages) InvitationPage(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	token := ps.ByName("token")
	inv, ok := p.openInvitation(w, r, token)
	if !ok {
		return
	}
	p.renderPage(w, r, http.StatusOK, "invitation", p.invitationPage(inv, p.invitationForm(token, inv.Email)))
}

// InvitationForm accepts an invitation (POST /invitations/:token) with
// Accounts.AcceptInvitation.
func (p *Pages) InvitationForm(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	token := ps.ByName("token")
	if !p.readForm(w, r) {
		return
	}
	inv, ok := p.openInvitation(w, r, token)
	if !ok {
		return
	}
	form := p.invitationForm(token, inv.Email)
	form.fill(r.PostForm)
	again := r.PostForm.Get("password2")
	show := func(status int) { p.renderPage(w, r, status, "invitation", p.invitationPage(inv, form)) }
	j, err := p.accounts.JoinInvitation(r.Context(), token, db.NewAccount{Name: r.PostForm.Get("name"),
		Username: r.PostForm.Get("username"), Password: r.PostForm.Get("password"), PasswordAgain: &again}, true)
	if err != nil {
		p.formFailed(w, r, form, err, show, func() {
			inv, ferr := p.store.FindInvitationByToken(token)
			if ferr == nil {
				ferr = err
			}
			p.renderDeadInvitation(w, r, inv, ferr)
		})
		return
	}
	p.host.Joined("invitation")
	p.finishJoin(w, r, j)
}

// Logging in and out (GET/POST /login, POST /logout).

// LoginPage shows the login form (GET /login), carrying ?rd= through when
// it is safe.
func (p *Pages) LoginPage(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	d := &pageData{Title: "Log in", Form: p.loginForm(r.URL.Query().Get("rd"))}
	switch q := r.URL.Query(); {
	case q.Has("loggedout"):
		d.Notice = "You have logged out."
	case q.Has("reset"):
		d.Notice = "Your password has been changed and every session of your account has been logged out. Log in with the new password."
	}
	p.renderPage(w, r, http.StatusOK, "login", p.withPasskeys(d))
}

// LoginForm logs a person in (POST /login) with Accounts.Login and sends
// them (303) to the form's rd when it is safe, else to their account page.
func (p *Pages) LoginForm(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if !p.readForm(w, r) {
		return
	}
	form := p.loginForm(r.PostForm.Get("rd"))
	form.fill(r.PostForm)
	login, password := strings.TrimSpace(r.PostForm.Get("username")), r.PostForm.Get("password")
	show := func(status int) {
		p.renderPage(w, r, status, "login", p.withPasskeys(&pageData{Title: "Log in", Form: form}))
	}
	if login == "" {
		form.fieldError("username", "Username or email is required.")
	}
	if password == "" {
		form.fieldError("password", "Password is required.")
	}
	if form.failed() {
		show(http.StatusBadRequest)
		return
	}
	res, err := p.accounts.Login(r.Context(), login, password)
	if res.SecondFactor != nil {
		// The password was right; the login goes on with its second
		// factor (or sets one up), carrying rd along.
		p.secondStep(w, r, res.SecondFactor, r.PostForm.Get("rd"))
		return
	}
	if err != nil {
		// A wrong password, an unknown account and a throttled account
		// read the same (db.ErrBadLogin); only the right password of a
		// disabled or unverified account hears why (EFORBIDDEN), and the
		// unverified one gets a button that mails its link again.
		if errors.Is(err, db.ErrEmailUnverified) {
			show = func(status int) {
				p.renderPage(w, r, status, "login", &pageData{Title: "Log in", Form: form, Resend: resendForm(res.User.Email)})
			}
		}
		if errors.Is(err, db.ErrPendingApproval) {
			// The waiting page, in place of the form: there is nothing
			// to type until an admin decides.
			p.renderPage(w, r, http.StatusForbidden, "gone", &pageData{
				Title: "Waiting for approval", Heading: "Your account waits for an admin's approval",
				Message: "Your password is right, but an admin of " + p.site + " has not approved your account yet, so you cannot log in.",
				Next:    "We email you at " + res.User.Email + " as soon as an admin approves it; then log in again. If it takes long, ask an admin of " + p.site + ".",
			})
			return
		}
		p.showFormError(w, r, form, err, show, db.EINVALID, db.EUNAUTHORIZED, db.EFORBIDDEN)
		return
	}
	p.host.SetSessionCookie(w, res)
	p.host.SetActor(r, res.User)
	next := "/account"
	// The posted rd is checked again: the form can be posted by anyone.
	if rd, ok := p.safeRedirect(r.PostForm.Get("rd")); ok {
		next = rd
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// LogoutForm ends the session, if any, and goes back to the login
// page.
func (p *Pages) LogoutForm(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if token := p.host.SessionToken(r); token != "" {
		if err := p.store.DeleteSession(token); err != nil {
			p.RenderError(w, r, err)
			return
		}
	}
	p.host.ClearSessionCookie(w)
	http.Redirect(w, r, "/login?loggedout", http.StatusSeeOther)
}

// The account page (GET /account, POST /account/password).

// pageSession returns the logged-in user and the session token, or sends
// the browser to the login page (303) and returns false.
func (p *Pages) pageSession(w http.ResponseWriter, r *http.Request) (db.User, string, bool) {
	token := p.host.SessionToken(r)
	if token == "" {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return db.User{}, "", false
	}
	u, err := p.store.AuthenticateSession(token)
	switch db.ErrorCode(err) {
	case "":
		p.host.SetActor(r, u)
		return u, token, true
	case db.EUNAUTHORIZED:
		p.host.ClearSessionCookie(w)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	default:
		p.RenderError(w, r, err)
	}
	return db.User{}, "", false
}

func (p *Pages) accountPage(u db.User, form *pageForm) *pageData {
	d := p.withPasskeys(&pageData{Title: "Your account", Form: form, TwoFA: p.accountTwoFA(u), Account: &pageAccount{
		Name: u.Name, Email: u.Email, Username: u.Username, Role: u.RootRole.Name(),
	}})
	if d.Passkeys {
		pks, err := p.store.Passkeys(u.ID)
		if err != nil {
			p.log.Error("list passkeys", "user", u.ID, "error", err)
		}
		for _, pk := range pks {
			d.PasskeyList = append(d.PasskeyList, pagePasskeyOf(pk))
		}
	}
	return d
}

// withPasskeys shows d's passkey controls, and loads passkey.js, when
// passkeys are on.
func (p *Pages) withPasskeys(d *pageData) *pageData {
	if p.passkeys {
		d.Passkeys, d.Script = true, pageJSPath
	}
	return d
}

func pagePasskeyOf(pk db.Passkey) pagePasskey {
	out := pagePasskey{ID: base64.RawURLEncoding.EncodeToString(pk.CredentialID), Name: pk.Name,
		Created: pk.CreatedAt.UTC().Format(pageTimeLayout), LastUsed: "never"}
	if pk.LastUsedAt != nil {
		out.LastUsed = pk.LastUsedAt.UTC().Format(pageTimeLayout)
	}
	return out
}

// PortalPage lists the apps the logged-in user may open, by name and
// address, only those that admit them (GET /), and links to /account; a
// browser without a session goes to /login.
func (p *Pages) PortalPage(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	u, _, ok := p.pageSession(w, r)
	if !ok {
		return
	}
	apps, err := p.store.ListApps()
	if err != nil {
		p.RenderError(w, r, err)
		return
	}
	d := &pageData{Title: "Your apps", Apps: []pageApp{}}
	for _, a := range apps {
		if a.Admits(u) {
			d.Apps = append(d.Apps, pageApp{Name: a.Name, URL: a.URL})
		}
	}
	p.renderPage(w, r, http.StatusOK, "portal", d)
}

// AccountPage shows the logged-in user and the password form (GET
// /account), or sends the browser to /login.
func (p *Pages) AccountPage(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	u, _, ok := p.pageSession(w, r)
	if !ok {
		return
	}
	d := p.accountPage(u, p.passwordForm())
	switch q := r.URL.Query(); {
	case q.Has("password-changed"):
		d.Notice = "Your password has been changed. Any other sessions of yours have been logged out."
	case q.Has("passkey-added"):
		d.Notice = "Your passkey has been added. You can now log in with it, without your password."
	case q.Has("passkey-removed"):
		d.Notice = "The passkey has been removed; it can no longer log in. Delete it from your device's password manager too."
	}
	if r.URL.Query().Has("totp-on") {
		d.Notice = "The authenticator app is on: from now on, logging in asks for its code after your password."
	}
	if r.URL.Query().Has("totp-off") {
		d.Notice = "The authenticator app has been removed, with its recovery codes."
	}
	p.renderPage(w, r, http.StatusOK, "account", d)
}

// PasswordForm changes the logged-in user's password through
// Accounts.ChangePassword: the cheap checks first, then the current
// password against the stored hash, then the new hash is written and the
// user's other sessions end.
func (p *Pages) PasswordForm(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	u, token, ok := p.pageSession(w, r)
	if !ok || !p.readForm(w, r) {
		return
	}
	form := p.passwordForm()
	show := func(status int) { p.renderPage(w, r, status, "account", p.accountPage(u, form)) }
	again := r.PostForm.Get("new-password-again")
	err := p.accounts.ChangePassword(r.Context(), db.UserActor(u), u.ID, db.PasswordChange{
		Current: r.PostForm.Get("current-password"), New: r.PostForm.Get("new-password"), NewAgain: &again, KeepSession: token})
	if err != nil {
		p.showFormError(w, r, form, err, show, db.EINVALID)
		return
	}
	http.Redirect(w, r, "/account?password-changed", http.StatusSeeOther)
}

// Removing a passkey (GET/POST /account/passkeys/remove?id=): a page that
// asks first, then the form that removes it.

// sessionPasskey reads the logged-in user's passkey named by the
// base64url credential id, or answers with the page that says why not.
func (p *Pages) sessionPasskey(w http.ResponseWriter, r *http.Request, id string) (db.User, db.Passkey, bool) {
	u, _, ok := p.pageSession(w, r)
	if !ok {
		return db.User{}, db.Passkey{}, false
	}
	var pk db.Passkey
	raw, err := base64.RawURLEncoding.DecodeString(id)
	switch {
	case err == nil && len(raw) > 0 && len(id) <= 2048:
		pk, err = p.store.FindPasskey(u.ID, raw)
	default:
		err = db.Errorf(db.ENOTFOUND, "not a passkey id")
	}
	if err != nil {
		if db.ErrorCode(err) != db.EINTERNAL {
			err = db.Errorf(db.ENOTFOUND, "There is no such passkey on your account; it may have been removed already. Go back to your account page.")
		}
		p.RenderError(w, r, err)
		return db.User{}, db.Passkey{}, false
	}
	return u, pk, true
}

// PasskeyRemovePage asks whether to remove a passkey
// (GET /account/passkeys/remove?id=ID).
func (p *Pages) PasskeyRemovePage(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	_, pk, ok := p.sessionPasskey(w, r, r.URL.Query().Get("id"))
	if !ok {
		return
	}
	pp := pagePasskeyOf(pk)
	p.renderPage(w, r, http.StatusOK, "passkeyremove", &pageData{Title: "Remove a passkey", PasskeyRemove: &pp})
}

// PasskeyRemoveForm removes a passkey of the logged-in user
// (POST /account/passkeys/remove, the form's id) and goes back to
// /account?passkey-removed.
func (p *Pages) PasskeyRemoveForm(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if !p.readForm(w, r) {
		return
	}
	u, pk, ok := p.sessionPasskey(w, r, r.PostForm.Get("id"))
	if !ok {
		return
	}
	if err := p.store.DeletePasskey(db.UserActor(u), u.ID, pk.CredentialID); err != nil {
		p.RenderError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?passkey-removed", http.StatusSeeOther)
}

// Email verification (GET/POST /verify-email, GET /verify-email/:token).

// verifyForm asks for the address to send the verification email to.
func verifyForm() *pageForm {
	return &pageForm{Action: "/verify-email", Submit: "Send the email again", Fields: []*pageField{
		{Name: "email", Label: "Email", Type: "email", Autocomplete: "email", Required: true,
			Hint: "The address you signed up with."},
	}}
}

// resendForm is the login page's button that sends the verification email
// to email again; it is shown only after the right password.
func resendForm(email string) *pageForm {
	return &pageForm{Action: "/verify-email", Submit: "Send the verification email again",
		Hidden: []pageHidden{{Name: "email", Value: email}}}
}

func verifyPage(form *pageForm) *pageData {
	return &pageData{Title: "Verify your address", Heading: "Send the verification email again", Form: form,
		Message: "Give the address you signed up with. If its account still has to verify it, we send a new link there; only the newest link works."}
}

// VerifyEmailPage shows the form that sends the verification email again
// (GET /verify-email).
func (p *Pages) VerifyEmailPage(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	p.renderPage(w, r, http.StatusOK, "verify", verifyPage(verifyForm()))
}

// VerifyEmailForm sends the verification email again (POST /verify-email)
// with Store.ResendVerification. The page says the same whatever the
// address, so it never tells whether an account exists or is verified.
func (p *Pages) VerifyEmailForm(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if !p.readForm(w, r) {
		return
	}
	form := verifyForm()
	form.fill(r.PostForm)
	email := strings.TrimSpace(r.PostForm.Get("email"))
	if email == "" {
		form.fieldError("email", "Email is required.")
		p.renderPage(w, r, http.StatusBadRequest, "verify", verifyPage(form))
		return
	}
	queued, err := p.store.ResendVerification(email)
	if err != nil {
		p.RenderError(w, r, err)
		return
	}
	if queued {
		p.host.MailQueued()
	}
	// No address is that long; the page does not echo a wall of text.
	named := email
	if len(named) > db.MaxEmailLength {
		named = "the address you gave"
	}
	p.renderPage(w, r, http.StatusOK, "verify", &pageData{Title: "Check your mailbox", Heading: "Check your mailbox",
		Notice:  "If " + named + " belongs to an account that still has to verify its address, a new verification email is on its way.",
		Message: "Open the link in the newest email; links in earlier ones no longer work. It can take a few minutes; look in your spam folder too.",
		Next:    "Once your address is verified, log in.", ShowLogin: true})
}

// VerifyEmailLink verifies an address (GET /verify-email/:token) with
// Store.VerifyEmail: opening the emailed link is all it takes. It changes
// nothing else: no session is opened, the person logs in next.
func (p *Pages) VerifyEmailLink(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	u, err := p.store.VerifyEmail(ps.ByName("token"))
	switch db.ErrorCode(err) {
	case "":
		d := &pageData{Title: "Address verified", Heading: "Your address is verified",
			Message: "Thank you: " + u.Email + " is verified. You can log in now with your password.", ShowLogin: true}
		// The link the person joined through may name an app: the page
		// links to it (the app's own address, set by an Admin), where the
		// gate or the app's single sign-on asks them to log in. Opening
		// this link signs nobody in.
		if app, ok, err := p.store.JoinedApp(u); err == nil && ok {
			d.JoinApp = &pageApp{Name: app.Name, URL: app.URL}
			d.Message = "Thank you: " + u.Email + " is verified. Open " + app.Name + " and log in there with your password."
			d.ShowLogin = false
		}
		p.renderPage(w, r, http.StatusOK, "verify", d)
	case db.ENOTFOUND:
		p.renderPage(w, r, http.StatusNotFound, "verify", &pageData{Title: "Verification link not valid",
			Heading:   "This verification link does not work",
			Message:   "It is unknown, was used already, was replaced by a newer email, or has expired.",
			Next:      "If you verified your address already, log in. Otherwise send the verification email again and open the link in the newest one.",
			ShowLogin: true, ShowResend: true})
	default:
		p.RenderError(w, r, err)
	}
}
