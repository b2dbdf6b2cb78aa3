package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"invited/db"
)

const testKey = "server-test-admin-key-0123456789"

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
	srv    *Server
	store  *db.Store
	hasher *db.Hasher
	logs   *syncBuffer
}

func mustServer(tb testing.TB) *testServer {
	tb.Helper()
	return mustServerWith(tb, func(*Options) {})
}

func mustServerWith(tb testing.TB, edit func(*Options)) *testServer {
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
	opts := Options{
		Store: store, Hasher: hasher, SiteName: "test",
		Policy:           db.PasswordPolicy{MinLength: 8, MinScore: 2},
		Logger:           slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MaxLoginAttempts: 3,
	}
	edit(&opts)
	srv := New(opts)
	ts := httptest.NewServer(srv)
	tb.Cleanup(ts.Close)
	return &testServer{Server: ts, srv: srv, store: store, hasher: hasher, logs: logs}
}

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

func (ts *testServer) link(tb testing.TB) string {
	tb.Helper()
	resp, body := ts.call(tb, "POST", "/api/admin/invite-link/tokens", "Bearer "+testKey,
		`{"name":"team","expiresAt":"2099-01-01T00:00:00Z"}`)
	if resp.StatusCode != 201 {
		tb.Fatalf("create link: %d %v", resp.StatusCode, body)
	}
	return body["secret"].(string)
}

func TestErrorBodyShape(t *testing.T) {
	ts := mustServer(t)
	resp, body := ts.call(t, "GET", "/api/admin/invite-link/tokens", "", "")
	if resp.StatusCode != 401 || body["name"] != "AuthenticationRequired" {
		t.Fatalf("no auth: %d %v", resp.StatusCode, body)
	}
	id, _ := body["id"].(string)
	if len(id) != 36 || id[14] != '4' {
		t.Errorf("error id %q is not a v4 UUID", id)
	}
	if msg, _ := body["message"].(string); !strings.Contains(msg, "Authorization") {
		t.Errorf("message %q does not say how to authenticate", msg)
	}
	resp, body = ts.call(t, "DELETE", "/api/admin/invite-link/tokens", "Bearer "+testKey, "")
	if resp.StatusCode != 405 || resp.Header.Get("Allow") == "" {
		t.Fatalf("wrong method: %d %v allow=%q", resp.StatusCode, body, resp.Header.Get("Allow"))
	}
	resp, body = ts.call(t, "GET", "/no/such/path", "", "")
	if resp.StatusCode != 404 || body["name"] != "NotFoundError" {
		t.Fatalf("unknown path: %d %v", resp.StatusCode, body)
	}
}

func TestRequestIDEchoed(t *testing.T) {
	ts := mustServer(t)
	req, _ := http.NewRequest("GET", ts.URL+"/health", nil)
	req.Header.Set("X-Request-Id", "abc-123")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("X-Request-Id %q, want the caller's", got)
	}
	req.Header.Set("X-Request-Id", "bad id\twith junk")
	resp, _ = ts.Client().Do(req)
	resp.Body.Close()
	if got := resp.Header.Get("X-Request-Id"); got == "" || strings.Contains(got, " ") {
		t.Errorf("X-Request-Id %q: a bad one must be replaced", got)
	}
}

func TestSignupBusyHasherAnswers503(t *testing.T) {
	ts := mustServer(t)
	secret := ts.link(t)
	// Hold the hasher's only slot so the signup cannot get one.
	release := make(chan struct{})
	holding := make(chan struct{})
	go func() {
		holdSlot(ts.hasher, holding, release)
	}()
	<-holding
	resp, body := ts.call(t, "POST", "/invite/"+secret+"/signup", "",
		`{"email":"a@example.com","name":"A","password":"correct horse battery staple"}`)
	close(release)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("busy: %d %v Retry-After=%q", resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	if n, err := ts.store.CountUsers(); err != nil || n != 0 {
		t.Fatalf("a refused signup: %d users, %v", n, err)
	}
}

func TestLogsHoldNoSecrets(t *testing.T) {
	ts := mustServer(t)
	secret := ts.link(t)
	const password = "correct horse battery staple"
	for _, path := range []string{"/invite/" + secret + "/validate", "/api/admin/invite-link/tokens/" + secret} {
		ts.call(t, "GET", path, "Bearer "+testKey, "")
	}
	resp, _ := ts.call(t, "POST", "/invite/"+secret+"/signup", "",
		`{"email":"a@example.com","name":"A","password":"`+password+`"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("signup: %d", resp.StatusCode)
	}
	ts.call(t, "GET", "/invite/"+secret+"x/validate", "", "")
	logs := ts.logs.String()
	for _, s := range []string{secret, password, testKey} {
		if strings.Contains(logs, s) {
			t.Errorf("log holds a secret %q:\n%s", s, logs)
		}
	}
	if !strings.Contains(logs, "route=/invite/:token/signup") {
		t.Errorf("log does not name the route:\n%s", logs)
	}
}
