// Package mail renders and sends invited's emails.
//
// The store's outbox holds what to send (the kind, the recipient, the ids
// involved); the Outbox worker here takes due emails from it, renders each
// one from that data with the serving configuration (Site: base URL and
// site name) at the moment it sends it, and hands it to a Sender: SMTP, or
// the log when no SMTP server is configured.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"log/slog"
	mathrand "math/rand/v2"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	texttemplate "text/template"
	"time"
	"unicode"

	gomail "github.com/wneessen/go-mail"

	"invited/db"
	"invited/internal/wake"
	"invited/weburl"
)

// ---- Sending ----

// SenderOptions configure sending (the [mail] section of the config; main
// fills them).
type SenderOptions struct {
	Driver   string // "log" (the default when empty) or "smtp"
	Host     string
	Port     int // 0 → 587 for starttls, 465 for tls, 25 for none
	Username string
	Password string
	From     string // e.g. "invited <invited@example.com>"
	// TLS is "starttls" (the default when empty: TLS is required and
	// started with STARTTLS), "tls" (implicit TLS, usually port 465) or
	// "none" (plain text; STARTTLS is not even tried).
	TLS     string
	Timeout time.Duration // per attempt; 0 → 30s
}

// Sender delivers one email. Its errors are returned as they are and end
// up in the outbox's lastError, so they never hold a password.
type Sender interface {
	Send(ctx context.Context, e db.Email) error
}

// NewSender returns the sender opts ask for. It fails, with a message that
// names the setting, when the options cannot work (an unknown driver or
// TLS mode, no host, a From that is not an address).
func NewSender(opts SenderOptions, log *slog.Logger) (Sender, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch opts.Driver {
	case "", "log":
		return &logSender{log: log}, nil
	case "smtp":
		return newSMTPSender(opts)
	}
	return nil, fmt.Errorf("mail.driver %q is not known; use \"log\" or \"smtp\"", opts.Driver)
}

// logSender is the driver for a server without SMTP. It writes each email
// to the log, text body included: the body holds the invitation link, and
// the log is how a developer or a first-time admin without SMTP gets it.
type logSender struct{ log *slog.Logger }

func (s *logSender) Send(ctx context.Context, e db.Email) error {
	s.log.InfoContext(ctx, "email (mail.driver is log, so it is only written here)",
		"to", e.To, "subject", e.Subject, "text", e.Text)
	return nil
}

// smtpSender sends through an SMTP server with go-mail, one connection
// per email.
type smtpSender struct {
	opts   SenderOptions
	from   string // the From header, as configured
	domain string // of the From address, for Message-IDs
}

func newSMTPSender(opts SenderOptions) (*smtpSender, error) {
	if opts.Host == "" {
		return nil, errors.New("mail.host is empty; the smtp driver needs the SMTP server's name")
	}
	if opts.TLS == "" {
		opts.TLS = "starttls"
	}
	switch opts.TLS {
	case "starttls", "tls", "none":
	default:
		return nil, fmt.Errorf("mail.tls %q is not known; use \"starttls\", \"tls\" or \"none\"", opts.TLS)
	}
	if opts.Port == 0 {
		opts.Port = map[string]int{"starttls": 587, "tls": 465, "none": 25}[opts.TLS]
	}
	if opts.Port < 1 || opts.Port > 65535 {
		return nil, fmt.Errorf("mail.port %d is not a TCP port", opts.Port)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	from, err := netmail.ParseAddress(opts.From)
	if err != nil {
		return nil, fmt.Errorf("mail.from %q is not an email address (%v); write it as \"Name <name@example.com>\" or \"name@example.com\"", opts.From, err)
	}
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	return &smtpSender{opts: opts, from: from.String(), domain: domain}, nil
}

func (s *smtpSender) clientOptions() []gomail.Option {
	o := []gomail.Option{gomail.WithPort(s.opts.Port), gomail.WithTimeout(s.opts.Timeout)}
	switch s.opts.TLS {
	case "tls":
		o = append(o, gomail.WithSSL())
	case "none":
		o = append(o, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		o = append(o, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.opts.Username != "" {
		// PLAIN, else LOGIN, else whatever else the server offers. go-mail
		// refuses PLAIN and LOGIN over an unencrypted connection to
		// anything but localhost, so a password never travels in clear.
		o = append(o,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.opts.Username),
			gomail.WithPassword(s.opts.Password))
	}
	return o
}

// Send delivers e: a multipart/alternative message, text first and HTML
// as the alternative. The context bounds dialling; every later step is
// bounded by the Timeout option.
func (s *smtpSender) Send(ctx context.Context, e db.Email) error {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("from address: %w", err)
	}
	if err := msg.To(headerValue(e.To)); err != nil {
		return fmt.Errorf("recipient %q: %w", headerValue(e.To), err)
	}
	msg.Subject(headerValue(e.Subject))
	msg.SetDate()
	msg.SetMessageIDWithValue(randomHex(16) + "@" + s.domain)
	msg.SetBodyString(gomail.TypeTextPlain, e.Text)
	if e.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, e.HTML)
	}
	client, err := gomail.NewClient(s.opts.Host, s.clientOptions()...)
	if err != nil {
		return s.scrub(err)
	}
	return s.scrub(client.DialAndSendWithContext(ctx, msg))
}

