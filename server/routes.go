package server

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"invited/db"
	"invited/server/oidc"
	"invited/server/ratelimit"
)

// doitInvitePath is DoiT's invite-user endpoint, whose errors have their
// own shape.
const doitInvitePath = "/api/admin/users/invite"

// authedHandle is a handler that runs once the caller is known and allowed.
type authedHandle func(http.ResponseWriter, *http.Request, httprouter.Params, db.Actor)

// route is one entry of the URL space. A route with a perm needs a caller
// (API key or session) whose role has it; one without is public.
type route struct {
	method, path string
	perm         permission
	limiter      *ratelimit.PerIP
	public       httprouter.Handle
	authed       authedHandle
	// doit answers errors, authentication ones too, in DoiT's shape.
	doit bool
}

func public(method, path string, limiter *ratelimit.PerIP, h httprouter.Handle) route {
	return route{method: method, path: path, limiter: limiter, public: h}
}

func authed(method, path string, perm permission, h authedHandle) route {
	return route{method: method, path: path, perm: perm, authed: h}
}

// limited gives a route a per-IP limit, checked before anything else.
func limited(rt route, l *ratelimit.PerIP) route {
	rt.limiter = l
	return rt
}

func doit(rt route) route {
	rt.doit = true
	return rt
}

// routes lists the whole URL space: the API, then the HTML pages.
func (s *Server) routes() []route {
	return append(s.apiRoutes(), s.pageRoutes()...)
}

