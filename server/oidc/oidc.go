// Package oidc is invited's OpenID Connect provider (DESIGN §10). The
// protocol is github.com/zitadel/oidc/v3's op package; this package gives
// it storage over *db.Store (auth requests, codes and refresh tokens as
// db keeps them, oidc apps as clients, the database's RS256 keys) and the
// one page of its own: /oidc/login, where an auth request meets the
// invited session cookie. Access and ID tokens are short-lived JWTs, so
// they are not stored.
package oidc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"invited/db"
)

// Token lifetimes. Both stay well below db.DefaultSigningKeyKeep, so a
// token outlives neither the key that signed it nor its publication.
const (
	AccessTokenLifetime = 5 * time.Minute
	IDTokenLifetime     = 5 * time.Minute
)

// The provider's paths, below the issuer. Discovery is at the issuer's
// /.well-known/openid-configuration, as the specification wants.
const (
	PathAuthorize  = "/oidc/authorize"
	PathCallback   = "/oidc/authorize/callback" // the op package adds it to PathAuthorize
	PathToken      = "/oidc/token"
	PathUserinfo   = "/oidc/userinfo"
	PathRevoke     = "/oidc/revoke"
	PathEndSession = "/oidc/end_session"
	PathKeys       = "/oidc/keys"
	PathIntrospect = "/oidc/introspect"
	PathLogin      = "/oidc/login"
	PathDiscovery  = "/.well-known/openid-configuration"
)

// Options configure New.
type Options struct {
	Store *db.Store
	// Issuer is server.base_url, without a trailing slash.
	Issuer string
	// Session returns the user signed in with the request's session
	// cookie, if any.
	Session func(*http.Request) (db.User, bool)
	// SessionToken returns the request's session cookie value, "" for
	// none; RP-initiated logout ends that session.
	SessionToken func(*http.Request) string
	// EndSession ends the web session with that token.
	EndSession func(token string) error
	// ErrorPage answers a person's browser with the site's error page for
	// err (a *db.Error, or an internal error that is logged, not shown).
	// Nil answers plain text.
	ErrorPage func(w http.ResponseWriter, r *http.Request, err error)
	Logger    *slog.Logger
}

// Provider is the OpenID Connect provider: an http.Handler for the op
// package's endpoints, and LoginHandler for /oidc/login.
type Provider struct {
	op      *op.Provider
	storage *storage
	opts    Options
}

// New makes the provider, and the provider's secret and first signing
// key when the database has none yet (`invited serve` makes the key at
// start already), so the JWKS is never empty.
func New(opts Options) (*Provider, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if _, err := opts.Store.EnsureSigningKey(); err != nil {
		return nil, fmt.Errorf("make the first OpenID Connect signing key: %w", err)
	}
	key, err := opts.Store.EnsureOIDCCryptoKey()
	if err != nil {
		return nil, fmt.Errorf("make the OpenID Connect secret: %w", err)
	}
	st := &storage{store: opts.Store}
	cfg := &op.Config{
		CryptoKey:             key,
		CodeMethodS256:        true,
		AuthMethodPost:        true,
		GrantTypeRefreshToken: true,
		SupportedScopes:       []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, ScopeGroups, oidc.ScopeOfflineAccess},
		SupportedClaims: []string{"sub", "aud", "exp", "iat", "iss", "auth_time", "nonce", "at_hash", "c_hash",
			"email", "email_verified", "name", "preferred_username", "groups", "role"},
	}
	var interceptors []op.HttpInterceptor
	if opts.SessionToken != nil {
		interceptors = append(interceptors, func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ctx := context.WithValue(r.Context(), sessionTokenKey{}, opts.SessionToken(r))
				next.ServeHTTP(w, r.WithContext(ctx))
			})
		})
	}
	st.endSession = opts.EndSession
	optList := []op.Option{
		op.WithCustomAuthEndpoint(op.NewEndpoint(strings.TrimPrefix(PathAuthorize, "/"))),
		op.WithCustomTokenEndpoint(op.NewEndpoint(strings.TrimPrefix(PathToken, "/"))),
		op.WithCustomUserinfoEndpoint(op.NewEndpoint(strings.TrimPrefix(PathUserinfo, "/"))),
		op.WithCustomRevocationEndpoint(op.NewEndpoint(strings.TrimPrefix(PathRevoke, "/"))),
		op.WithCustomEndSessionEndpoint(op.NewEndpoint(strings.TrimPrefix(PathEndSession, "/"))),
		op.WithCustomKeysEndpoint(op.NewEndpoint(strings.TrimPrefix(PathKeys, "/"))),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(strings.TrimPrefix(PathIntrospect, "/"))),
		op.WithLogger(opts.Logger),
		op.WithHttpInterceptors(interceptors...),
	}
	if strings.HasPrefix(opts.Issuer, "http://") {
		optList = append(optList, op.WithAllowInsecure())
	}
	p, err := op.NewProvider(cfg, st, op.StaticIssuer(opts.Issuer), optList...)
	if err != nil {
		return nil, fmt.Errorf("start the OpenID Connect provider: %w", err)
	}
	return &Provider{op: p, storage: st, opts: opts}, nil
}

