package web_test

// The pages are tested as a browser meets them: through the real server
// (package server mounts them) over a real database file.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"invited/db"
	"invited/server"
	"invited/server/web"
)

const (
	testKey      = "web-test-admin-key-0123456789abcd"
	testPassword = "correct horse battery staple"
	// sessionCookie is the login cookie's name.
	sessionCookie = "invited_session"
)

var (
	farFuture   = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	pageCSSPath = web.StylesheetPath()
	userSeq     atomic.Int64
)

// syncBuffer is a log sink that handlers may write to concurrently.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type testServer struct {
	*httptest.Server
	store *db.Store
	logs  *syncBuffer
}

func mustServer(tb testing.TB) *testServer {
	tb.Helper()
	return mustServerWith(tb, func(*server.Options) {})
}

// mustServerWith starts the real server over a new database, with tiny
// hash parameters and the third failed login starting a wait.
func mustServerWith(tb testing.TB, edit func(*server.Options)) *testServer {
	tb.Helper()
	store, err := db.Open(filepath.Join(tb.TempDir(), "s.db"), db.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	if _, err := store.EnsureAPIKey("admin", testKey); err != nil {
		tb.Fatal(err)
	}
	hasher, err := db.NewHasher(db.HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, 1, 50*time.Millisecond)
	if err != nil {
		tb.Fatal(err)
	}
	logs := &syncBuffer{}
	opts := server.Options{
		Store: store, Hasher: hasher, SiteName: "test",
		Policy:           db.PasswordPolicy{MinLength: 8, MinScore: 2},
		Logger:           slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MaxLoginAttempts: 3,
	}
	edit(&opts)
	ts := httptest.NewServer(server.New(opts))
	tb.Cleanup(ts.Close)
	return &testServer{Server: ts, store: store, logs: logs}
}

// call sends a JSON request and returns the answer and its object.
func (ts *testServer) call(tb testing.TB, method, path, auth, body string) (*http.Response, map[string]any) {
	tb.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			tb.Fatalf("%s %s: body is not a JSON object: %q", method, path, raw)
		}
	}
	return resp, out
}

// mustUser signs a new user up through a fresh link with the given role.
func (ts *testServer) mustUser(tb testing.TB, role db.Role) db.User {
	tb.Helper()
	tok := ts.mustLink(tb, db.NewSignupToken{Role: role})
	n := userSeq.Add(1)
	resp, body := ts.call(tb, "POST", "/invite/"+tok.Secret+"/signup", "",
		fmt.Sprintf(`{"email":"user%d@example.com","name":"User %d","username":"user%d","password":%q}`, n, n, n, testPassword))
	if resp.StatusCode != 200 {
		tb.Fatalf("signup: %d %v", resp.StatusCode, body)
	}
	u, err := ts.store.FindUserByID(uint64(body["id"].(float64)))
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// mustInvitation invites a new address through the store.
func (ts *testServer) mustInvitation(tb testing.TB) db.Invitation {
	tb.Helper()
	inv, err := ts.store.CreateInvitation(db.SystemActor, db.NewInvitation{
		Email: fmt.Sprintf("invitee%d@example.com", userSeq.Add(1)), DefaultTTL: time.Hour, Inviter: "T"})
	if err != nil {
		tb.Fatal(err)
	}
	return inv
}

// login returns the session cookie header value of a good JSON login.
func (ts *testServer) login(tb testing.TB, login, password string) string {
	tb.Helper()
	resp, body := ts.call(tb, "POST", "/auth/simple/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, login, password))
	if resp.StatusCode != 200 {
		tb.Fatalf("login %s: %d %v", login, resp.StatusCode, body)
	}
	return sessionOf(tb, resp)
}

// pageResponse is a page as a browser-less client sees it.
type pageResponse struct {
	*http.Response
	body string
}

// page sends a request as a browser would for a page: form-encoded when
// form is not nil, with the cookie and extra headers given, and without
// following redirects.
func (ts *testServer) page(tb testing.TB, method, path, cookie string, form url.Values, headers ...string) pageResponse {
	tb.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		tb.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := *ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return pageResponse{resp, string(raw)}
}

// mustLink creates a signup link through the store.
func (ts *testServer) mustLink(tb testing.TB, in db.NewSignupToken) db.SignupToken {
	tb.Helper()
	if in.Name == "" {
		in.Name = "Team link"
	}
	if in.ExpiresAt.IsZero() {
		in.ExpiresAt = farFuture
	}
	t, err := ts.store.CreateSignupToken(db.Actor{Kind: "apikey", Name: "t", Role: db.RoleAdmin}, in)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func signupValues(email, password, again string) url.Values {
	return url.Values{"email": {email}, "name": {"Ada Lovelace"}, "username": {"ada"},
		"password": {password}, "password2": {again}}
}

func sessionOf(tb testing.TB, resp *http.Response) string {
	tb.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			return sessionCookie + "=" + c.Value
		}
	}
	tb.Fatalf("no session cookie in %d answer", resp.StatusCode)
	return ""
}