func (s *Server) apiRoutes() []route {
	return []route{
		// Signup links (Unleash's public signup tokens).
		authed("POST", "/api/admin/invite-link/tokens", permManageLinks, s.handleCreateToken),
		authed("GET", "/api/admin/invite-link/tokens", permManageLinks, s.handleListTokens),
		authed("GET", "/api/admin/invite-link/tokens/:token", permManageLinks, s.handleGetToken),
		authed("PUT", "/api/admin/invite-link/tokens/:token", permManageLinks, s.handleUpdateToken),
		authed("DELETE", "/api/admin/invite-link/tokens/:token", permManageLinks, s.handleDeleteToken),
		public("GET", "/invite/:token/validate", s.publicLimit, s.handleValidateToken),
		public("POST", "/invite/:token/signup", s.publicLimit, s.handleSignup),

		// Logins and sessions.
		public("POST", "/auth/simple/login", s.authLimit, s.handleLogin),
		public("POST", "/auth/simple/login/second-factor", s.authLimit, s.handleSecondFactor),
		public("POST", "/auth/simple/login/second-factor/setup", s.authLimit, s.handleSecondFactorSetup),
		public("POST", "/auth/logout", s.authLimit, s.handleLogout),
		public("POST", "/auth/reset-password", s.authLimit, s.handleRequestPasswordReset),
		public("POST", "/auth/reset-password/:token", s.authLimit, s.handleResetPassword),
		// Passkeys (DESIGN §11): the ceremonies the page script runs.
		public("POST", "/auth/passkey/login/begin", s.authLimit, s.handlePasskeyLoginBegin),
		public("POST", "/auth/passkey/login/finish", s.authLimit, s.handlePasskeyLoginFinish),
		public("POST", "/auth/passkey/second-factor/begin", s.authLimit, s.handlePasskeySecondBegin),
		public("POST", "/auth/passkey/second-factor/finish", s.authLimit, s.handlePasskeySecondFinish),
		limited(authed("POST", "/account/passkeys/begin", permOwnAccount, s.handlePasskeyRegisterBegin), s.authLimit),
		limited(authed("POST", "/account/passkeys/finish", permOwnAccount, s.handlePasskeyRegisterFinish), s.authLimit),
		public("POST", "/auth/verify-email/resend", s.authLimit, s.handleResendVerification),

		// Users, roles, keys and the audit log.
		authed("GET", "/api/admin/user", permReadSelf, s.handleGetSelf),
		authed("GET", "/api/admin/user-admin", permManageUsers, s.handleListUsers),
		authed("GET", "/api/admin/user-admin/:id", permManageUsers, s.handleGetUser),
		authed("PUT", "/api/admin/user-admin/:id", permManageUsers, s.handleUpdateUser),
		authed("DELETE", "/api/admin/user-admin/:id", permManageUsers, s.handleDeleteUser),
		authed("POST", "/api/admin/user-admin/:id/unlock", permManageUsers, s.handleUnlockUser),
		authed("POST", "/api/admin/user-admin/:id/disable", permManageUsers, s.handleDisableUser),
		authed("POST", "/api/admin/user-admin/:id/enable", permManageUsers, s.handleEnableUser),
		authed("POST", "/api/admin/user-admin/:id/reset-link", permManageUsers, s.handleCreateResetLink),
		authed("POST", "/api/admin/user-admin/:id/verify-email", permManageUsers, s.handleMarkEmailVerified),
		authed("POST", "/api/admin/user-admin/:id/approve", permManageUsers, s.handleApproveUser),
		authed("POST", "/api/admin/user-admin/:id/reject", permManageUsers, s.handleRejectUser),
		authed("DELETE", "/api/admin/user-admin/:id/second-factors", permManageUsers, s.handleClearSecondFactors),
		authed("GET", "/api/admin/user-admin/:id/ssh-keys", permManageSSHKeys, s.handleListSSHKeys),
		authed("POST", "/api/admin/user-admin/:id/ssh-keys", permManageSSHKeys, s.handleAddSSHKey),
		authed("DELETE", "/api/admin/user-admin/:id/ssh-keys/:keyId", permManageSSHKeys, s.handleDeleteSSHKey),
		authed("GET", "/api/admin/roles", permReadRoles, s.handleListRoles),
		authed("GET", "/api/admin/api-tokens", permManageKeys, s.handleListAPIKeys),
		authed("POST", "/api/admin/api-tokens", permManageKeys, s.handleCreateAPIKey),
		authed("DELETE", "/api/admin/api-tokens/:id", permManageKeys, s.handleDeleteAPIKey),
		authed("GET", "/api/admin/events", permReadEvents, s.handleListEvents),
		authed("GET", "/api/admin/emails", permReadEvents, s.handleListEmails),

		// Invitations (Confidence's userInvitations, DoiT's invite-user).
		authed("POST", "/v1/userInvitations", permManageInvitations, s.handleCreateInvitation),
		authed("GET", "/v1/userInvitations", permManageInvitations, s.handleListInvitations),
		authed("GET", "/v1/userInvitations/:id", permManageInvitations, s.handleGetInvitation),
		authed("DELETE", "/v1/userInvitations/:id", permManageInvitations, s.handleRevokeInvitation),
		authed("POST", "/v1/userInvitations/:id/resend", permManageInvitations, s.handleResendInvitation),
		doit(authed("POST", doitInvitePath, permManageInvitations, s.handleDoitInvite)),
		authed("POST", "/api/admin/invitation-batches", permManageInvitations, s.handleCreateInvitationBatch),
		public("POST", "/invitations/:token/accept", s.publicLimit, s.handleAcceptInvitation),
		authed("GET", "/api/admin/organizations", permReadOrgs, s.handleListOrgs),
		authed("POST", "/api/admin/organizations", permManageOrgs, s.handleCreateOrg),
		authed("DELETE", "/api/admin/organizations/:id", permManageOrgs, s.handleDeleteOrg),

		// Groups (DESIGN §8).
		authed("GET", "/api/admin/groups", permManageGroups, s.handleListGroups),
		authed("POST", "/api/admin/groups", permManageGroups, s.handleCreateGroup),
		authed("GET", "/api/admin/groups/:id", permManageGroups, s.handleGetGroup),
		authed("PUT", "/api/admin/groups/:id", permManageGroups, s.handleUpdateGroup),
		authed("DELETE", "/api/admin/groups/:id", permManageGroups, s.handleDeleteGroup),
		// Apps (DESIGN §9).
		authed("GET", "/api/admin/apps", permManageApps, s.handleListApps),
		authed("POST", "/api/admin/apps", permManageApps, s.handleCreateApp),
		authed("GET", "/api/admin/apps/:id", permManageApps, s.handleGetApp),
		authed("PUT", "/api/admin/apps/:id", permManageApps, s.handleUpdateApp),
		authed("DELETE", "/api/admin/apps/:id", permManageApps, s.handleDeleteApp),
		authed("POST", "/api/admin/apps/:id/secret", permManageApps, s.handleRotateAppSecret),
		// Webhooks (DESIGN §12).
		authed("GET", "/api/admin/webhooks", permManageWebhooks, s.handleListWebhooks),
		authed("POST", "/api/admin/webhooks", permManageWebhooks, s.handleCreateWebhook),
		authed("DELETE", "/api/admin/webhooks/:id", permManageWebhooks, s.handleDeleteWebhook),
		authed("GET", "/api/admin/webhooks/:id/deliveries", permManageWebhooks, s.handleListWebhookDeliveries),

		// The forward-auth gate (DESIGN §9). Public (the session cookie
		// the proxy passes on is the caller) and not rate-limited: the
		// proxy asks about every request to every app, from its own
		// address, so a per-IP limit would throttle the whole team.
		public("GET", "/api/authz/forward-auth", nil, s.handleForwardAuth),
		public("HEAD", "/api/authz/forward-auth", nil, s.handleForwardAuth),
		public("GET", "/api/authz/auth-request", nil, s.handleAuthRequest),
		public("HEAD", "/api/authz/auth-request", nil, s.handleAuthRequest),

		// Operations.
		public("GET", "/health", nil, s.handleHealth),
		public("GET", "/metrics", nil, s.handleMetrics),
		public("GET", "/docs/openapi.json", nil, s.handleOpenAPI),
	}
}

