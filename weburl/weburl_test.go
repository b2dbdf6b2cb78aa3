package weburl

import "testing"

func TestLinks(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct{ name, got, want string }{
		{"signup", SignupLink("https://join.example", secret), "https://join.example/new-user?invite=" + secret},
		{"signup trailing slash", SignupLink("https://join.example/team/", secret), "https://join.example/team/new-user?invite=" + secret},
		{"invitation", InvitationLink("http://localhost:4242", "ab12"), "http://localhost:4242/invitations/ab12"},
		{"invitation without token", InvitationLink("http://localhost:4242", ""), ""},
		{"login", Login("https://join.example/"), "https://join.example/login"},
		{"reset", ResetPassword("https://join.example/team/", "ab12"), "https://join.example/team/reset-password/ab12"},
		{"forgot", ForgotPassword(" https://join.example "), "https://join.example/forgot-password"},
		{"verify email", VerifyEmail(" https://join.example/team/ ", secret), "https://join.example/team/verify-email/" + secret},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}
