package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestE2EAddressNormalisation checks DESIGN §5 through the real binary:
// every address is compared and stored in one normalised form (NFKC, the
// domain lower-cased in IDNA ASCII form), so each mailbox is one account,
// and look-alike addresses are refused with a 400 naming the field.
func TestE2EAddressNormalisation(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir())
	secret := createLink(t, p, map[string]any{"name": "team", "expiresAt": e2eFuture})["secret"].(string)

	signup := func(email string) (int, []byte) {
		t.Helper()
		status, _, body := do(t, "POST", signupURL(p, secret), "", signupJSON(email, "", "Some One"))
		return status, body
	}
	status, body := signup("kim@example.com")
	wantStatus(t, "signup kim@", status, http.StatusOK, body)

	// Other spellings of kim@example.com are the same mailbox: taken.
	for _, c := range []struct{ name, email string }{
		{"Kelvin sign", "\u212aim@example.com"},
		{"fullwidth letters", "ｋｉｍ@ｅｘａｍｐｌｅ.ｃｏｍ"},
		{"mathematical bold k", "\U0001d424im@example.com"},
		{"upper case", "KIM@EXAMPLE.COM"},
	} {
		status, body := signup(c.email)
		wantError(t, c.name+" signup", status, body, http.StatusConflict, "NameExistsError", "already exists")
	}

	// What is stored (and where email goes) is the normalised form.
	for _, c := range []struct{ name, email, stored string }{
		{"Kelvin sign first", "\u212aate@example.com", "Kate@example.com"},
		{"upper-case IDN domain", "Ada@BÜCHER.Example", "Ada@xn--bcher-kva.example"},
		{"fullwidth domain", "lin@ＥＸＡＭＰＬＥ.org", "lin@example.org"},
	} {
		status, body := signup(c.email)
		wantStatus(t, c.name+" signup", status, http.StatusOK, body)
		u := object(t, c.name+" signup", body)
		wantField(t, c.name+" signup", u, "email", c.stored)
		path := fmt.Sprintf("%s/api/admin/user-admin/%.0f", p.URL, u["id"].(float64))
		status, _, body = do(t, "GET", path, e2eAdminKey, nil)
		wantStatus(t, c.name+" stored", status, http.StatusOK, body)
		wantField(t, c.name+" stored", object(t, c.name+" stored", body), "email", c.stored)
	}
	// Logging in by any spelling of the address finds the account.
	status, _, body = do(t, "POST", p.URL+"/auth/simple/login", "", map[string]any{"username": "ada@bücher.example", "password": e2ePassword})
	wantStatus(t, "login by the Unicode domain", status, http.StatusOK, body)
	wantField(t, "login", object(t, "login", body), "email", "Ada@xn--bcher-kva.example")

	// Look-alike and invisible characters are refused, naming the field.
	for _, c := range []struct{ name, email, says string }{
		{"Cyrillic a among Latin letters", "p\u0430ypal@example.com", "scripts"},
		{"zero-width joiner", "ki\u200dm@example.com", "U+200D"},
		{"all-Cyrillic look-alike", "\u0430\u0441\u0435@example.com", "look like the Latin"},
		{"mixed-script domain", "ada@ex\u0430mple.com", "look-alike domain"},
	} {
		status, body := signup(c.email)
		errBody := wantError(t, c.name, status, body, http.StatusBadRequest, "ValidationError", c.says)
		wantDetail(t, c.name, errBody, "email")
	}

	// Invitations, on both endpoints, and user updates use the same form.
	status, _, body = do(t, "POST", p.URL+"/v1/userInvitations", e2eAdminKey, map[string]any{"invitedEmail": "ｋｉｍ@example.com", "inviter": "Admin"})
	wantError(t, "invite a spelling of kim@", status, body, http.StatusConflict, "NameExistsError", "already has an account")
	status, _, body = do(t, "POST", p.URL+"/api/admin/users/invite", e2eAdminKey, map[string]any{"email": "Grace@ＥXAMPLE.org"})
	wantStatus(t, "DoiT invite", status, http.StatusCreated, body)
	wantField(t, "DoiT invite", object(t, "DoiT invite", body)["user"].(map[string]any), "email", "Grace@example.org")
	status, _, body = do(t, "POST", p.URL+"/v1/userInvitations", e2eAdminKey, map[string]any{"invitedEmail": "grace@example.org", "inviter": "Admin"})
	wantError(t, "invite grace@ again", status, body, http.StatusConflict, "NameExistsError", "pending invitation")
	status, _, body = do(t, "POST", p.URL+"/v1/userInvitations", e2eAdminKey, map[string]any{"invitedEmail": "m\u0430llory@example.com", "inviter": "Admin"})
	wantDetail(t, "invite a mixed-script address", wantError(t, "invite a mixed-script address", status, body, http.StatusBadRequest, "ValidationError", "scripts"), "invitedEmail")

	status, body = signup("other@example.com")
	wantStatus(t, "signup other@", status, http.StatusOK, body)
	other := fmt.Sprintf("%s/api/admin/user-admin/%.0f", p.URL, object(t, "other", body)["id"].(float64))
	status, _, body = do(t, "PUT", other, e2eAdminKey, map[string]any{"email": "\u212aIM@example.com"})
	wantError(t, "change email to a spelling of kim@", status, body, http.StatusConflict, "NameExistsError")
	status, _, body = do(t, "PUT", other, e2eAdminKey, map[string]any{"email": "Other@BÜCHER.example"})
	wantStatus(t, "change email to an IDN domain", status, http.StatusOK, body)
	wantField(t, "change email", object(t, "change email", body), "email", "Other@xn--bcher-kva.example")

	// allowedDomains are normalised the same way: a spelling of the domain
	// matches, a look-alike of it does not.
	link := createLink(t, p, map[string]any{"name": "sample", "expiresAt": e2eFuture, "allowedDomains": []string{"Bücher.Example", "\u017fample.com"}})
	wantField(t, "link", link, "allowedDomains", []any{"xn--bcher-kva.example", "sample.com"})
	sample := link["secret"].(string)
	status, _, body = do(t, "POST", signupURL(p, sample), "", signupJSON("x@\u017fample.com", "", "Long S"))
	wantStatus(t, "long-s signup", status, http.StatusOK, body)
	wantField(t, "long-s signup", object(t, "long-s signup", body), "email", "x@sample.com")
	status, _, body = do(t, "POST", signupURL(p, sample), "", signupJSON("y@\u0455ample.com", "", "Look Alike"))
	wantDetail(t, "look-alike domain", wantError(t, "look-alike domain", status, body, http.StatusBadRequest, "ValidationError"), "email")
	status, _, body = do(t, "POST", p.URL+tokensPath, e2eAdminKey, map[string]any{"name": "bad", "expiresAt": e2eFuture, "allowedDomains": []string{"\u0430\u0440\u0440\u04cf\u0435.com"}})
	wantDetail(t, "look-alike allowed domain", wantError(t, "look-alike allowed domain", status, body, http.StatusBadRequest, "ValidationError", "look-alike"), "allowedDomains")
}

