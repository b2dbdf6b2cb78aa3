package server

// Passkeys (WebAuthn, DESIGN §11) through github.com/go-webauthn/webauthn.
// The relying party is server.base_url: its host is the RP ID and its
// origin the only origin accepted. Each ceremony has two steps: begin
// makes a challenge and keeps the library's SessionData here, in memory,
// under a random ceremony id; finish takes that id with the browser's
// answer. A ceremony is taken out of memory by the first finish that
// names it, whatever the outcome, so a challenge is answered once at most.

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/julienschmidt/httprouter"

	"invited/db"
)

const (
	// ceremonyTTL is how long a begun ceremony may be finished. Browsers
	// are told a minute less, so they give up before the server does.
	ceremonyTTL = 5 * time.Minute
	// maxCeremonies bounds the ceremonies kept at once; login/begin is
	// public, so a flood must not grow memory (DESIGN §5).
	maxCeremonies = 10000
)

// Ceremony kinds: a discoverable or bound login, or adding a passkey.
const (
	ceremonyLogin    = "login"
	ceremonyRegister = "register"
)

// ceremony is one begun WebAuthn ceremony. Ceremonies live in memory
// only, not in the database: they last minutes, a restart merely makes
// people press the button again, and a public begin must not cost an
// fsynced write (nor leave records behind to sweep).
type ceremony struct {
	kind string
	// userID is the user it is for: the one adding a passkey, or the one
	// a bound login must be made by; 0 for a discoverable login.
	userID  uint64
	name    string // the new passkey's name, for register
	data    webauthn.SessionData
	expires time.Time
}

// ceremonies is the bounded, single-use store of begun ceremonies.
type ceremonies struct {
	mu  sync.Mutex
	now func() time.Time
	m   map[string]ceremony
	max int
}

func newCeremonies(now func() time.Time) *ceremonies {
	return &ceremonies{now: now, m: map[string]ceremony{}, max: maxCeremonies}
}

// put keeps c under a new random id. When full, expired ceremonies go
// first, then the one closest to expiring.
func (cs *ceremonies) put(c ceremony) (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	id := base64.RawURLEncoding.EncodeToString(b[:])
	cs.mu.Lock()
	defer cs.mu.Unlock()
	now := cs.now()
	c.expires = now.Add(ceremonyTTL)
	if len(cs.m) >= cs.max {
		var oldest string
		for k, v := range cs.m {
			if !now.Before(v.expires) {
				delete(cs.m, k)
			} else if oldest == "" || v.expires.Before(cs.m[oldest].expires) {
				oldest = k
			}
		}
		if len(cs.m) >= cs.max {
			delete(cs.m, oldest)
		}
	}
	cs.m[id] = c
	return id, nil
}

// take removes and returns the live ceremony id of kind; false when there
// is none (unknown, taken already, expired, or of another kind).
func (cs *ceremonies) take(id, kind string) (ceremony, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.m[id]
	if !ok {
		return ceremony{}, false
	}
	delete(cs.m, id)
	if c.kind != kind || !cs.now().Before(c.expires) {
		return ceremony{}, false
	}
	return c, true
}

// newRelyingParty makes the WebAuthn relying party of baseURL, or says
// why there is none: WebAuthn needs a host name (an IP address cannot be
// an RP ID), and browsers allow it only on https or on localhost.
func newRelyingParty(baseURL, site string) (*webauthn.WebAuthn, string) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return nil, "server.base_url is not set to an absolute URL"
	}
	host := u.Hostname()
	if host == "" || net.ParseIP(host) != nil {
		return nil, "server.base_url's host is an IP address; passkeys need a host name such as localhost or invite.example.com"
	}
	if site == "" {
		site = "invited"
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID: host, RPDisplayName: site, RPOrigins: []string{u.Scheme + "://" + u.Host},
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: ceremonyTTL - time.Minute, TimeoutUVD: ceremonyTTL - time.Minute},
			Registration: webauthn.TimeoutConfig{Timeout: ceremonyTTL - time.Minute, TimeoutUVD: ceremonyTTL - time.Minute},
		},
	})
	if err != nil {
		return nil, "server.base_url cannot be a WebAuthn relying party: " + err.Error()
	}
	return wa, ""
}

