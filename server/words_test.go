package server

import (
	"strings"
	"testing"

	"invited/db"
)

// The signup page shows the link's public description and the domains it
// accepts, never its private name.
func TestSignupPageShowsDescriptionNotName(t *testing.T) {
	ts := mustServer(t)
	link := ts.mustLink(t, db.NewSignupToken{
		Name:           "Falcon hires, do not share",
		Description:    "Welcome to the Falcon team <3",
		AllowedDomains: []string{"example.com", "example.org"},
	})
	p := ts.page(t, "GET", "/new-user?invite="+link.Secret, "", nil)
	if p.StatusCode != 200 {
		t.Fatalf("page: %d\n%s", p.StatusCode, p.body)
	}
	if strings.Contains(p.body, "Falcon hires") {
		t.Errorf("the public page shows the link's private name:\n%s", p.body)
	}
	for _, want := range []string{
		"Welcome to the Falcon team &lt;3",
		`<p class="hint" id="email-hint">Use an address at example.com or example.org.</p>`,
		`aria-describedby="email-hint"`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the page lacks %s:\n%s", want, p.body)
		}
	}

	// The form shown again after a failed submission says the same.
	p = ts.page(t, "POST", "/new-user?invite="+link.Secret, "", signupValues("ada@example.com", "short", "short"))
	if p.StatusCode != 400 || strings.Contains(p.body, "Falcon hires") ||
		!strings.Contains(p.body, "Welcome to the Falcon team") || !strings.Contains(p.body, "Use an address at example.com or example.org.") {
		t.Errorf("form again: %d\n%s", p.StatusCode, p.body)
	}

	// A link without description or domains shows neither.
	plain := ts.mustLink(t, db.NewSignupToken{Name: "Plain private name"})
	p = ts.page(t, "GET", "/new-user?invite="+plain.Secret, "", nil)
	if p.StatusCode != 200 || strings.Contains(p.body, "Plain private name") || strings.Contains(p.body, "Use an address at") ||
		strings.Contains(p.body, `class="intro"`) {
		t.Errorf("plain link page: %d\n%s", p.StatusCode, p.body)
	}
}

// An address outside allowedDomains is told first and alone, whatever
// else is wrong: through the JSON API and through the page, which share
// one path.
func TestSignupWrongDomainToldBeforePassword(t *testing.T) {
	ts := mustServer(t)
	link := ts.mustLink(t, db.NewSignupToken{AllowedDomains: []string{"example.org"}})

	resp, body := ts.call(t, "POST", "/invite/"+link.Secret+"/signup", "",
		`{"email":"ada@example.com","name":"Ada Lovelace","username":"a","password":"password1"}`)
	if resp.StatusCode != 400 || body["name"] != "ValidationError" {
		t.Fatalf("JSON signup: %d %v", resp.StatusCode, body)
	}
	details, _ := body["details"].([]any)
	if len(details) != 1 {
		t.Fatalf("details %v, want the email alone", details)
	}
	d, _ := details[0].(map[string]any)
	if d["path"] != "email" || !strings.Contains(d["message"].(string), "example.org") {
		t.Errorf("detail %v, want email naming example.org", d)
	}

	// The page: wrong domain, weak password and passwords that differ.
	form := signupValues("ada@example.com", "password1", "password2")
	p := ts.page(t, "POST", "/new-user?invite="+link.Secret, "", form)
	if p.StatusCode != 400 || !strings.Contains(p.body, `id="email-error"`) || !strings.Contains(p.body, "Email must be an address at example.org") {
		t.Fatalf("page: %d\n%s", p.StatusCode, p.body)
	}
	for _, other := range []string{`id="password-error"`, `id="password2-error"`, `id="username-error"`} {
		if strings.Contains(p.body, other) {
			t.Errorf("the page shows %s before the address is right:\n%s", other, p.body)
		}
	}

	// With the address right, the password is what is wrong.
	form = signupValues("ada@example.org", "password1", "password1")
	p = ts.page(t, "POST", "/new-user?invite="+link.Secret, "", form)
	if p.StatusCode != 400 || strings.Contains(p.body, `id="email-error"`) || !strings.Contains(p.body, `id="password-error"`) {
		t.Errorf("right domain, weak password: %d\n%s", p.StatusCode, p.body)
	}
	if _, err := ts.store.FindUserByLogin("ada@example.org"); db.ErrorCode(err) != db.ENOTFOUND {
		t.Errorf("a refused signup made a user: %v", err)
	}
}