// pageRoutes lists the HTML pages' routes (package web serves them). The
// public-link pages share the public limiter with the JSON API and the
// login form shares the auth limiter, but the limit is applied by
// pageLimit, which answers with a page rather than a JSON error.
func (s *Server) pageRoutes() []route {
	p := s.pages
	return []route{
		public("GET", "/new-user", nil, s.pageLimit(s.publicLimit, p.SignupPage)),
		public("POST", "/new-user", nil, s.pageLimit(s.publicLimit, p.SignupForm)),
		public("GET", "/invitations/:token", nil, s.pageLimit(s.publicLimit, p.InvitationPage)),
		public("POST", "/invitations/:token", nil, s.pageLimit(s.publicLimit, p.InvitationForm)),
		public("GET", "/login", nil, p.LoginPage),
		public("POST", "/login", nil, s.pageLimit(s.authLimit, p.LoginForm)),
		public("POST", "/login/second-factor", nil, s.pageLimit(s.authLimit, p.SecondStepForm)),
		public("POST", "/logout", nil, s.pageLimit(s.authLimit, p.LogoutForm)),
		public("GET", "/verify-email", nil, p.VerifyEmailPage),
		public("POST", "/verify-email", nil, s.pageLimit(s.authLimit, p.VerifyEmailForm)),
		public("GET", "/verify-email/:token", nil, s.pageLimit(s.authLimit, p.VerifyEmailLink)),
		public("GET", "/", nil, p.PortalPage),
		public("GET", "/account", nil, p.AccountPage),
		public("POST", "/account/password", nil, s.pageLimit(s.authLimit, p.PasswordForm)),
		public("GET", "/forgot-password", nil, p.ForgotPage),
		public("POST", "/forgot-password", nil, s.pageLimit(s.authLimit, p.ForgotForm)),
		public("GET", "/reset-password/:token", nil, s.pageLimit(s.authLimit, p.ResetPage)),
		public("POST", "/reset-password/:token", nil, s.pageLimit(s.authLimit, p.ResetForm)),
		public("GET", "/account/passkeys/remove", nil, p.PasskeyRemovePage),
		public("POST", "/account/passkeys/remove", nil, s.pageLimit(s.authLimit, p.PasskeyRemoveForm)),
		public("POST", "/account/totp", nil, s.pageLimit(s.authLimit, p.TOTPStart)),
		public("POST", "/account/totp/confirm", nil, s.pageLimit(s.authLimit, p.TOTPConfirm)),
		public("POST", "/account/totp/remove", nil, s.pageLimit(s.authLimit, p.TOTPRemove)),
		public("GET", "/static/:file", nil, p.Static),
	}
}

// register adds a route to the router with its rate limit and, for an
// authenticated route, the authentication and permission check.
func (s *Server) register(rt route) {
	h := rt.public
	if rt.authed != nil {
		writeErr := s.writeError
		if rt.doit {
			writeErr = s.writeDoitError
		}
		h = s.requirePermission(rt.perm, rt.authed, writeErr)
	}
	pattern := rt.path
	inner := h
	// The route's metrics are made here, once, not looked up per request.
	rm := s.metrics.route(rt.method, rt.path)
	if rt.limiter == nil {
		s.router.Handle(rt.method, rt.path, func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
			ri := info(r)
			ri.route, ri.metrics = pattern, rm
			inner(w, r, ps)
		})
		return
	}
	s.router.Handle(rt.method, rt.path, func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		ri := info(r)
		ri.route, ri.metrics = pattern, rm
		if err := s.overLimit(rt.limiter, w, r); err != nil {
			s.writeError(w, r, err)
			return
		}
		inner(w, r, ps)
	})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	if _, err := s.store.SchemaVersionOnDisk(); err != nil {
		s.log.ErrorContext(r.Context(), "health check: database unreadable", "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"health": "BAD"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"health": "GOOD"})
}

// oidcRoutes are the OpenID Connect provider's paths (DESIGN §10). The op
// package answers them and discovery describes them, so they are not in
// openapi.json nor the permission table: each is public, and the op
// package checks client credentials and tokens itself. /oidc/login is
// the provider's page that meets the session cookie.
var oidcRoutes = []struct{ method, path string }{
	{"GET", oidc.PathDiscovery},
	{"GET", oidc.PathAuthorize}, {"POST", oidc.PathAuthorize},
	{"GET", oidc.PathCallback},
	{"POST", oidc.PathToken},
	{"GET", oidc.PathUserinfo}, {"POST", oidc.PathUserinfo},
	{"POST", oidc.PathRevoke},
	{"POST", oidc.PathIntrospect},
	{"GET", oidc.PathEndSession}, {"POST", oidc.PathEndSession},
	{"GET", oidc.PathKeys},
	{"GET", oidc.PathLogin},
}