// ServeHTTP serves the op package's endpoints and discovery.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == PathDiscovery {
		p.discovery(w, r)
		return
	}
	p.op.ServeHTTP(w, r)
}

// discovery answers the discovery document as the op package builds it,
// narrowed to what invited serves: the code flow with refresh tokens.
// The package lists the implicit grant, id_token response types and a
// device endpoint whatever the provider supports; an app that believed
// them would fail later with a less clear error.
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	ctx := op.ContextWithIssuer(r.Context(), p.opts.Issuer)
	doc := op.CreateDiscoveryConfig(ctx, p.op, p.storage)
	doc.ResponseTypesSupported = []string{string(oidc.ResponseTypeCode)}
	doc.ResponseModesSupported = []string{string(oidc.ResponseModeQuery)}
	doc.GrantTypesSupported = []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
	doc.DeviceAuthorizationEndpoint = ""
	doc.CheckSessionIframe = ""
	doc.CodeChallengeMethodsSupported = []oidc.CodeChallengeMethod{oidc.CodeChallengeMethodS256}
	op.Discover(w, doc)
}

// LoginHandler is GET /oidc/login?authRequestID=: the page the op package
// sends a new auth request to. A user signed in (and, for prompt=login,
// signed in since the request arrived) whom the app admits goes on to
// the code; one the app does not admit goes back to the app with
// access_denied; anyone else goes to /login and comes back here.
func (p *Provider) LoginHandler(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	req, err := p.opts.Store.OIDCAuthRequestByID(id)
	if err != nil {
		p.errorPage(w, r, fmt.Errorf("oidc login: read the auth request: %w", err))
		return
	}
	ar := &authRequest{req}
	user, signedIn := p.opts.Session(r)
	if signedIn && !p.opts.Store.OIDCSignInFresh(req, user) {
		signedIn = false // the app wants a fresh sign-in (prompt=login or max_age)
	}
	if !signedIn {
		if slices.Contains(req.Prompt, oidc.PromptNone) {
			p.fail(w, r, ar, oidc.ErrLoginRequired())
			return
		}
		back := PathLogin + "?authRequestID=" + url.QueryEscape(id)
		http.Redirect(w, r, "/login?rd="+url.QueryEscape(back), http.StatusFound)
		return
	}
	app, ok, err := p.opts.Store.AppByClientID(req.ClientID)
	if err != nil {
		p.errorPage(w, r, fmt.Errorf("oidc login: read the app: %w", err))
		return
	}
	if !ok || !app.Admits(user) {
		p.fail(w, r, ar, oidc.ErrAccessDenied().WithDescription("You are not in a group that may use this app."))
		return
	}
	amr, err := p.opts.Store.SessionAMR(p.opts.SessionToken(r))
	if err != nil {
		// The session ended between the two reads: sign in again.
		back := PathLogin + "?authRequestID=" + url.QueryEscape(id)
		http.Redirect(w, r, "/login?rd="+url.QueryEscape(back), http.StatusFound)
		return
	}
	if _, err := p.opts.Store.CompleteOIDCAuthRequest(id, user.ID, amr); err != nil {
		p.errorPage(w, r, fmt.Errorf("oidc login: complete the auth request: %w", err))
		return
	}
	ctx := op.ContextWithIssuer(r.Context(), p.opts.Issuer)
	http.Redirect(w, r, op.AuthCallbackURL(p.op)(ctx, id), http.StatusFound)
}

// errorPage answers a browser that cannot go on, with the site's page
// when there is one.
func (p *Provider) errorPage(w http.ResponseWriter, r *http.Request, err error) {
	if p.opts.ErrorPage != nil {
		p.opts.ErrorPage(w, r, err)
		return
	}
	var dbErr *db.Error
	if errors.As(err, &dbErr) {
		http.Error(w, dbErr.Error(), http.StatusBadRequest)
		return
	}
	p.opts.Logger.ErrorContext(r.Context(), "oidc login", "error", err)
	http.Error(w, "The sign-in could not go on; try again.", http.StatusInternalServerError)
}