// passkeyUser is a user as the WebAuthn library sees it, with the
// passkeys a ceremony may use.
type passkeyUser struct {
	u     db.User
	creds []webauthn.Credential
}

func (p passkeyUser) WebAuthnID() []byte { return db.PasskeyUserHandle(p.u.ID) }

func (p passkeyUser) WebAuthnName() string {
	if p.u.Username != "" {
		return p.u.Username
	}
	return p.u.Email
}

func (p passkeyUser) WebAuthnDisplayName() string {
	if p.u.Name != "" {
		return p.u.Name
	}
	return p.WebAuthnName()
}

func (p passkeyUser) WebAuthnCredentials() []webauthn.Credential { return p.creds }

// credentialOf turns a stored passkey into the library's credential.
func credentialOf(pk db.Passkey) webauthn.Credential {
	transports := make([]protocol.AuthenticatorTransport, len(pk.Transports))
	for i, t := range pk.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID: pk.CredentialID, PublicKey: pk.PublicKey, AttestationType: pk.AttestationType,
		AttestationFormat: pk.AttestationFormat, Transport: transports,
		Flags: webauthn.CredentialFlags{UserPresent: pk.UserPresent, UserVerified: pk.UserVerified,
			BackupEligible: pk.BackupEligible, BackupState: pk.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: pk.AAGUID, SignCount: pk.SignCount,
			Attachment: protocol.AuthenticatorAttachment(pk.Attachment)},
	}
}

// passkeyOf turns a new credential into a passkey of userID to store.
func passkeyOf(userID uint64, name string, c *webauthn.Credential) db.Passkey {
	transports := make([]string, len(c.Transport))
	for i, t := range c.Transport {
		transports[i] = string(t)
	}
	return db.Passkey{UserID: userID, CredentialID: c.ID, Name: name, PublicKey: c.PublicKey,
		AttestationType: c.AttestationType, AttestationFormat: c.AttestationFormat, Transports: transports,
		Attachment: string(c.Authenticator.Attachment), AAGUID: c.Authenticator.AAGUID,
		SignCount: c.Authenticator.SignCount, UserPresent: c.Flags.UserPresent, UserVerified: c.Flags.UserVerified,
		BackupEligible: c.Flags.BackupEligible, BackupState: c.Flags.BackupState}
}

var (
	errPasskeysOff = &statusError{http.StatusNotFound, "NotFound",
		"Passkeys are off on this server: server.base_url must name a host (not an IP address) for them to work."}
	errCeremonyGone = db.Errorf(db.EUNAUTHORIZED,
		"This passkey request is unknown, was used already or took longer than 5 minutes; start again.")
	errPasskeyRefused = db.Errorf(db.EUNAUTHORIZED,
		"The passkey's answer could not be verified; try again, or use another passkey or your password.")
	errPasskeyUnreadable = db.Errorf(db.EINVALID,
		"credential is not a WebAuthn answer this server can read; send what navigator.credentials returned, with its binary fields in base64url.")
	errPasskeyKeyCaller = db.Errorf(db.EFORBIDDEN,
		"Passkeys belong to people: add one on /account while logged in, not with an API key.")
)

// passkeyAssertion is what a verified assertion proves: who made it, with
// which passkey, and what to record of the use.
type passkeyAssertion struct {
	UserID       uint64
	CredentialID []byte
	Use          db.PasskeyUse
}

// beginPasskeyAssertion starts a login by passkey: discoverable (any
// passkey of any user, the authenticator picks) when userID is 0, else
// limited to the passkeys of userID (a second step after a password). A
// discoverable login is both factors, so it requires user verification.
func (s *Server) beginPasskeyAssertion(userID uint64) (string, *protocol.CredentialAssertion, error) {
	if s.webauthn == nil {
		return "", nil, errPasskeysOff
	}
	var (
		opts *protocol.CredentialAssertion
		data *webauthn.SessionData
		err  error
	)
	if userID == 0 {
		opts, data, err = s.webauthn.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	} else {
		var pu passkeyUser
		if pu, err = s.passkeyUser(userID); err != nil {
			return "", nil, err
		}
		if len(pu.creds) == 0 {
			return "", nil, db.Errorf(db.ENOTFOUND, "This account has no passkey.")
		}
		opts, data, err = s.webauthn.BeginLogin(pu, webauthn.WithUserVerification(protocol.VerificationPreferred))
	}
	if err != nil {
		return "", nil, err
	}
	id, err := s.ceremonies.put(ceremony{kind: ceremonyLogin, userID: userID, data: *data})
	return id, opts, err
}