// TestE2EMigrationReportsCollisions starts the real binary on a file of
// schema 1 holding two spellings of one mailbox: serve migrates it, keeps
// both accounts, and warns in its log naming them and what to do.
func TestE2EMigrationReportsCollisions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old, err := bolt.Open(filepath.Join(dir, "invited.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = old.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket([]byte("meta"))
		if err != nil {
			return err
		}
		if err := meta.Put([]byte("schema_version"), []byte("1")); err != nil {
			return err
		}
		users, err := tx.CreateBucket([]byte("users"))
		if err != nil {
			return err
		}
		byEmail, err := tx.CreateBucket([]byte("users_by_email"))
		if err != nil {
			return err
		}
		for id, email := range []string{"kim@example.com", "ｋｉｍ@example.com"} {
			key := []byte{0, 0, 0, 0, 0, 0, 0, byte(id + 1)}
			rec, _ := json.Marshal(map[string]any{"v": 1, "id": id + 1, "name": "Kim", "email": email,
				"password_hash": "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g", "root_role": 3, "created_at": "2025-01-01T00:00:00Z"})
			if err := users.Put(key, rec); err != nil {
				return err
			}
			if err := byEmail.Put([]byte(strings.ToLower(email)), key); err != nil {
				return err
			}
		}
		return nil
	})
	old.Close()
	if err != nil {
		t.Fatal(err)
	}

	p := startServer(t, dir)
	// Both accounts are still there, as they were.
	status, _, body := do(t, "GET", p.URL+"/api/admin/user-admin/2", e2eAdminKey, nil)
	wantStatus(t, "user 2", status, http.StatusOK, body)
	wantField(t, "user 2", object(t, "user 2", body), "email", "ｋｉｍ@example.com")
	log := p.log.String()
	for _, want := range []string{"level=WARN", "database migration", `user 1 (\"kim@example.com\") and user 2 (\"ｋｉｍ@example.com\") are one mailbox`, "Delete all but one"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log of serve lacks %q", want)
		}
	}
}