// scrub removes the password from an error's text, should a server or a
// library ever echo it: the text is stored and shown to admins.
func (s *smtpSender) scrub(err error) error {
	if err == nil || s.opts.Password == "" || !strings.Contains(err.Error(), s.opts.Password) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), s.opts.Password, "[password]"))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// headerValue makes s safe for a mail header: control characters (CR and
// LF above all, which would start a new header line) and Unicode line
// separators become spaces, and runs of white space one space.
func headerValue(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// ---- Rendering ----

//go:embed templates/*.txt templates/*.html
var mailTemplateFS embed.FS

// The templates are parsed once; a broken template fails at start (and in
// the tests), not when the first email is due.
var (
	mailText = texttemplate.Must(texttemplate.New("").Option("missingkey=error").ParseFS(mailTemplateFS, "templates/*.txt"))
	mailHTML = htmltemplate.Must(htmltemplate.New("").Option("missingkey=error").ParseFS(mailTemplateFS, "templates/*.html"))
)

// DefaultSiteName is the default of site.name: the program's own name,
// which emails never use to name the site (see Site.Label).
const DefaultSiteName = "invited"

// Site is the serving configuration emails are rendered with.
type Site struct {
	Name    string // site.name
	BaseURL string // server.base_url; links are built on it
}

// Label is how emails name the site: site.name, or, while that is the
// default (the program's name: "root invited you to invited" reads like
// phishing), the host of the base URL, such as "team.example.com".
func (s Site) Label() string {
	name := headerValue(s.Name)
	if name != "" && name != DefaultSiteName {
		return name
	}
	if u, err := url.Parse(strings.TrimSpace(s.BaseURL)); err == nil && u.Host != "" {
		return headerValue(u.Host)
	}
	return DefaultSiteName
}

// Team is "The <Label> team": the name an invitation is signed with when
// its maker names nobody else (the admin TUI's default).
func (s Site) Team() string { return "The " + s.Label() + " team" }

// InvitationMail is what an invitation email says.
type InvitationMail struct {
	SiteName  string // how the site is named: a Site's Label
	To        string
	Inviter   string    // who invited: a name or an email; empty → nobody is named
	URI       string    // where to accept
	ExpiresAt time.Time // shown in UTC; zero → not mentioned
	RoleName  string    // e.g. "Viewer"; empty → not mentioned
	AppName   string    // the app the invitee goes on to; empty → none
	AppURL    string    // that app's url (set by an Admin)
}

// WelcomeMail is what a welcome email says.
type WelcomeMail struct {
	SiteName string // how the site is named: a Site's Label
	To       string
	Name     string
	LoginURL string // {base_url}/login
}

// InviteAcceptedMail is what the email to an inviter says when their
// invitation is accepted (DESIGN §12, "Telling people").
type InviteAcceptedMail struct {
	SiteName string // how the site is named: a Site's Label
	To       string // the inviter's address
	Name     string // the inviter's name
	Invitee  string // who accepted: their name, else their address
	Email    string // the address the invitation was for
	RoleName string
	UsersURL string // where the inviter goes next: {base_url}/
}

// ResetPasswordMail is what a forgot-password email says.
type ResetPasswordMail struct {
	SiteName  string // how the site is named: a Site's Label
	To        string
	Name      string
	URI       string    // {base_url}/reset-password/{token}
	ExpiresAt time.Time // shown in UTC
}

// VerifyMail is what a verification email says.
type VerifyMail struct {
	SiteName  string // how the site is named: a Site's Label
	To        string
	Name      string
	URI       string    // {base_url}/verify-email/{secret}
	ExpiresAt time.Time // shown in UTC
	AppName   string    // the app the signup link goes on to; empty → none
	AppURL    string    // that app's url (set by an Admin)
}

// expiryLayout shows an expiry the way a person reads it.
const expiryLayout = "Monday, 2 January 2006 at 15:04 UTC"

// invitationSubject is the subject of an invitation email; inviter and
// site are header-safe already.
func invitationSubject(inviter, site string) string {
	if inviter == "" {
		return "You are invited to join " + site
	}
	return fmt.Sprintf("%s invited you to join %s", inviter, site)
}

func welcomeSubject(site string) string { return "Welcome to " + site }

func inviteAcceptedSubject(invitee, site string) string {
	return invitee + " accepted your invitation to " + site
}

func resetPasswordSubject(site string) string { return "Reset your password at " + site }

func verifySubject(site string) string { return "Verify your email address for " + site }

// RenderInvitationEmail renders the invitation email for m. Every value is
// put on one line first, so none can add a header; the HTML body escapes
// them. It fails only if a template is broken.
func RenderInvitationEmail(m InvitationMail) (db.Email, error) {
	inviter := headerValue(m.Inviter)
	site := headerValue(m.SiteName)
	data := struct {
		Subject, SiteName, Inviter, URI, Expires, RoleName, AppName, AppURL string
	}{
		Subject:  invitationSubject(inviter, site),
		SiteName: site,
		Inviter:  inviter,
		URI:      headerValue(m.URI),
		RoleName: headerValue(m.RoleName),
		AppName:  headerValue(m.AppName),
		AppURL:   headerValue(m.AppURL),
	}
	if !m.ExpiresAt.IsZero() {
		data.Expires = m.ExpiresAt.UTC().Format(expiryLayout)
	}
	return renderEmail("invitation", headerValue(m.To), data.Subject, data)
}

// RenderWelcomeEmail renders the welcome email for m, with the same
// guarantees as RenderInvitationEmail.
func RenderWelcomeEmail(m WelcomeMail) (db.Email, error) {
	site := headerValue(m.SiteName)
	data := struct {
		Subject, SiteName, Name, LoginURL string
	}{
		Subject:  welcomeSubject(site),
		SiteName: site,
		Name:     headerValue(m.Name),
		LoginURL: headerValue(m.LoginURL),
	}
	return renderEmail("welcome", headerValue(m.To), data.Subject, data)
}

// RenderInviteAcceptedEmail renders the email that tells an inviter their
// invitation was accepted, with the same guarantees as
// RenderInvitationEmail.
func RenderInviteAcceptedEmail(m InviteAcceptedMail) (db.Email, error) {
	site := headerValue(m.SiteName)
	invitee := headerValue(m.Invitee)
	data := struct {
		Subject, SiteName, Name, Invitee, Email, RoleName, UsersURL string
	}{
		Subject:  inviteAcceptedSubject(invitee, site),
		SiteName: site,
		Name:     headerValue(m.Name),
		Invitee:  invitee,
		Email:    headerValue(m.Email),
		RoleName: headerValue(m.RoleName),
		UsersURL: headerValue(m.UsersURL),
	}
	return renderEmail("invitation-accepted", headerValue(m.To), data.Subject, data)
}

// RenderResetPasswordEmail renders the forgot-password email for m, with
// the same guarantees as RenderInvitationEmail.
func RenderResetPasswordEmail(m ResetPasswordMail) (db.Email, error) {
	site := headerValue(m.SiteName)
	data := struct {
		Subject, SiteName, Name, URI, Expires string
	}{
		Subject:  resetPasswordSubject(site),
		SiteName: site,
		Name:     headerValue(m.Name),
		URI:      headerValue(m.URI),
		Expires:  m.ExpiresAt.UTC().Format(expiryLayout),
	}
	return renderEmail("reset-password", headerValue(m.To), data.Subject, data)
}

// RenderVerifyEmail renders the verification email for m, with the same
// guarantees as RenderInvitationEmail.
func RenderVerifyEmail(m VerifyMail) (db.Email, error) {
	site := headerValue(m.SiteName)
	data := struct {
		Subject, SiteName, Name, URI, Expires, AppName, AppURL string
	}{
		Subject:  verifySubject(site),
		SiteName: site,
		Name:     headerValue(m.Name),
		URI:      headerValue(m.URI),
		Expires:  m.ExpiresAt.UTC().Format(expiryLayout),
		AppName:  headerValue(m.AppName),
		AppURL:   headerValue(m.AppURL),
	}
	return renderEmail("verify-email", headerValue(m.To), data.Subject, data)
}

func renderEmail(name, to, subject string, data any) (db.Email, error) {
	var text, html bytes.Buffer
	if err := mailText.ExecuteTemplate(&text, name+".txt", data); err != nil {
		return db.Email{}, fmt.Errorf("render %s.txt: %w", name, err)
	}
	if err := mailHTML.ExecuteTemplate(&html, name+".html", data); err != nil {
		return db.Email{}, fmt.Errorf("render %s.html: %w", name, err)
	}
	return db.Email{To: to, Subject: subject, Text: text.String(), HTML: html.String()}, nil
}

// StaleError says why an email of the outbox is not to be sent after all:
// by the time it was due, its invitation had been resent, revoked,
// accepted or had expired, or its user had been deleted.
type StaleError struct{ Reason string }

// Error returns the reason, which the outbox keeps as the email's
// lastError.
func (e *StaleError) Error() string { return e.Reason }

// Render makes the email e of the outbox, now, for site: an invitation
// from its invitation (which must still be pending under e's token) and
// the inviter e names, a welcome email from its user, a verification
// email from its user with a link made now. An email that holds
// its rendered bodies (queued by an older build, or with EnqueueEmail) is
// returned as it is. It returns a *StaleError when e is no longer to be
// sent, and the store's error when it cannot read the data.
func Render(store *db.Store, site Site, e db.OutboxEmail) (db.Email, error) {
	if e.Rendered() {
		return db.Email{To: e.To, Subject: e.Subject, Text: e.Text, HTML: e.HTML}, nil
	}
	switch e.Kind {
	case db.EmailInvitation:
		inv, err := store.FindInvitationByToken(e.Token)
		switch {
		case db.ErrorCode(err) == db.ENOTFOUND || (err == nil && inv.ID != e.InvitationID):
			return db.Email{}, &StaleError{"not sent: the invitation was resent before this email went out, so its link no longer works (the newer email carries the new one)"}
		case db.ErrorCode(err) == db.EGONE:
			what := map[string]string{db.InvitationAccepted: "was accepted", db.InvitationRevoked: "was revoked", db.InvitationExpired: "had expired"}[inv.State]
			if what == "" {
				what = "could no longer be used"
			}
			return db.Email{}, &StaleError{"not sent: the invitation " + what + " before this email went out"}
		case err != nil:
			return db.Email{}, err
		}
		m := InvitationMail{
			SiteName: site.Label(), To: inv.Email, Inviter: e.Inviter, URI: weburl.InvitationLink(site.BaseURL, e.Token),
			ExpiresAt: inv.ExpiresAt, RoleName: inv.Role.Name(),
		}
		// The app is read as the email goes out: one deleted meanwhile
		// is not named.
		if inv.AppID != "" {
			if app, err := store.GetApp(inv.AppID); err == nil {
				m.AppName, m.AppURL = app.Name, app.URL
			} else if db.ErrorCode(err) != db.ENOTFOUND {
				return db.Email{}, err
			}
		}
		return RenderInvitationEmail(m)
	case db.EmailWelcome:
		u, err := store.FindUserByID(e.UserID)
		if db.ErrorCode(err) == db.ENOTFOUND {
			return db.Email{}, &StaleError{"not sent: the user was deleted before this email went out"}
		} else if err != nil {
			return db.Email{}, err
		}
		return RenderWelcomeEmail(WelcomeMail{SiteName: site.Label(), To: u.Email, Name: u.Name, LoginURL: weburl.Login(site.BaseURL)})
	case db.EmailInviteAccepted:
		// The inviter must still be there, and still able to sign in,
		// when the email goes out.
		inviter, err := store.FindUserByID(e.UserID)
		if db.ErrorCode(err) == db.ENOTFOUND {
			return db.Email{}, &StaleError{"not sent: the inviter was deleted before this email went out"}
		} else if err != nil {
			return db.Email{}, err
		}
		if inviter.Disabled {
			return db.Email{}, &StaleError{"not sent: the inviter was disabled before this email went out"}
		}
		inv, err := store.GetInvitation(db.SystemActor, e.InvitationID)
		if db.ErrorCode(err) == db.ENOTFOUND {
			return db.Email{}, &StaleError{"not sent: the invitation is gone"}
		} else if err != nil {
			return db.Email{}, err
		}
		invitee := inv.Email
		if u, err := store.FindUserByID(inv.UserID); err == nil && u.Name != "" {
			invitee = u.Name
		} else if err != nil && db.ErrorCode(err) != db.ENOTFOUND {
			return db.Email{}, err
		}
		return RenderInviteAcceptedEmail(InviteAcceptedMail{SiteName: site.Label(), To: inviter.Email, Name: inviter.Name,
			Invitee: invitee, Email: inv.Email, RoleName: inv.Role.Name(), UsersURL: strings.TrimSuffix(site.BaseURL, "/") + "/"})
	case db.EmailResetPassword:
		// The link must still work, and still be the user's, when the
		// email goes out: a newer request, a use, or the hour passing
		// makes it stale.
		t, err := store.PeekUserToken(db.TokenResetPassword, e.Token)
		if db.ErrorCode(err) == db.ENOTFOUND || (err == nil && t.UserID != e.UserID) {
			return db.Email{}, &StaleError{"not sent: the reset link was used, replaced by a newer one or expired before this email went out"}
		} else if err != nil {
			return db.Email{}, err
		}
		u, err := store.FindUserByID(e.UserID)
		if db.ErrorCode(err) == db.ENOTFOUND {
			return db.Email{}, &StaleError{"not sent: the user was deleted before this email went out"}
		} else if err != nil {
			return db.Email{}, err
		}
		if !u.Active() {
			return db.Email{}, &StaleError{"not sent: the user was disabled before this email went out"}
		}
		return RenderResetPasswordEmail(ResetPasswordMail{SiteName: site.Label(), To: u.Email, Name: u.Name,
			URI: weburl.ResetPassword(site.BaseURL, e.Token), ExpiresAt: t.ExpiresAt})
	case db.EmailVerify:
		// The link is made now, as the email goes out: the outbox never
		// holds its secret, and its week starts when it is sent. A link
		// made for an attempt that then fails is replaced by the next.
		secret, t, u, err := store.IssueEmailVerification(e.UserID)
		switch {
		case db.ErrorCode(err) == db.ENOTFOUND:
			return db.Email{}, &StaleError{"not sent: the user was deleted before this email went out"}
		case errors.Is(err, db.ErrAlreadyVerified):
			return db.Email{}, &StaleError{"not sent: the address was verified before this email went out"}
		case err != nil:
			return db.Email{}, err
		}
		m := VerifyMail{SiteName: site.Label(), To: u.Email, Name: u.Name,
			URI: weburl.VerifyEmail(site.BaseURL, secret), ExpiresAt: t.ExpiresAt}
		app, ok, err := store.JoinedApp(u)
		if err != nil {
			return db.Email{}, err
		}
		if ok {
			m.AppName, m.AppURL = app.Name, app.URL
		}
		return RenderVerifyEmail(m)
	case db.EmailApprovalRequest:
		// Told only while there is still something to decide.
		u, linkName, err := store.PendingSignup(e.UserID)
		switch db.ErrorCode(err) {
		case "":
		case db.ENOTFOUND:
			return db.Email{}, &StaleError{"not sent: the user was rejected or deleted before this email went out"}
		case db.EINVALID:
			return db.Email{}, &StaleError{"not sent: the user was approved before this email went out"}
		default:
			return db.Email{}, err
		}
		return RenderApprovalRequestEmail(ApprovalRequestMail{SiteName: site.Label(), To: e.To, Name: u.Name, Email: u.Email,
			Username: u.Username, LinkName: linkName, UserID: u.ID, BaseURL: site.BaseURL})
	case db.EmailApproved:
		u, err := store.FindUserByID(e.UserID)
		if db.ErrorCode(err) == db.ENOTFOUND {
			return db.Email{}, &StaleError{"not sent: the user was deleted before this email went out"}
		} else if err != nil {
			return db.Email{}, err
		}
		if u.Disabled {
			return db.Email{}, &StaleError{"not sent: the user was disabled before this email went out"}
		}
		return RenderApprovedEmail(ApprovedMail{SiteName: site.Label(), To: u.Email, Name: u.Name,
			LoginURL: weburl.Login(site.BaseURL), Verify: !u.EmailVerified})
	}
	return db.Email{}, &StaleError{fmt.Sprintf("not sent: this build of invited does not know emails of the kind %q", e.Kind)}
}

// Subject is the subject of e as it went out, or, for an email not sent
// yet (or never sent), the one it gets when it is rendered for site now.
func Subject(site Site, e db.OutboxEmail) string {
	if e.Subject != "" {
		return e.Subject
	}
	switch e.Kind {
	case db.EmailInvitation:
		return invitationSubject(headerValue(e.Inviter), site.Label())
	case db.EmailWelcome:
		return welcomeSubject(site.Label())
	case db.EmailInviteAccepted:
		// Who accepted is read when the email is rendered.
		return "Your invitation to " + site.Label() + " was accepted"
	case db.EmailResetPassword:
		return resetPasswordSubject(site.Label())
	case db.EmailVerify:
		return verifySubject(site.Label())
	case db.EmailApprovalRequest:
		return approvalRequestSubject(site.Label())
	case db.EmailApproved:
		return approvedSubject(site.Label())
	}
	return ""
}

// ---- The outbox worker ----

// OutboxOptions tune the delivery worker.
type OutboxOptions struct {
	MaxAttempts int           // after this many failed attempts an email is marked failed; 0 → 8
	BaseDelay   time.Duration // first retry delay, doubled each attempt; 0 → 10s
	MaxDelay    time.Duration // cap on the delay; 0 → 1h
	Poll        time.Duration // how often it looks for due emails without a Poke; 0 → 5s
	Timeout     time.Duration // cap on one attempt; 0 → 2m (the SMTP sender has its own, shorter, timeouts)
	Now         func() time.Time
}

// outboxBatch is how many due emails one look at the store takes.
const outboxBatch = 50

// Outbox sends the emails of the store's outbox, each rendered for its
// Site when it is sent, retrying failures with exponential backoff. Delivery is at least once: an email whose success
// could not be recorded (the store failing just then, or the process
// dying between the two) may be sent again.
type Outbox struct {
	store  *db.Store
	sender Sender
	site   Site
	log    *slog.Logger
	opts   OutboxOptions
	loop   *wake.Loop

	sent   atomic.Int64
	failed atomic.Int64

	// unrecorded holds emails that went out and are not yet marked sent.
	// A pass records them together (recordSent): after at most
	// recordEvery emails or recordWithin, and always before it looks at
	// the store for due emails again, so that none is sent twice while
	// the process lives. If recording fails they stay here, and the next
	// pass retries it first. Only Run's goroutine touches it.
	unrecorded []db.SentEmail
}

// A pass records the emails it sent in one write once it has sent
// recordEvery of them, or once the oldest has waited recordWithin: one
// commit for a run of emails instead of one each, while a crash can make
// at most that many go out twice (delivery is at least once anyway).
const (
	recordEvery  = 16
	recordWithin = 250 * time.Millisecond
)

// NewOutbox returns a worker that sends the emails of store through
// sender, rendered for site; nothing runs until Run.
func NewOutbox(store *db.Store, sender Sender, site Site, log *slog.Logger, opts OutboxOptions) *Outbox {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.BaseDelay <= 0 {
		opts.BaseDelay = 10 * time.Second
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = time.Hour
	}
	if opts.Poll <= 0 {
		opts.Poll = 5 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Outbox{
		store: store, sender: sender, site: site, log: log, opts: opts,
		loop: wake.New("outbox", log),
	}
}

// Sent is how many emails this worker has delivered.
func (o *Outbox) Sent() int64 { return o.sent.Load() }

// Failed is how many emails this worker gave up on (marked failed).
func (o *Outbox) Failed() int64 { return o.failed.Load() }

// Poke wakes the worker now, after a change enqueued an email. It never
// blocks; pokes while the worker is busy fold into one.
func (o *Outbox) Poke() { o.loop.Poke() }

// Run delivers due emails until ctx ends; call it once (a second call logs
// an error and returns at once).
//
// When ctx ends during a send, the send gets the same ctx: if it fails
// (typically because dialling was cut short) the attempt is abandoned, not
// counted, and the email stays due for the next start; if it succeeds it
// is recorded as sent. Run returns right after.
func (o *Outbox) Run(ctx context.Context) { o.loop.Run(ctx, o.pass) }

// pass sends every due email and returns how long to sleep before the
// next pass. A store error ends the pass early; the next one, a poll
// later, tries again.
func (o *Outbox) pass(ctx context.Context) time.Duration {
	if !o.recordSent() {
		return o.opts.Poll
	}
	for {
		due, err := o.store.DueEmails(o.opts.Now(), outboxBatch)
		if err != nil {
			o.log.Error("outbox: reading due emails failed", "error", err)
			return o.opts.Poll
		}
		for _, e := range due {
			if ctx.Err() != nil {
				o.recordSent()
				return 0
			}
			ok := o.attempt(ctx, e)
			if n := len(o.unrecorded); n >= recordEvery || (n > 0 && o.opts.Now().Sub(o.unrecorded[0].At) >= recordWithin) {
				ok = o.recordSent() && ok
			}
			if !ok {
				o.recordSent()
				return o.opts.Poll
			}
		}
		if !o.recordSent() {
			return o.opts.Poll
		}
		if len(due) < outboxBatch {
			break
		}
	}
	next, ok, err := o.store.NextEmailDue()
	if err != nil {
		o.log.Error("outbox: reading the next due time failed", "error", err)
		return o.opts.Poll
	}
	if !ok {
		return o.opts.Poll
	}
	return min(max(next.Sub(o.opts.Now()), 0), o.opts.Poll)
}

// attempt renders one email, sends it and records the outcome; an email
// that is no longer to be sent is cancelled instead. It returns false
// when the store failed to read or record it.
func (o *Outbox) attempt(ctx context.Context, e db.OutboxEmail) bool {
	msg, err := Render(o.store, o.site, e)
	var stale *StaleError
	if errors.As(err, &stale) {
		o.log.Info("email cancelled", "email_id", e.ID, "kind", e.Kind, "reason", stale.Reason)
		if err := o.store.CancelEmail(e.ID, stale.Reason); err != nil && db.ErrorCode(err) != db.ENOTFOUND {
			o.log.Error("outbox: recording a cancelled email failed", "email_id", e.ID, "error", err)
			return false
		}
		return true
	}
	if err != nil {
		o.log.Error("outbox: reading what an email needs failed", "email_id", e.ID, "kind", e.Kind, "error", err)
		return false
	}

	attempt := e.Attempts + 1
	sendCtx, cancel := context.WithTimeout(ctx, o.opts.Timeout)
	err = o.sender.Send(sendCtx, msg)
	cancel()

	if err == nil {
		o.sent.Add(1)
		o.log.Info("email sent", "email_id", e.ID, "kind", e.Kind, "attempt", attempt)
		o.unrecorded = append(o.unrecorded, db.SentEmail{ID: e.ID, Subject: msg.Subject, At: o.opts.Now()})
		return true
	}
	if ctx.Err() != nil {
		o.log.Info("outbox: shutting down; the email in flight stays pending", "email_id", e.ID, "kind", e.Kind)
		return true
	}

	final := attempt >= o.opts.MaxAttempts
	next := o.opts.Now().Add(o.backoff(e.Attempts))
	if final {
		o.failed.Add(1)
		o.log.Error("email failed for good", "email_id", e.ID, "kind", e.Kind, "attempt", attempt, "error", err)
	} else {
		o.log.Warn("email attempt failed; will retry", "email_id", e.ID, "kind", e.Kind, "attempt", attempt,
			"next_attempt", next, "error", err)
	}
	if err := o.store.MarkEmailAttemptFailed(e.ID, err.Error(), next, final); err != nil && db.ErrorCode(err) != db.ENOTFOUND {
		o.log.Error("outbox: recording a failed attempt failed", "email_id", e.ID, "error", err)
		return false
	}
	return true
}

// recordSent marks the emails sent so far in one write; it reports false
// (and keeps them, to try again) when the store fails.
func (o *Outbox) recordSent() bool {
	if len(o.unrecorded) == 0 {
		return true
	}
	if err := o.store.MarkEmailsSent(o.unrecorded); err != nil {
		o.log.Error("outbox: emails sent but recording them failed; will record them later", "emails", len(o.unrecorded), "error", err)
		return false
	}
	o.unrecorded = o.unrecorded[:0]
	return true
}

// backoff is the delay after the failure of attempt number attempts+1:
// BaseDelay × 2^attempts, capped at MaxDelay, plus up to 10% jitter so
// that emails failing together do not retry in lockstep.
func (o *Outbox) backoff(attempts int) time.Duration {
	d := o.opts.BaseDelay
	for i := 0; i < attempts && d < o.opts.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, o.opts.MaxDelay)
	return d + mathrand.N(d/10+1)
}

// ---- Approval (DESIGN §12) ----

// ApprovalRequestMail is what the email to an Admin about a signup that
// waits for approval says.
type ApprovalRequestMail struct {
	SiteName string // how the site is named: a Site's Label
	To       string // the Admin
	// Name, Email and Username are the user's who waits.
	Name, Email, Username string
	LinkName              string // the link they signed up through; "" when it is gone
	UserID                uint64
	BaseURL               string // server.base_url, for the API's address
}

// ApprovedMail is what the email to a user whose account was approved
// says.
type ApprovedMail struct {
	SiteName string // how the site is named: a Site's Label
	To       string
	Name     string
	LoginURL string // {base_url}/login
	// Verify says the address is still to be verified: the email says
	// that comes first.
	Verify bool
}

func approvalRequestSubject(site string) string {
	return "A new signup waits for your approval at " + site
}

func approvedSubject(site string) string { return "Your account at " + site + " is approved" }

// RenderApprovalRequestEmail renders the email that asks an Admin to
// approve or reject a signup, with the same guarantees as
// RenderInvitationEmail. It says where: the admin TUI's Users tab, or the
// API's approve and reject routes.
func RenderApprovalRequestEmail(m ApprovalRequestMail) (db.Email, error) {
	site := headerValue(m.SiteName)
	id := strconv.FormatUint(m.UserID, 10)
	api := strings.TrimRight(headerValue(m.BaseURL), "/") + "/api/admin/user-admin/" + id
	data := struct {
		Subject, SiteName, Name, Email, Username, LinkName, ID, ApproveURL, RejectURL string
	}{
		Subject:    approvalRequestSubject(site),
		SiteName:   site,
		Name:       headerValue(m.Name),
		Email:      headerValue(m.Email),
		Username:   headerValue(m.Username),
		LinkName:   headerValue(m.LinkName),
		ID:         id,
		ApproveURL: api + "/approve",
		RejectURL:  api + "/reject",
	}
	return renderEmail("approval-request", headerValue(m.To), data.Subject, data)
}

// RenderApprovedEmail renders the email that tells a user an Admin
// approved their account, with the same guarantees as
// RenderInvitationEmail.
func RenderApprovedEmail(m ApprovedMail) (db.Email, error) {
	site := headerValue(m.SiteName)
	data := struct {
		Subject, SiteName, Name, LoginURL string
		Verify                            bool
	}{
		Subject:  approvedSubject(site),
		SiteName: site,
		Name:     headerValue(m.Name),
		LoginURL: headerValue(m.LoginURL),
		Verify:   m.Verify,
	}
	return renderEmail("account-approved", headerValue(m.To), data.Subject, data)
}