// passkeyUser reads a user with all their passkeys.
func (s *Server) passkeyUser(userID uint64) (passkeyUser, error) {
	u, err := s.store.FindUserByID(userID)
	if err != nil {
		return passkeyUser{}, err
	}
	pks, err := s.store.Passkeys(userID)
	if err != nil {
		return passkeyUser{}, err
	}
	pu := passkeyUser{u: u}
	for _, pk := range pks {
		pu.creds = append(pu.creds, credentialOf(pk))
	}
	return pu, nil
}

// finishPasskeyAssertion checks the browser's answer (credential, the JSON
// of a PublicKeyCredential) to the login ceremony id, and returns who
// made it. userID must be the one the ceremony was begun for (0 for a
// discoverable login). It records nothing: the caller commits the use
// (db.Store.PasskeyLogin for a login), which also refuses a counter that
// went backwards, a removed passkey and a disabled user. Every failure
// is errCeremonyGone, errPasskeyUnreadable, db.ErrPasskeyLogin (no such
// passkey) or errPasskeyRefused.
func (s *Server) finishPasskeyAssertion(id string, credential []byte, userID uint64) (passkeyAssertion, error) {
	if s.webauthn == nil {
		return passkeyAssertion{}, errPasskeysOff
	}
	c, ok := s.ceremonies.take(id, ceremonyLogin)
	if !ok || c.userID != userID {
		return passkeyAssertion{}, errCeremonyGone
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return passkeyAssertion{}, errPasskeyUnreadable
	}
	var cred *webauthn.Credential
	var owner uint64
	var unknown bool // the credential is not (or no longer) registered
	if userID == 0 {
		// The authenticator names the user (the handle is the user id);
		// only that user's passkey of that credential id is looked at,
		// so another user's credential id finds nothing.
		cred, err = s.webauthn.ValidateDiscoverableLogin(func(rawID, handle []byte) (webauthn.User, error) {
			owner = db.UserIDFromPasskeyHandle(handle)
			pk, err := s.store.FindPasskey(owner, rawID)
			if err != nil {
				unknown = db.ErrorCode(err) == db.ENOTFOUND
				return nil, err
			}
			return passkeyUser{u: db.User{ID: owner}, creds: []webauthn.Credential{credentialOf(pk)}}, nil
		}, c.data, parsed)
	} else {
		var pu passkeyUser
		if pu, err = s.passkeyUser(userID); err == nil {
			owner = userID
			cred, err = s.webauthn.ValidateLogin(pu, c.data, parsed)
		}
	}
	if err != nil {
		var de *db.Error
		switch {
		case errors.As(err, &de) && de.Code == db.EINTERNAL:
			return passkeyAssertion{}, err
		case unknown:
			// Most likely removed on /account while the device keeps it.
			return passkeyAssertion{}, db.ErrPasskeyLogin
		}
		return passkeyAssertion{}, errPasskeyRefused
	}
	flags := parsed.Response.AuthenticatorData.Flags
	return passkeyAssertion{UserID: owner, CredentialID: cred.ID, Use: db.PasskeyUse{
		SignCount: parsed.Response.AuthenticatorData.Counter, UserVerified: flags.HasUserVerified(),
		BackupState: flags.HasBackupState()}}, nil
}

// The JSON endpoints the page script calls.

// checkCredential refuses a credential that is not a JSON object before
// anything else looks at it.
func checkCredential(v jsontext.Value) error {
	if v.Kind() != '{' {
		return db.FieldErrorf("credential", "must be an object: the PublicKeyCredential navigator.credentials returned, in its JSON form")
	}
	return nil
}

type passkeyOptionsResponse struct {
	Ceremony  string `json:"ceremony"`
	PublicKey any    `json:"publicKey"`
}

