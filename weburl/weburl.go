// Package weburl builds the public addresses people are sent to: the
// signup page of a link, the page of an invitation, the login page, the
// password reset pages, an email verification link. The server (API
// answers, emails) and the admin TUI (shown, copied, as a QR code) build
// them here, from the configured server.base_url, so the two
// can never disagree; the domain (package db) holds no URLs. The paths
// are those the server's routes serve. SafeRedirect decides where a
// browser may be sent back to after logging in (/login's rd).
package weburl

import "strings"

// base is the base URL without the trailing slashes that would double the
// path's own.
func base(baseURL string) string { return strings.TrimRight(strings.TrimSpace(baseURL), "/") }

// SignupLink is where people sign up through the signup link with secret:
// {baseURL}/new-user?invite={secret}. Secrets are lower-case hex, so they
// need no escaping.
func SignupLink(baseURL, secret string) string {
	return base(baseURL) + "/new-user?invite=" + secret
}

// InvitationLink is where the invitation with token is accepted:
// {baseURL}/invitations/{token}. It is "" when token is (an invitation
// read back from the store, which keeps only the token's hash), so that
// no address without its token is ever shown. Tokens are lower-case hex.
func InvitationLink(baseURL, token string) string {
	if token == "" {
		return ""
	}
	return base(baseURL) + "/invitations/" + token
}

// Login is the login page: {baseURL}/login.
func Login(baseURL string) string { return base(baseURL) + "/login" }

// ResetPassword is where a password is set through the reset link with
// token: {baseURL}/reset-password/{token}. Tokens are lower-case hex.
func ResetPassword(baseURL, token string) string {
	return base(baseURL) + "/reset-password/" + token
}

// ForgotPassword is the page that asks for a reset link by email:
// {baseURL}/forgot-password.
func ForgotPassword(baseURL string) string { return base(baseURL) + "/forgot-password" }

// VerifyEmail is the email verification link with secret:
// {baseURL}/verify-email/{secret}. Secrets are lower-case hex.
func VerifyEmail(baseURL, secret string) string {
	return base(baseURL) + "/verify-email/" + secret
}