// fail sends the user back to the app with the error, and forgets the
// request.
func (p *Provider) fail(w http.ResponseWriter, r *http.Request, ar *authRequest, e *oidc.Error) {
	_ = p.opts.Store.DeleteOIDCAuthRequest(ar.ID)
	r = r.WithContext(op.ContextWithIssuer(r.Context(), p.opts.Issuer))
	op.AuthRequestError(w, r, ar, e, p.op)
}

// ScopeGroups asks for the groups claim.
const ScopeGroups = "groups"

type sessionTokenKey struct{}

// authRequest is a db.OIDCAuthRequest as the op package sees it.
type authRequest struct{ db.OIDCAuthRequest }

func (a *authRequest) GetID() string         { return a.ID }
func (a *authRequest) GetACR() string        { return "" }
func (a *authRequest) GetAMR() []string      { return a.AMR }
func (a *authRequest) GetAudience() []string { return []string{a.ClientID} }
func (a *authRequest) GetAuthTime() time.Time {
	return a.AuthTime
}
func (a *authRequest) GetClientID() string { return a.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.CodeChallenge, Method: oidc.CodeChallengeMethod(a.CodeChallengeMethod)}
}
func (a *authRequest) GetNonce() string                   { return a.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseType(a.ResponseType) }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseMode(a.ResponseMode) }
func (a *authRequest) GetScopes() []string                { return a.Scopes }
func (a *authRequest) GetState() string                   { return a.State }
func (a *authRequest) GetSubject() string {
	if a.UserID == 0 {
		return ""
	}
	return strconv.FormatUint(a.UserID, 10)
}
func (a *authRequest) Done() bool { return a.OIDCAuthRequest.Done() }

// refreshRequest is a db.OIDCRefreshGrant as the op package sees it.
type refreshRequest struct {
	db.OIDCRefreshGrant
}

func (r *refreshRequest) GetAMR() []string       { return r.AMR }
func (r *refreshRequest) GetAudience() []string  { return []string{r.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time { return r.AuthTime }
func (r *refreshRequest) GetClientID() string    { return r.ClientID }
func (r *refreshRequest) GetScopes() []string    { return r.Scopes }
func (r *refreshRequest) GetSubject() string     { return strconv.FormatUint(r.UserID, 10) }
func (r *refreshRequest) SetCurrentScopes(scopes []string) {
	r.Scopes = scopes
}

// client is an oidc app as the op package sees it.
type client struct{ app db.App }

func (c *client) GetID() string          { return c.app.OIDC.ClientID }
func (c *client) RedirectURIs() []string { return c.app.OIDC.RedirectURIs }

// PostLogoutRedirectURIs are the redirect URIs: apps register no others.
func (c *client) PostLogoutRedirectURIs() []string { return c.app.OIDC.RedirectURIs }

// ApplicationType: a public client is native (loopback redirects as
// RFC 8252 has them), a confidential one is a web server.
func (c *client) ApplicationType() op.ApplicationType {
	if c.app.OIDC.Public {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

// AuthMethod: none for a public client (PKCE is then required at the
// token endpoint); client_secret_basic otherwise, and the provider takes
// client_secret_post as well.
func (c *client) AuthMethod() oidc.AuthMethod {
	if c.app.OIDC.Public {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}
func (c *client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}
func (c *client) LoginURL(id string) string {
	return PathLogin + "?authRequestID=" + url.QueryEscape(id)
}
func (c *client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }
func (c *client) IDTokenLifetime() time.Duration      { return IDTokenLifetime }
func (c *client) DevMode() bool                       { return false }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) IsScopeAllowed(scope string) bool { return scope == ScopeGroups }

// IDTokenUserinfoClaimsAssertion puts the claims in the ID token too, so
// an app need not call userinfo.
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *client) ClockSkew() time.Duration             { return 0 }

// storage is op.Storage over the database.
type storage struct {
	store      *db.Store
	endSession func(string) error
}

var _ op.Storage = (*storage)(nil)

func (s *storage) CreateAuthRequest(ctx context.Context, in *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if in.CodeChallenge != "" && in.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256.")
	}
	c, err := s.GetClientByClientID(ctx, in.ClientID)
	if err != nil {
		return nil, err
	}
	if c.AuthMethod() == oidc.AuthMethodNone && in.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("This app is public: it must send a PKCE code_challenge (S256).")
	}
	prompt := []string(in.Prompt)
	var maxAge *time.Duration
	if in.MaxAge != nil {
		d := time.Duration(min(uint64(*in.MaxAge), uint64(math.MaxInt64/int64(time.Second)))) * time.Second
		maxAge = &d
	}
	req, err := s.store.CreateOIDCAuthRequest(db.OIDCAuthRequest{
		ClientID: in.ClientID, RedirectURI: in.RedirectURI, ResponseType: string(in.ResponseType),
		ResponseMode: string(in.ResponseMode), Scopes: in.Scopes, State: in.State, Nonce: in.Nonce,
		CodeChallenge: in.CodeChallenge, CodeChallengeMethod: string(in.CodeChallengeMethod), Prompt: prompt,
		MaxAge: maxAge,
	})
	if err != nil {
		return nil, err
	}
	return &authRequest{req}, nil
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	req, err := s.store.OIDCAuthRequestByID(id)
	if err != nil {
		if db.ErrorCode(err) == db.ENOTFOUND {
			return nil, oidc.ErrInvalidRequest().WithDescription("%s", err.Error())
		}
		return nil, err
	}
	return &authRequest{req}, nil
}

// AuthRequestByCode redeems the code: it works once.
func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	req, err := s.store.RedeemOIDCCode(code)
	if err != nil {
		if db.ErrorCode(err) == db.ENOTFOUND {
			return nil, oidc.ErrInvalidGrant().WithDescription("The code is unknown, used or expired.")
		}
		return nil, err
	}
	return &authRequest{req}, nil
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	return s.store.SaveOIDCCode(id, code)
}