type passkeyLoginBeginRequest struct{}

// handlePasskeyLoginBegin starts a discoverable login
// (POST /auth/passkey/login/begin).
func (s *Server) handlePasskeyLoginBegin(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var req passkeyLoginBeginRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	id, opts, err := s.beginPasskeyAssertion(0)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, passkeyOptionsResponse{Ceremony: id, PublicKey: opts.Response})
}

type passkeyFinishRequest struct {
	Ceremony   string         `json:"ceremony"`
	Credential jsontext.Value `json:"credential"`
	// Rd is where the login page was to send the browser next.
	Rd string `json:"rd,omitempty"`
}

type passkeyLoginResponse struct {
	User userResponse `json:"user"`
	// Next is where the page sends the browser: a safe rd, else /account.
	Next string `json:"next"`
}

// handlePasskeyLoginFinish checks a discoverable login's answer and opens
// a session (POST /auth/passkey/login/finish). A failed assertion does not
// count towards the account's failed logins: a signature cannot be
// guessed, and the user handle is only a user id, so counting would let
// anyone slow down anyone's password logins. The per-IP limit applies.
func (s *Server) handlePasskeyLoginFinish(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var req passkeyFinishRequest
	if err := decodeWithCredential(w, r, &req, &req.Credential); err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.finishPasskeyAssertion(req.Ceremony, req.Credential, 0)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.store.PasskeyLogin(a.UserID, a.CredentialID, a.Use, s.sessionTTL)
	s.passkeySignedIn(w, r, res, err, req.Rd)
}

// decodeWithCredential decodes a finish step's body into v and refuses a
// credential (v's field) that is not a JSON object.
func decodeWithCredential(w http.ResponseWriter, r *http.Request, v any, credential *jsontext.Value) error {
	if err := decode(w, r, v); err != nil {
		return err
	}
	return checkCredential(*credential)
}

// passkeySignedIn answers a login a passkey finished (err, if it failed):
// the session cookie, the user, and where the page goes next (a safe rd).
func (s *Server) passkeySignedIn(w http.ResponseWriter, r *http.Request, res db.LoginResult, err error, rd string) {
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	info(r).actor = userActor(res.User).String()
	s.setSessionCookie(w, res)
	writeJSON(w, http.StatusOK, passkeyLoginResponse{User: newUserResponse(res.User), Next: s.pages.NextAfterLogin(rd)})
}

type passkeyRegisterBeginRequest struct {
	Name string `json:"name"`
}

// passkeyCaller is the logged-in user of a passkey route: an API key is
// refused, since a passkey is made by a person in a browser.
func (s *Server) passkeyCaller(actor db.Actor) (db.User, error) {
	if actor.Kind != "user" {
		return db.User{}, errPasskeyKeyCaller
	}
	return s.store.FindUserByID(actor.ID)
}

// handlePasskeyRegisterBegin starts adding a passkey to the caller's
// account (POST /account/passkeys/begin): the name is checked now, the
// passkeys they have are excluded, and the authenticator must keep the
// credential (a resident key, for logins without a username).
func (s *Server) handlePasskeyRegisterBegin(w http.ResponseWriter, r *http.Request, _ httprouter.Params, actor db.Actor) {
	var req passkeyRegisterBeginRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.passkeyCaller(actor)
	if err == nil && s.webauthn == nil {
		err = errPasskeysOff
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	name, err := db.CheckPasskeyName(req.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	pu, err := s.passkeyUser(u.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if len(pu.creds) >= db.MaxPasskeysPerUser {
		s.writeError(w, r, db.Errorf(db.EINVALID, "You already have %d passkeys, the most an account may hold; remove one you no longer use first.", len(pu.creds)))
		return
	}
	required := true
	opts, data, err := s.webauthn.BeginRegistration(pu,
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			RequireResidentKey: &required, ResidentKey: protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationPreferred,
		}),
		webauthn.WithExclusions(webauthn.Credentials(pu.creds).CredentialDescriptors()))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := s.ceremonies.put(ceremony{kind: ceremonyRegister, userID: u.ID, name: name, data: *data})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, passkeyOptionsResponse{Ceremony: id, PublicKey: opts.Response})
}

