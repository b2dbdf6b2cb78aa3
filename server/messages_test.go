package server

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"invited/db"
)

// adminOnly matches what a message shown to end users must never hold: an
// API path or an admin command, which they can neither use nor need, nor
// an unlock they could only beg for.
var adminOnly = regexp.MustCompile(`(?i)/api/|/v1/|/auth/|\binvited (admin|apikey|serve|backup)\b|\bunlock`)

// scriptPath matches a quoted path in a script.
var scriptPath = regexp.MustCompile(`"/[a-z/-]*"`)

// tellsThrottling matches words by which a login answer would tell that an
// account is being slowed down.
var tellsThrottling = regexp.MustCompile(`(?i)lock|slow|wait|throttl|attempts`)

// TestUserFacingMessagesNameNoAPIPathOrCommand checks every text of the
// HTML pages (the Go strings of web/web.go and the embedded templates) and
// every answer a login can get, JSON and HTML, in every state of the
// account.
func TestUserFacingMessagesNameNoAPIPathOrCommand(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join("web", "web.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if v, err := strconv.Unquote(lit.Value); err == nil && adminOnly.MatchString(v) {
				t.Errorf("%s: page text %q names an API path or an admin command", fset.Position(lit.Pos()), v)
			}
		}
		return true
	})
	pages := os.DirFS("web")
	err = fs.WalkDir(pages, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".go") {
			return err
		}
		raw, err := fs.ReadFile(pages, path)
		if strings.HasSuffix(path, ".js") {
			// The script's quoted paths are the endpoints it calls, code
			// that is never shown; its sentences are checked.
			raw = scriptPath.ReplaceAll(raw, nil)
		}
		if m := adminOnly.Find(raw); m != nil {
			t.Errorf("%s names an API path or an admin command: %q", path, m)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	ts := mustServer(t) // the third failed login starts a wait
	u := ts.mustUser(t, db.RoleViewer)
	check := func(what, login, password string) {
		t.Helper()
		resp, raw := ts.callAs(t, "", "POST", "/auth/simple/login", fmt.Sprintf(`{"username":%q,"password":%q}`, login, password))
		page := ts.page(t, "POST", "/login", "", url.Values{"username": {login}, "password": {password}})
		for _, a := range []struct {
			kind   string
			status int
			body   string
		}{{"JSON", resp.StatusCode, raw}, {"page", page.StatusCode, page.body}} {
			if a.status < 400 {
				t.Fatalf("%s, %s: %d, want a refusal", what, a.kind, a.status)
			}
			if m := adminOnly.FindString(a.body); m != "" {
				t.Errorf("%s, %s answer names %q:\n%s", what, a.kind, m, a.body)
			}
			if m := tellsThrottling.FindString(a.body); m != "" {
				t.Errorf("%s, %s answer tells the account's state with %q:\n%s", what, a.kind, m, a.body)
			}
		}
	}
	check("no password", u.Email, "")
	check("unknown user", "nobody@example.com", "some password")
	check("wrong password", u.Email, "wrong")
	check("wrong password again", u.Username, "wrong") // the third failure in all: a wait starts
	check("right password in the wait", u.Email, testPassword)
	check("wrong password in the wait", u.Email, "wrong")
	if waiting, err := ts.store.LoginThrottled(u.ID); err != nil || !waiting {
		t.Fatalf("the account should be waiting: %v, %v", waiting, err)
	}
}
