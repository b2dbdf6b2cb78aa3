package main

import (
	"strings"
	"testing"
)

// TestE2ELinkDescription: a link's name is private and its description
// public. Through the real binary: the API takes and changes the
// description, the signup page shows it and the accepted domains but not
// the name, and a signup at another domain is told about the address
// first, even with a weak password.
func TestE2ELinkDescription(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir())
	link := createLink(t, p, map[string]any{"name": "Q3 contractors (internal)", "description": "Welcome to the Q3 project.",
		"expiresAt": e2eFuture, "allowedDomains": []string{"example.com", "example.org"}})
	wantField(t, "created link", link, "description", "Welcome to the Q3 project.")
	secret := link["secret"].(string)

	page := func() string {
		t.Helper()
		status, _, body := do(t, "GET", p.URL+"/new-user?invite="+secret, "", nil)
		wantStatus(t, "signup page", status, 200, body)
		return string(body)
	}
	html := page()
	if strings.Contains(html, "Q3 contractors") {
		t.Errorf("the public page shows the private name:\n%s", html)
	}
	for _, want := range []string{"Welcome to the Q3 project.", "Use an address at example.com or example.org."} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %q:\n%s", want, html)
		}
	}

	status, _, body := do(t, "PUT", p.URL+tokensPath+"/"+secret, e2eAdminKey, map[string]any{"description": "Welcome, Q3!"})
	wantStatus(t, "change the description", status, 200, body)
	wantField(t, "changed link", object(t, "changed link", body), "description", "Welcome, Q3!")
	wantField(t, "changed link", object(t, "changed link", body), "name", "Q3 contractors (internal)")
	if html = page(); !strings.Contains(html, "Welcome, Q3!") || strings.Contains(html, "Welcome to the Q3 project.") {
		t.Errorf("the page does not show the new description:\n%s", html)
	}
	status, _, body = do(t, "PUT", p.URL+tokensPath+"/"+secret, e2eAdminKey, map[string]any{"description": "a\nb"})
	wantDetail(t, "description with a line break", wantError(t, "description with a line break", status, body, 400, "ValidationError", "control"), "description")

	// Wrong domain and a weak password: the address is what is said.
	status, _, body = do(t, "POST", signupURL(p, secret), "", map[string]any{"email": "ada@example.net", "name": "Ada", "password": "password1"})
	e := wantError(t, "wrong domain, weak password", status, body, 400, "ValidationError", "example.com")
	wantDetail(t, "wrong domain, weak password", e, "email")
	if details, _ := e["details"].([]any); len(details) != 1 {
		t.Errorf("details %v, want the email alone", details)
	}
}