type passkeyRegisterFinishRequest struct {
	Ceremony   string         `json:"ceremony"`
	Credential jsontext.Value `json:"credential"`
}

// passkeyResponse is a passkey as the API shows it: never its key.
type passkeyResponse struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	CreatedAt  string  `json:"createdAt"`
	LastUsedAt *string `json:"lastUsedAt"`
}

func newPasskeyResponse(pk db.Passkey) passkeyResponse {
	return passkeyResponse{ID: base64.RawURLEncoding.EncodeToString(pk.CredentialID), Name: pk.Name,
		CreatedAt: db.FormatTime(pk.CreatedAt), LastUsedAt: nullableTime(pk.LastUsedAt)}
}

// handlePasskeyRegisterFinish checks the new credential against the
// caller's ceremony and stores it (POST /account/passkeys/finish).
func (s *Server) handlePasskeyRegisterFinish(w http.ResponseWriter, r *http.Request, _ httprouter.Params, actor db.Actor) {
	var req passkeyRegisterFinishRequest
	if err := decodeWithCredential(w, r, &req, &req.Credential); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.passkeyCaller(actor)
	if err == nil && s.webauthn == nil {
		err = errPasskeysOff
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c, ok := s.ceremonies.take(req.Ceremony, ceremonyRegister)
	if !ok || c.userID != u.ID {
		s.writeError(w, r, errCeremonyGone)
		return
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(req.Credential)
	if err != nil {
		s.writeError(w, r, errPasskeyUnreadable)
		return
	}
	pu, err := s.passkeyUser(u.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cred, err := s.webauthn.CreateCredential(pu, c.data, parsed)
	if err != nil {
		s.writeError(w, r, db.Errorf(db.EINVALID, "The new passkey could not be verified; try again."))
		return
	}
	pk, err := s.store.AddPasskey(actor, passkeyOf(u.ID, c.name, cred))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, newPasskeyResponse(pk))
}

// A passkey as the second step of a password login (DESIGN §11): the
// continuation of the 401 SecondFactorRequired names the user, and the
// ceremony is bound to that user's passkeys.

type passkeySecondBeginRequest struct {
	Continuation string `json:"continuation"`
}

// continuationUser is the user a live login continuation waits for, or
// db.ErrBadSecondFactor, the same answer as a wrong code.
func (s *Server) continuationUser(continuation string) (uint64, error) {
	t, err := s.store.PeekUserToken(db.TokenSecondFactor, continuation)
	if err != nil {
		if db.ErrorCode(err) == db.ENOTFOUND {
			return 0, db.ErrBadSecondFactor
		}
		return 0, err
	}
	return t.UserID, nil
}

// handlePasskeySecondBegin starts the second step of a login with a
// passkey (POST /auth/passkey/second-factor/begin {continuation}): only
// the passkeys of the continuation's user may answer.
func (s *Server) handlePasskeySecondBegin(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var req passkeySecondBeginRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	userID, err := s.continuationUser(req.Continuation)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, opts, err := s.beginPasskeyAssertion(userID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, passkeyOptionsResponse{Ceremony: id, PublicKey: opts.Response})
}

type passkeySecondFinishRequest struct {
	Continuation string         `json:"continuation"`
	Ceremony     string         `json:"ceremony"`
	Credential   jsontext.Value `json:"credential"`
	// Rd is where the login was to send the browser next.
	Rd string `json:"rd,omitempty"`
}

// handlePasskeySecondFinish checks the passkey's answer against the
// continuation's ceremony and finishes the login as a code would (POST
// /auth/passkey/second-factor/finish): the session cookie, the user and
// where to go next.
func (s *Server) handlePasskeySecondFinish(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var req passkeySecondFinishRequest
	if err := decodeWithCredential(w, r, &req, &req.Credential); err != nil {
		s.writeError(w, r, err)
		return
	}
	userID, err := s.continuationUser(req.Continuation)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.finishPasskeyAssertion(req.Ceremony, req.Credential, userID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.accounts.CompleteSecondFactorWithPasskey(req.Continuation, a.UserID, a.CredentialID, a.Use)
	s.passkeySignedIn(w, r, res, err, req.Rd)
}