func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	return s.store.DeleteOIDCAuthRequest(id)
}

// accessTokenID makes an access token's jti: random, the client id, then
// the granted scopes, so that userinfo and introspection (which get only
// the jti and the subject of the signed token) know which claims to give
// and to whom.
func accessTokenID(clientID string, scopes []string) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return strings.Join(append([]string{hex.EncodeToString(b), clientID}, scopes...), " "), nil
}

// parseTokenID splits a jti made by accessTokenID.
func parseTokenID(id string) (clientID string, scopes []string) {
	f := strings.Fields(id)
	if len(f) < 2 {
		return "", nil
	}
	return f[1], f[2:]
}

func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	clientID := ""
	if aud := req.GetAudience(); len(aud) > 0 {
		clientID = aud[0]
	}
	id, err := accessTokenID(clientID, req.GetScopes())
	return id, time.Now().Add(AccessTokenLifetime), err
}

func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	var grant db.OIDCRefreshGrant
	switch r := req.(type) {
	case *authRequest:
		grant = db.OIDCRefreshGrant{UserID: r.UserID, ClientID: r.ClientID, Scopes: r.Scopes, AuthTime: r.AuthTime, AMR: r.AMR}
	case *refreshRequest:
		grant = r.OIDCRefreshGrant
	default:
		return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
	}
	token, _, err := s.store.CreateOIDCRefreshToken(grant, current)
	if err != nil {
		if db.ErrorCode(err) == db.ENOTFOUND {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("The refresh token is unknown, used or expired.")
		}
		return "", "", time.Time{}, err
	}
	id, exp, err := s.CreateAccessToken(ctx, req)
	return id, token, exp, err
}

// TokenRequestByRefreshToken refuses the token of a user who is gone,
// disabled, not verified or no longer admitted to the app (DESIGN §10).
func (s *storage) TokenRequestByRefreshToken(_ context.Context, token string) (op.RefreshTokenRequest, error) {
	grant, err := s.store.OIDCRefreshToken(token)
	if err != nil {
		if db.ErrorCode(err) == db.ENOTFOUND {
			return nil, op.ErrInvalidRefreshToken
		}
		return nil, err
	}
	user, err := s.store.FindUserByID(grant.UserID)
	if err != nil {
		return nil, op.ErrInvalidRefreshToken
	}
	app, ok, err := s.store.AppByClientID(grant.ClientID)
	if err != nil {
		return nil, err
	}
	if !ok || !app.Admits(user) {
		_, _ = s.store.RevokeOIDCRefreshToken(token)
		return nil, op.ErrInvalidRefreshToken
	}
	return &refreshRequest{grant}, nil
}

// TerminateSession ends the web session the logout request came with,
// when it is the user's the ID token hint names.
func (s *storage) TerminateSession(ctx context.Context, userID, _ string) error {
	token, _ := ctx.Value(sessionTokenKey{}).(string)
	if token == "" || s.endSession == nil {
		return nil
	}
	u, err := s.store.AuthenticateSession(token)
	if err != nil || strconv.FormatUint(u.ID, 10) != userID {
		return nil
	}
	return s.endSession(token)
}

// refreshTokenIDPrefix marks a token id from GetRefreshTokenInfo; other
// ids RevokeToken gets are access tokens' jti, which are not stored and
// expire on their own.
const refreshTokenIDPrefix = "refresh:"

func (s *storage) GetRefreshTokenInfo(_ context.Context, clientID, token string) (string, string, error) {
	grant, err := s.store.OIDCRefreshToken(token)
	if err != nil || grant.ClientID != clientID {
		return "", "", op.ErrInvalidRefreshToken
	}
	return strconv.FormatUint(grant.UserID, 10), refreshTokenIDPrefix + token, nil
}

func (s *storage) RevokeToken(_ context.Context, tokenOrID, _, clientID string) *oidc.Error {
	token, ok := strings.CutPrefix(tokenOrID, refreshTokenIDPrefix)
	if !ok {
		return nil
	}
	grant, err := s.store.OIDCRefreshToken(token)
	if err != nil {
		return nil // unknown or gone already: revocation succeeds (RFC 7009)
	}
	if grant.ClientID != clientID {
		return oidc.ErrInvalidClient().WithDescription("The token belongs to another client.")
	}
	if _, err := s.store.RevokeOIDCRefreshToken(token); err != nil {
		return oidc.ErrServerError()
	}
	return nil
}

type signingKey struct{ k db.SigningKey }

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.k.Key }
func (k signingKey) ID() string                                  { return k.k.ID }

type publicKey struct{ k db.SigningKey }

func (k publicKey) ID() string                         { return k.k.ID }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.k.Key.PublicKey }

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	k, err := s.store.EnsureSigningKey()
	if err != nil {
		return nil, err
	}
	return signingKey{k}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	keys, err := s.store.SigningKeys(db.DefaultSigningKeyKeep)
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, 0, len(keys))
	for _, k := range keys {
		out = append(out, publicKey{k})
	}
	return out, nil
}

func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	app, ok, err := s.store.AppByClientID(clientID)
	if err != nil {
		return nil, err
	}
	if !ok || app.OIDC == nil {
		return nil, oidc.ErrInvalidClient().WithDescription("There is no app with this client_id.")
	}
	return &client{app}, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, clientID, secret string) error {
	_, ok, err := s.store.CheckAppSecret(clientID, secret)
	if err != nil {
		return err
	}
	if !ok {
		return oidc.ErrInvalidClient().WithDescription("Wrong client_id or client_secret.")
	}
	return nil
}

func (s *storage) SetUserinfoFromScopes(_ context.Context, info *oidc.UserInfo, userID, _ string, scopes []string) error {
	return s.setUserinfo(info, userID, scopes)
}

func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	_, scopes := parseTokenID(tokenID)
	return s.setUserinfo(info, subject, scopes)
}

// setUserinfo fills the claims the scopes ask for. A user who is gone,
// disabled or not verified (not Active) gets none: an error. So
// email_verified is always true: no unverified address is ever handed out.
func (s *storage) setUserinfo(info *oidc.UserInfo, userID string, scopes []string) error {
	id, err := strconv.ParseUint(userID, 10, 64)
	if err != nil {
		return oidc.ErrInvalidRequest().WithDescription("The subject is not a user id.")
	}
	u, err := s.store.FindUserByID(id)
	if err != nil {
		return oidc.ErrAccessDenied().WithDescription("The user is gone.")
	}
	if !u.Active() {
		return oidc.ErrAccessDenied().WithDescription("The user is disabled, or has not verified their email address.")
	}
	info.Subject = userID
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeProfile:
			info.Name = u.Name
			info.PreferredUsername = u.Username
			info.AppendClaims("role", u.RootRole.Name())
		case oidc.ScopeEmail:
			info.Email = u.Email
			info.EmailVerified = oidc.Bool(true)
		case ScopeGroups:
			groups := u.Groups
			if groups == nil {
				groups = []string{}
			}
			info.AppendClaims("groups", groups)
		}
	}
	return nil
}

// SetIntrospectionFromToken answers only the client the token was issued
// to; for any other the token reads as inactive.
func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	owner, scopes := parseTokenID(tokenID)
	if owner == "" || owner != clientID {
		return oidc.ErrInvalidClient().WithDescription("The token was issued to another client.")
	}
	var info oidc.UserInfo
	if err := s.setUserinfo(&info, subject, scopes); err != nil {
		return err
	}
	resp.SetUserInfo(&info)
	resp.Scope = scopes
	resp.ClientID = owner
	resp.Audience = []string{owner}
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, oidc.ErrInvalidClient().WithDescription("JWT client authentication is not supported.")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, oidc.ErrUnsupportedGrantType()
}

func (s *storage) Health(context.Context) error { return nil }
