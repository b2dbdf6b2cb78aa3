package main

// End-to-end tests: they build the real binary once, run `invited serve` as a
// child process on a loopback port with its own data folder, and talk to it
// over HTTP the way a script or a browser would.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"invited/internal/testutil"
	"invited/server"
	"invited/server/openapicheck"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	// e2eAdminKey is bootstrapped through INVITED_AUTH_INIT_ADMIN_API_TOKENS.
	e2eAdminKey = "e2e-admin-key-0123456789abcdef01"
	tokensPath  = "/api/admin/invite-link/tokens"
	// e2ePassword passes the default strength check (zxcvbn score 2) and
	// shares no word with the names and emails used below.
	e2ePassword = "Velvet-Harbor-Quince-Lantern-58"
	e2eFuture   = "2099-01-31T12:34:56.789Z"
	e2ePast     = "2020-02-03T04:05:06.007Z"
)

// e2eBinary is the invited binary that TestMain builds.
var e2eBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "invited-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: make temp dir:", err)
		os.Exit(1)
	}
	e2eBinary = filepath.Join(dir, "invited")
	build := exec.Command("go", "build", "-o", e2eBinary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: go build:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ---------------------------------------------------------------------------
// Harness: the server process.

var (
	// The listening line, in the text or the JSON log format.
	listeningRE = regexp.MustCompile(`invited is listening.*"?addr"?[=:]"?(https?://127\.0\.0\.1:\d+)`)
	uuidRE      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	secretRE    = regexp.MustCompile(`^[0-9a-f]{32}$`)
	msTimeRE    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)
)

// serverEnv is the process environment without any INVITED_ variable of
// the caller, plus the test settings, plus extra (which wins).
func serverEnv(dataDir string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "INVITED_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"INVITED_SERVER_LISTEN=127.0.0.1:0",
		"INVITED_STORAGE_DATA_DIR="+dataDir,
		"INVITED_AUTH_INIT_ADMIN_API_TOKENS="+e2eAdminKey,
		"INVITED_AUTH_ARGON2_MEMORY_KIB=64",
		"INVITED_AUTH_ARGON2_ITERATIONS=1",
		"INVITED_LIMITS_AUTH_PER_MINUTE=0",
		"INVITED_LIMITS_PUBLIC_PER_MINUTE=0",
	)
	return append(env, extra...)
}

// logSink collects a child's stderr and reports, once, the address from
// the "invited is listening" line.
type logSink struct {
	mu      sync.Mutex
	all     bytes.Buffer
	partial []byte
	found   bool
	addr    chan string
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all.Write(p)
	if s.found {
		return len(p), nil
	}
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		line := s.partial[:i]
		s.partial = s.partial[i+1:]
		if m := listeningRE.FindSubmatch(line); m != nil {
			s.found = true
			s.partial = nil
			s.addr <- string(m[1])
			break
		}
	}
	return len(p), nil
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.all.String()
}

// proc is one running `invited serve`.
type proc struct {
	URL     string
	cmd     *exec.Cmd
	log     *logSink
	done    chan struct{} // closed once the process has been waited for
	waitErr error         // valid after done
}

// startServer runs `invited serve` on dataDir and waits (at most 15 s)
// until it listens. The process is stopped when the test ends, and its log
// is shown if the test failed.
func startServer(t *testing.T, dataDir string, extraEnv ...string) *proc {
	t.Helper()
	sink := &logSink{addr: make(chan string, 1)}
	cmd := exec.Command(e2eBinary, "serve")
	cmd.Env = serverEnv(dataDir, extraEnv...)
	cmd.Stdout = sink
	cmd.Stderr = sink
	if err := cmd.Start(); err != nil {
		t.Fatalf("start invited serve: %v", err)
	}
	p := &proc{cmd: cmd, log: sink, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("log of invited serve on %s:\n%s", dataDir, sink.String())
		}
	})
	timer := time.NewTimer(15 * time.Second)
	defer timer.Stop()
	select {
	case p.URL = <-sink.addr:
		return p
	case <-p.done:
		t.Fatalf("invited serve exited before listening (%v); log:\n%s", p.waitErr, sink.String())
	case <-timer.C:
		t.Fatalf("invited serve did not report listening within 15s; log:\n%s", sink.String())
	}
	return nil
}

// Kill ends the process with SIGKILL and waits for it.
func (p *proc) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits; after 10 s it kills the process.
func (p *proc) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	// A burst can leave connections the client dialled but never used;
	// http.Server.Shutdown waits up to 5 s for such "new" connections, so
	// close them first (other tests' clients just dial again).
	e2eClient.CloseIdleConnections()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		p.Kill()
	}
}

// ExitErr is the result of waiting for the process; call after Stop or Kill.
func (p *proc) ExitErr() error {
	<-p.done
	return p.waitErr
}

// runBinary runs the binary to completion (at most timeout) and returns its
// output and exit code.
func runBinary(t *testing.T, timeout time.Duration, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e2eBinary, args...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("invited %s did not finish within %s; stderr:\n%s", strings.Join(args, " "), timeout, errOut.String())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run invited %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errOut.String(), code
}

// ---------------------------------------------------------------------------
// Harness: HTTP and JSON.

var e2eClient = &http.Client{
	Timeout: 30 * time.Second,
	Transport: &http.Transport{
		Proxy:               nil, // loopback only, never through a proxy
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     10 * time.Second,
		DisableCompression:  true,
	},
}

// rawBody is a request body sent as is with its own Content-Type ("" sends
// no Content-Type header).
type rawBody struct {
	contentType string
	data        []byte
}

// send makes one request without touching a testing.T, so goroutines can
// use it. auth is the Authorization header as is ("" sends none).
func send(method, url, auth, contentType string, body []byte) (int, http.Header, []byte, error) {
	var r io.Reader
	if len(body) > 0 {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, nil, nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := e2eClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, resp.Header, data, err
}

// do makes one request and fails the test if it cannot be made. auth is the
// Authorization header as is ("" sends none). body is nil (no body), a
// rawBody, a []byte or string (sent raw as application/json, so that it
// may be broken JSON), or anything else, marshalled to JSON.
func do(t *testing.T, method, url, auth string, body any) (status int, header http.Header, respBody []byte) {
	t.Helper()
	var data []byte
	contentType := ""
	switch b := body.(type) {
	case nil:
	case rawBody:
		data, contentType = b.data, b.contentType
	case []byte:
		data, contentType = b, "application/json"
	case string:
		data, contentType = []byte(b), "application/json"
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			t.Fatalf("marshal request body: %v", err)
		}
		contentType = "application/json"
	}
	status, header, respBody, err := send(method, url, auth, contentType, data)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	checkOpenAPI(t, method, url, status, header, respBody)
	return status, header, respBody
}

// apiSpec checks every answer the e2e tests get against the server's
// OpenAPI document, so the document cannot drift from the code.
var apiSpec = openapicheck.MustLoad(server.OpenAPIDocument())

func checkOpenAPI(t *testing.T, method, url string, status int, header http.Header, body []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if err := apiSpec.Validate(req, status, header, body); err != nil {
		t.Errorf("the answer to %s %s does not match openapi.json: %v", method, url, err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// object decodes a JSON object answer.
func object(t *testing.T, what string, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		t.Fatalf("%s: answer is not a JSON object (%v): %s", what, err, body)
	}
	return m
}

func wantStatus(t *testing.T, what string, got, want int, body []byte) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: status %d, want %d; body: %s", what, got, want, body)
	}
}

// wantKeys checks that obj has exactly the keys given.
func wantKeys(t *testing.T, what string, obj map[string]any, keys ...string) {
	t.Helper()
	var got []string
	for k := range obj {
		got = append(got, k)
	}
	want := append([]string(nil), keys...)
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: keys %v, want exactly %v", what, got, want)
	}
}

// wantField checks one value of a decoded object (numbers decode as float64).
func wantField(t *testing.T, what string, obj map[string]any, key string, want any) {
	t.Helper()
	got, ok := obj[key]
	if !ok {
		t.Errorf("%s: no %q field", what, key)
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: %s = %#v, want %#v", what, key, got, want)
	}
}

// wantError checks an Unleash-style error answer: the status, a UUID id,
// the kind name, and a message holding each of msgParts (any case). It
// returns the decoded body (nil if it is not JSON or the status is wrong).
func wantError(t *testing.T, what string, status int, body []byte, wantStatus int, wantName string, msgParts ...string) map[string]any {
	t.Helper()
	if status != wantStatus {
		t.Errorf("%s: status %d, want %d; body: %s", what, status, wantStatus, body)
		return nil // the rest would only repeat it
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		t.Errorf("%s: error body is not a JSON object (%v): %q", what, err, body)
		return nil
	}
	if id, _ := m["id"].(string); !uuidRE.MatchString(id) {
		t.Errorf("%s: error id %#v is not a UUID; body: %s", what, m["id"], body)
	}
	if m["name"] != wantName {
		t.Errorf("%s: error name %#v, want %q; body: %s", what, m["name"], wantName, body)
	}
	msg, _ := m["message"].(string)
	if strings.TrimSpace(msg) == "" {
		t.Errorf("%s: error has no message; body: %s", what, body)
	}
	for _, part := range msgParts {
		if !strings.Contains(strings.ToLower(msg), strings.ToLower(part)) {
			t.Errorf("%s: message %q does not say %q", what, msg, part)
		}
	}
	return m
}

// wantDetail checks that a ValidationError's details name field as a path
// (field itself, or an element of it such as field[0]).
func wantDetail(t *testing.T, what string, errBody map[string]any, field string) {
	t.Helper()
	if errBody == nil {
		return
	}
	details, ok := errBody["details"].([]any)
	if !ok {
		t.Errorf("%s: error has no details list: %v", what, errBody)
		return
	}
	for _, d := range details {
		dm, _ := d.(map[string]any)
		path, _ := dm["path"].(string)
		msg, _ := dm["message"].(string)
		if (path == field || strings.HasPrefix(path, field+"[")) && msg != "" {
			return
		}
	}
	t.Errorf("%s: details %v do not name %q as path", what, details, field)
}

func randomSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// createLink creates a signup link as the admin and returns it.
func createLink(t *testing.T, p *proc, fields map[string]any) map[string]any {
	t.Helper()
	status, _, body := do(t, "POST", p.URL+tokensPath, e2eAdminKey, fields)
	wantStatus(t, "create link", status, http.StatusCreated, body)
	return object(t, "create link", body)
}

func getLink(t *testing.T, p *proc, secret string) map[string]any {
	t.Helper()
	status, _, body := do(t, "GET", p.URL+tokensPath+"/"+secret, e2eAdminKey, nil)
	wantStatus(t, "get link", status, http.StatusOK, body)
	return object(t, "get link", body)
}

func listLinks(t *testing.T, p *proc) []any {
	t.Helper()
	status, _, body := do(t, "GET", p.URL+tokensPath, e2eAdminKey, nil)
	wantStatus(t, "list links", status, http.StatusOK, body)
	m := object(t, "list links", body)
	wantKeys(t, "list links", m, "tokens")
	tokens, ok := m["tokens"].([]any)
	if !ok {
		t.Fatalf("list links: tokens is not a list: %s", body)
	}
	return tokens
}

// signupJSON is a signup body; username is left out when empty.
func signupJSON(email, username, name string) map[string]any {
	m := map[string]any{"email": email, "name": name, "password": e2ePassword}
	if username != "" {
		m["username"] = username
	}
	return m
}

func signupURL(p *proc, secret string) string   { return p.URL + "/invite/" + secret + "/signup" }
func validateURL(p *proc, secret string) string { return p.URL + "/invite/" + secret + "/validate" }

// emailsOf lists the emails of a link's users.
func emailsOf(t *testing.T, link map[string]any) []string {
	t.Helper()
	users, ok := link["users"].([]any)
	if !ok {
		t.Fatalf("link users is not a list: %#v", link["users"])
	}
	var emails []string
	for _, u := range users {
		um, _ := u.(map[string]any)
		e, _ := um["email"].(string)
		emails = append(emails, e)
	}
	return emails
}

var (
	tokenFields = []string{"secret", "url", "name", "description", "enabled", "expiresAt", "createdAt", "createdBy", "users", "role",
		"maxUses", "uses", "allowedDomains", "groups", "requireApproval"} // the seed's, plus ours
	userFields = []string{"id", "isAPI", "name", "email", "username", "imageUrl", "inviteLink", "loginAttempts",
		"emailSent", "rootRole", "seenAt", "createdAt", "accountType", "permissions", "scimId",
		"organizationId", "disabled", "emailVerified", "pendingApproval", "groups"} // the seed's userSchema, plus the organization a user belongs to, whether it is disabled, whether its address is verified, whether it waits for approval, and its groups
	roleFields = []string{"id", "type", "name", "description", "project"}
)

// waitLinkUserEmailSent polls the link (bounded) until its first user's
// welcome email is recorded as sent, and returns the link.
func waitLinkUserEmailSent(t *testing.T, p *proc, secret string) map[string]any {
	t.Helper()
	var link map[string]any
	testutil.Eventually(t, 10*time.Second, "the welcome email to be recorded as sent", func() error {
		link = getLink(t, p, secret)
		if users, _ := link["users"].([]any); len(users) == 0 || users[0].(map[string]any)["emailSent"] != true {
			return fmt.Errorf("the link reads %v", link)
		}
		return nil
	})
	return link
}

// checkUser checks a user object against seed 000's userSchema.
func checkUser(t *testing.T, what string, u map[string]any, email, username, name string, rootRole int) {
	t.Helper()
	wantKeys(t, what, u, userFields...)
	if id, ok := u["id"].(float64); !ok || id < 1 || id != float64(int64(id)) {
		t.Errorf("%s: id %#v is not a positive whole number", what, u["id"])
	}
	wantField(t, what, u, "isAPI", false)
	wantField(t, what, u, "name", name)
	wantField(t, what, u, "email", email)
	if username == "" {
		wantField(t, what, u, "username", nil)
	} else {
		wantField(t, what, u, "username", username)
	}
	if _, ok := u["imageUrl"].(string); !ok {
		t.Errorf("%s: imageUrl %#v is not a string", what, u["imageUrl"])
	}
	if _, ok := u["inviteLink"].(string); !ok {
		t.Errorf("%s: inviteLink %#v is not a string", what, u["inviteLink"])
	}
	wantField(t, what, u, "loginAttempts", 0.0)
	wantField(t, what, u, "emailSent", false)
	wantField(t, what, u, "rootRole", float64(rootRole))
	wantField(t, what, u, "seenAt", nil)
	if s, _ := u["createdAt"].(string); !msTimeRE.MatchString(s) {
		t.Errorf("%s: createdAt %#v is not an RFC 3339 UTC time with milliseconds", what, u["createdAt"])
	} else if ct, _ := time.Parse(time.RFC3339, s); time.Since(ct).Abs() > time.Minute {
		t.Errorf("%s: createdAt %s is not now", what, s)
	}
	wantField(t, what, u, "accountType", "User")
	if _, ok := u["permissions"].([]any); !ok {
		t.Errorf("%s: permissions %#v is not a list", what, u["permissions"])
	}
	wantField(t, what, u, "scimId", nil)
	wantField(t, what, u, "disabled", false)
}

// checkRole checks a role object (seed 002).
func checkRole(t *testing.T, what string, role any, id int, name string) {
	t.Helper()
	r, ok := role.(map[string]any)
	if !ok {
		t.Errorf("%s: role %#v is not an object", what, role)
		return
	}
	wantKeys(t, what+" role", r, roleFields...)
	wantField(t, what+" role", r, "id", float64(id))
	wantField(t, what+" role", r, "type", "root")
	wantField(t, what+" role", r, "name", name)
	if d, _ := r["description"].(string); d == "" {
		t.Errorf("%s: role description %#v is empty", what, r["description"])
	}
	if pr := r["project"]; pr != nil {
		if _, ok := pr.(string); !ok {
			t.Errorf("%s: role project %#v is neither null nor a string", what, pr)
		}
	}
}

type result struct {
	status int
	body   []byte
	err    error
}

// parallel runs n calls of f at once (released together) and returns
// their results in order.
func parallel(n int, f func(i int) result) []result {
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = f(i)
		}()
	}
	close(start)
	wg.Wait()
	return results
}

func postSignup(p *proc, secret string, body map[string]any) result {
	data, err := json.Marshal(body)
	if err != nil {
		return result{err: err}
	}
	status, _, resp, err := send("POST", signupURL(p, secret), "", "application/json", data)
	return result{status, resp, err}
}

// countStatuses counts the results by status and fails on transport errors.
func countStatuses(t *testing.T, results []result) map[int]int {
	t.Helper()
	counts := map[int]int{}
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("request %d: %v", i, r.err)
		}
		counts[r.status]++
	}
	return counts
}

// ---------------------------------------------------------------------------
// Tests.

func TestE2EWalkthrough(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir())
	linkBody := map[string]any{"name": "Team onboarding", "expiresAt": e2eFuture}

	// Authentication.
	status, _, body := do(t, "POST", p.URL+tokensPath, "", linkBody)
	wantError(t, "create without Authorization", status, body, 401, "AuthenticationRequired")
	status, _, body = do(t, "POST", p.URL+tokensPath, "not-the-right-key-at-all-0000000", linkBody)
	wantError(t, "create with a wrong key", status, body, 401, "AuthenticationRequired")
	status, _, body = do(t, "GET", p.URL+tokensPath, "Bearer not-the-right-key-at-all-0000000", nil)
	wantError(t, "list with a wrong Bearer key", status, body, 401, "AuthenticationRequired")
	status, _, body = do(t, "GET", p.URL+tokensPath, "", nil)
	wantError(t, "list without Authorization", status, body, 401, "AuthenticationRequired")

	// Create, with the bare key.
	status, header, body := do(t, "POST", p.URL+tokensPath, e2eAdminKey, linkBody)
	wantStatus(t, "create link", status, 201, body)
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("create link: Content-Type %q", ct)
	}
	tok := object(t, "create link", body)
	wantKeys(t, "created link", tok, tokenFields...)
	secret, _ := tok["secret"].(string)
	if !secretRE.MatchString(secret) {
		t.Fatalf("secret %q is not 32 lowercase hex characters", secret)
	}
	if loc := header.Get("Location"); loc != tokensPath+"/"+secret {
		t.Errorf("Location %q, want %q", loc, tokensPath+"/"+secret)
	}
	wantField(t, "created link", tok, "url", "http://localhost:4242/new-user?invite="+secret)
	wantField(t, "created link", tok, "name", "Team onboarding")
	wantField(t, "created link", tok, "enabled", true)
	wantField(t, "created link", tok, "expiresAt", e2eFuture)
	if s, _ := tok["createdAt"].(string); !msTimeRE.MatchString(s) {
		t.Errorf("createdAt %#v is not an RFC 3339 UTC time with milliseconds", tok["createdAt"])
	} else if ct, _ := time.Parse(time.RFC3339, s); time.Since(ct).Abs() > time.Minute {
		t.Errorf("createdAt %s is not now", s)
	}
	if cb, _ := tok["createdBy"].(string); cb == "" {
		t.Errorf("createdBy %#v is empty", tok["createdBy"])
	}
	wantField(t, "created link", tok, "users", []any{})
	checkRole(t, "created link", tok["role"], 3, "Viewer")
	wantField(t, "created link", tok, "maxUses", nil)
	wantField(t, "created link", tok, "uses", 0.0)
	wantField(t, "created link", tok, "allowedDomains", []any{})

	// List and get, with "Bearer KEY".
	status, _, body = do(t, "GET", p.URL+tokensPath, "Bearer "+e2eAdminKey, nil)
	wantStatus(t, "list links", status, 200, body)
	list := object(t, "list links", body)
	wantKeys(t, "list links", list, "tokens")
	if !reflect.DeepEqual(list["tokens"], []any{tok}) {
		t.Errorf("list links: got %s, want just the created link", body)
	}
	status, _, body = do(t, "GET", p.URL+tokensPath+"/"+secret, "Bearer "+e2eAdminKey, nil)
	wantStatus(t, "get link", status, 200, body)
	if got := object(t, "get link", body); !reflect.DeepEqual(got, tok) {
		t.Errorf("get link: %s differs from the created link", body)
	}

	unknown := randomSecret(t)
	status, _, body = do(t, "GET", p.URL+tokensPath+"/"+unknown, e2eAdminKey, nil)
	wantError(t, "get unknown link", status, body, 404, "NotFoundError")
	status, _, body = do(t, "PUT", p.URL+tokensPath+"/"+unknown, e2eAdminKey, map[string]any{"enabled": false})
	wantError(t, "put unknown link", status, body, 404, "NotFoundError")
	status, _, body = do(t, "PUT", p.URL+tokensPath+"/"+secret, e2eAdminKey, map[string]any{})
	wantError(t, "put {}", status, body, 400, "ValidationError", "expiresAt", "enabled")

	// Validate and sign up.
	status, _, body = do(t, "GET", validateURL(p, secret), "", nil)
	wantStatus(t, "validate", status, 200, body)
	status, _, body = do(t, "POST", signupURL(p, secret), "", signupJSON("hunter@example.com", "hunter", "Hunter Burgan"))
	wantStatus(t, "signup", status, 200, body)
	user := object(t, "signup", body)
	checkUser(t, "signed-up user", user, "hunter@example.com", "hunter", "Hunter Burgan", 3)
	if bytes.Contains(body, []byte("assword")) || bytes.Contains(body, []byte("argon2")) || bytes.Contains(body, []byte(e2ePassword)) {
		t.Errorf("signup answer shows the password or its hash: %s", body)
	}

	// Emails are unique without regard to case.
	status, _, body = do(t, "POST", signupURL(p, secret), "", signupJSON("HUNTER@Example.COM", "hunter2nd", "Hunter Again"))
	wantError(t, "signup with the same email in other case", status, body, 409, "NameExistsError", "email")

	// The welcome email goes out through the log driver at once, which
	// sets emailSent; apart from that the link lists the user as created.
	link := waitLinkUserEmailSent(t, p, secret)
	user["emailSent"] = true
	wantField(t, "link after signup", link, "users", []any{user})
	wantField(t, "link after signup", link, "uses", 1.0)
	wantField(t, "link after signup", link, "enabled", true)

	// Disable.
	status, _, body = do(t, "PUT", p.URL+tokensPath+"/"+secret, e2eAdminKey, map[string]any{"enabled": false})
	wantStatus(t, "disable", status, 200, body)
	link = object(t, "disable", body)
	wantKeys(t, "disabled link", link, tokenFields...)
	wantField(t, "disabled link", link, "enabled", false)
	wantField(t, "disabled link", link, "expiresAt", e2eFuture)
	wantField(t, "disabled link", link, "uses", 1.0)
	status, _, body = do(t, "GET", validateURL(p, secret), "", nil)
	wantError(t, "validate disabled", status, body, 400, "ValidationError", "disabled")
	status, _, body = do(t, "POST", signupURL(p, secret), "", signupJSON("grace@example.com", "", "Grace Hopper"))
	wantError(t, "signup on disabled", status, body, 400, "ValidationError", "disabled")

	// Enable but expire: still not enabled.
	status, _, body = do(t, "PUT", p.URL+tokensPath+"/"+secret, "Bearer "+e2eAdminKey,
		map[string]any{"enabled": true, "expiresAt": e2ePast})
	wantStatus(t, "expire", status, 200, body)
	link = object(t, "expire", body)
	wantField(t, "expired link", link, "enabled", false)
	wantField(t, "expired link", link, "expiresAt", e2ePast)
	status, _, body = do(t, "GET", validateURL(p, secret), "", nil)
	wantError(t, "validate expired", status, body, 400, "ValidationError", "expired")
	status, _, body = do(t, "POST", signupURL(p, secret), "", signupJSON("grace@example.com", "", "Grace Hopper"))
	wantError(t, "signup on expired", status, body, 400, "ValidationError", "expired")

	link = getLink(t, p, secret)
	wantField(t, "link at the end", link, "uses", 1.0)
	wantField(t, "link at the end", link, "users", []any{user})
	if n := len(listLinks(t, p)); n != 1 {
		t.Errorf("%d links at the end, want 1 (refused requests created some)", n)
	}

	// SIGTERM is a clean shutdown.
	p.Stop()
	if err := p.ExitErr(); err != nil {
		t.Errorf("invited serve after SIGTERM: %v, want exit status 0", err)
	}
}

func TestE2EOurFields(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir())

	// role as an id and as a name.
	for i, role := range []any{2, "Editor"} {
		link := createLink(t, p, map[string]any{"name": fmt.Sprintf("editors %d", i), "expiresAt": e2eFuture, "role": role})
		checkRole(t, fmt.Sprintf("link with role %v", role), link["role"], 2, "Editor")
		secret := link["secret"].(string)
		email := fmt.Sprintf("editor%d@example.com", i)
		status, _, body := do(t, "POST", signupURL(p, secret), "", signupJSON(email, "", "Edith Editor"))
		wantStatus(t, fmt.Sprintf("signup with role %v", role), status, 200, body)
		checkUser(t, fmt.Sprintf("user of role %v", role), object(t, "signup", body), email, "", "Edith Editor", 2)
	}

	// maxUses.
	link := createLink(t, p, map[string]any{"name": "two seats", "expiresAt": e2eFuture, "maxUses": 2})
	wantField(t, "maxUses link", link, "maxUses", 2.0)
	wantField(t, "maxUses link", link, "uses", 0.0)
	secret := link["secret"].(string)
	for i := range 2 {
		status, _, body := do(t, "POST", signupURL(p, secret), "", signupJSON(fmt.Sprintf("seat%d@example.com", i), "", "Seat Holder"))
		wantStatus(t, fmt.Sprintf("signup %d on maxUses 2", i+1), status, 200, body)
	}
	status, _, body := do(t, "POST", signupURL(p, secret), "", signupJSON("seat2@example.com", "", "Seat Holder"))
	wantError(t, "third signup on maxUses 2", status, body, 400, "ValidationError", "used")
	status, _, body = do(t, "GET", validateURL(p, secret), "", nil)
	wantError(t, "validate used-up link", status, body, 400, "ValidationError", "used")
	link = getLink(t, p, secret)
	wantField(t, "used-up link", link, "uses", 2.0)
	if got := emailsOf(t, link); !reflect.DeepEqual(got, []string{"seat0@example.com", "seat1@example.com"}) {
		t.Errorf("used-up link users %v", got)
	}

	// allowedDomains.
	link = createLink(t, p, map[string]any{"name": "example only", "expiresAt": e2eFuture, "allowedDomains": []string{"example.com"}})
	wantField(t, "allowedDomains link", link, "allowedDomains", []any{"example.com"})
	secret = link["secret"].(string)
	status, _, body = do(t, "POST", signupURL(p, secret), "", signupJSON("ada@elsewhere.org", "", "Ada Lovelace"))
	e := wantError(t, "signup outside allowedDomains", status, body, 400, "ValidationError", "email", "example.com")
	wantDetail(t, "signup outside allowedDomains", e, "email")
	status, _, body = do(t, "POST", signupURL(p, secret), "", signupJSON("ada@example.com", "", "Ada Lovelace"))
	wantStatus(t, "signup inside allowedDomains", status, 200, body)
	checkUser(t, "allowed user", object(t, "signup", body), "ada@example.com", "", "Ada Lovelace", 3)
	// The domain of an email is compared (and stored) in lower case.
	status, _, body = do(t, "POST", signupURL(p, secret), "", signupJSON("bob@EXAMPLE.Com", "", "Bob Builder"))
	wantStatus(t, "signup inside allowedDomains, upper case", status, 200, body)
	wantField(t, "upper-case domain user", object(t, "signup", body), "email", "bob@example.com")
	if got := emailsOf(t, getLink(t, p, secret)); !reflect.DeepEqual(got, []string{"ada@example.com", "bob@example.com"}) {
		t.Errorf("allowedDomains link users %v, want ada@ and bob@example.com", got)
	}

	// expiresAt is kept to the instant: no rounding, shown in UTC.
	for sent, want := range map[string]string{
		"2099-03-04T05:06:07.123456789Z": "2099-03-04T05:06:07.123456789Z",
		"2099-03-04T07:06:07.5+02:00":    "2099-03-04T05:06:07.500Z",
		"2099-03-04T05:06:07Z":           "2099-03-04T05:06:07.000Z",
	} {
		link := createLink(t, p, map[string]any{"name": "precise", "expiresAt": sent})
		wantField(t, "expiresAt "+sent, link, "expiresAt", want)
	}

	// Bad values, each named in details.
	valid := func(change map[string]any) map[string]any {
		m := map[string]any{"name": "bad one", "expiresAt": e2eFuture}
		for k, v := range change {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	bad := []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"maxUses 0", valid(map[string]any{"maxUses": 0}), "maxUses"},
		{"maxUses -1", valid(map[string]any{"maxUses": -1}), "maxUses"},
		{"maxUses string", valid(map[string]any{"maxUses": "x"}), "maxUses"},
		{"maxUses fraction", valid(map[string]any{"maxUses": 1.5}), "maxUses"},
		{"role 9", valid(map[string]any{"role": 9}), "role"},
		{"role 0", valid(map[string]any{"role": 0}), "role"},
		{"role unknown name", valid(map[string]any{"role": "Owner"}), "role"},
		{"allowedDomains not a domain", valid(map[string]any{"allowedDomains": []string{"not a domain"}}), "allowedDomains"},
		{"allowedDomains no dot", valid(map[string]any{"allowedDomains": []string{"localhost"}}), "allowedDomains"},
		{"allowedDomains a string", valid(map[string]any{"allowedDomains": "example.com"}), "allowedDomains"},
		{"expiresAt in the past", valid(map[string]any{"expiresAt": e2ePast}), "expiresAt"},
		{"expiresAt tomorrow", valid(map[string]any{"expiresAt": "tomorrow"}), "expiresAt"},
		{"expiresAt missing", valid(map[string]any{"expiresAt": nil}), "expiresAt"},
		{"name missing", valid(map[string]any{"name": nil}), "name"},
		{"name blank", valid(map[string]any{"name": "   "}), "name"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := do(t, "POST", p.URL+tokensPath, e2eAdminKey, tc.body)
			e := wantError(t, tc.name, status, body, 400, "ValidationError", tc.field)
			wantDetail(t, tc.name, e, tc.field)
		})
	}
	if n := len(listLinks(t, p)); n != 7 {
		t.Errorf("%d links, want the 7 good ones", n)
	}
}

func TestE2EConcurrentSameEmail(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir())
	secret := createLink(t, p, map[string]any{"name": "race", "expiresAt": e2eFuture})["secret"].(string)

	results := parallel(50, func(i int) result {
		return postSignup(p, secret, signupJSON("twin@example.com", "", fmt.Sprintf("Twin %d", i)))
	})
	counts := countStatuses(t, results)
	if counts[200] != 1 || counts[409] != 49 {
		t.Errorf("statuses %v, want exactly one 200 and 49 × 409", counts)
	}
	for i, r := range results {
		if r.status == 409 {
			wantError(t, fmt.Sprintf("signup %d", i), r.status, r.body, 409, "NameExistsError")
		}
	}
	link := getLink(t, p, secret)
	wantField(t, "link", link, "uses", 1.0)
	if got := emailsOf(t, link); !reflect.DeepEqual(got, []string{"twin@example.com"}) {
		t.Errorf("link users %v, want one twin@example.com", got)
	}
}

func TestE2EConcurrentMaxUses(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir())
	secret := createLink(t, p, map[string]any{"name": "five seats", "expiresAt": e2eFuture, "maxUses": 5})["secret"].(string)

	results := parallel(50, func(i int) result {
		return postSignup(p, secret, signupJSON(fmt.Sprintf("seat%02d@example.com", i), "", "Seat Holder"))
	})
	counts := countStatuses(t, results)
	if counts[200] != 5 || counts[400] != 45 {
		t.Errorf("statuses %v, want exactly 5 × 200 and 45 × 400", counts)
	}
	var winners []string
	for i, r := range results {
		switch r.status {
		case 200:
			winners = append(winners, fmt.Sprintf("seat%02d@example.com", i))
		case 400:
			wantError(t, fmt.Sprintf("signup %d", i), r.status, r.body, 400, "ValidationError", "used")
		}
	}
	link := getLink(t, p, secret)
	wantField(t, "link", link, "uses", 5.0)
	got := emailsOf(t, link)
	sort.Strings(got)
	if !reflect.DeepEqual(got, winners) {
		t.Errorf("link users %v, want the 5 that got 200: %v", got, winners)
	}
}

func TestE2EConcurrentSameUsername(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir())
	secret := createLink(t, p, map[string]any{"name": "usernames", "expiresAt": e2eFuture})["secret"].(string)

	spellings := []string{"Hunter", "hunter", "HUNTER", "hUnTeR"}
	results := parallel(50, func(i int) result {
		return postSignup(p, secret, signupJSON(fmt.Sprintf("person%02d@example.com", i), spellings[i%len(spellings)], "Some Person"))
	})
	counts := countStatuses(t, results)
	if counts[200] != 1 || counts[409] != 49 {
		t.Errorf("statuses %v, want exactly one 200 and 49 × 409", counts)
	}
	for i, r := range results {
		if r.status == 409 {
			wantError(t, fmt.Sprintf("signup %d", i), r.status, r.body, 409, "NameExistsError", "username")
		}
	}
	link := getLink(t, p, secret)
	wantField(t, "link", link, "uses", 1.0)
	if n := len(emailsOf(t, link)); n != 1 {
		t.Errorf("link has %d users, want 1", n)
	}
}

func TestE2EDurabilityAfterSIGKILL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServer(t, dir)
	secret := createLink(t, p, map[string]any{"name": "burst", "expiresAt": e2eFuture})["secret"].(string)

	var (
		mu        sync.Mutex
		confirmed []string // emails that got 200
		stop      atomic.Bool
		wg        sync.WaitGroup
	)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10000 && !stop.Load(); i++ {
				email := fmt.Sprintf("burst-%d-%d@example.com", g, i)
				r := postSignup(p, secret, signupJSON(email, "", "Burst Person"))
				if r.err != nil {
					return // the server is gone
				}
				if r.status == 200 {
					mu.Lock()
					confirmed = append(confirmed, email)
					mu.Unlock()
				}
			}
		}()
	}
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(confirmed)
	}
	// If they never do, the goroutines stop when the test's cleanup
	// kills the server.
	testutil.Eventually(t, 15*time.Second, "20 signups before the kill", func() error {
		if n := count(); n < 20 {
			return fmt.Errorf("only %d succeeded", n)
		}
		return nil
	})
	p.Kill()
	stop.Store(true)
	wg.Wait()

	p2 := startServer(t, dir)
	link := getLink(t, p2, secret)
	users := emailsOf(t, link)
	have := map[string]bool{}
	for _, e := range users {
		if have[e] {
			t.Errorf("user %s is listed twice", e)
		}
		have[e] = true
	}
	var lost []string
	for _, e := range confirmed {
		if !have[e] {
			lost = append(lost, e)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d signups answered 200 are gone after SIGKILL: %v", len(lost), len(confirmed), lost)
	}
	if uses, _ := link["uses"].(float64); int(uses) != len(users) {
		t.Errorf("uses %v, but %d users", link["uses"], len(users))
	}
	t.Logf("%d signups confirmed before SIGKILL, %d users after restart", len(confirmed), len(users))

	// The indexes survived too: a confirmed email is taken, a new one works.
	status, _, body := do(t, "POST", signupURL(p2, secret), "", signupJSON(confirmed[0], "", "Burst Person"))
	wantError(t, "signup again with a confirmed email", status, body, 409, "NameExistsError")
	status, _, body = do(t, "POST", signupURL(p2, secret), "", signupJSON("after-restart@example.com", "", "Late Person"))
	wantStatus(t, "signup after restart", status, 200, body)
}

func TestE2EBadInput(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir())
	link := createLink(t, p, map[string]any{"name": "victim", "expiresAt": e2eFuture})
	secret := link["secret"].(string)

	signup := signupURL(p, secret)
	create := p.URL + tokensPath
	// body is a valid signup body with change applied (nil deletes a field).
	body := func(change map[string]any) []byte {
		m := signupJSON("ada@example.com", "ada", "Ada Lovelace")
		for k, v := range change {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return mustJSON(t, m)
	}
	validSignup := body(nil)
	validCreate := mustJSON(t, map[string]any{"name": "another", "expiresAt": e2eFuture})
	tooBig := append([]byte(`{"name":"`), bytes.Repeat([]byte("a"), 1<<20)...)
	tooBig = append(tooBig, `","email":"ada@example.com","password":"x"}`...)

	type tc struct {
		name   string
		method string
		url    string
		auth   string
		ct     string // Content-Type; "-" sends none
		body   []byte
		status int
		kind   string
		msg    []string // parts of the message
		field  string   // a details path, when the error names a field
	}
	cases := []tc{}
	// Body problems, for both endpoints that take one.
	for _, ep := range []struct {
		name, url, auth string
		valid           []byte
	}{{"signup", signup, "", validSignup}, {"create link", create, e2eAdminKey, validCreate}} {
		add := func(c tc) {
			c.name = ep.name + ": " + c.name
			c.method, c.url, c.auth = "POST", ep.url, ep.auth
			if c.ct == "" {
				c.ct = "application/json"
			}
			cases = append(cases, c)
		}
		add(tc{name: "malformed JSON", body: []byte(`{"email" "ada@example.com"}`), status: 400, kind: "ValidationError", msg: []string{"not valid JSON"}})
		add(tc{name: "cut-off JSON", body: []byte(`{"email": "ada@example.com",`), status: 400, kind: "ValidationError", msg: []string{"JSON"}})
		add(tc{name: "empty body", body: nil, status: 400, kind: "ValidationError", msg: []string{"empty"}})
		add(tc{name: "JSON array", body: []byte(`[{"email": "ada@example.com"}]`), status: 400, kind: "ValidationError", msg: []string{"object"}})
		add(tc{name: "JSON string", body: []byte(`"ada@example.com"`), status: 400, kind: "ValidationError", msg: []string{"object"}})
		add(tc{name: "trailing garbage", body: append(append([]byte{}, ep.valid...), " xyz"...), status: 400, kind: "ValidationError", msg: []string{"nothing after"}})
		add(tc{name: "second object", body: append(append([]byte{}, ep.valid...), "{}"...), status: 400, kind: "ValidationError", msg: []string{"nothing after"}})
		add(tc{name: "over 1 MiB", body: tooBig, status: 413, kind: "PayloadTooLarge", msg: []string{"larger"}})
		add(tc{name: "text/plain", ct: "text/plain", body: ep.valid, status: 400, kind: "ValidationError", msg: []string{"must be JSON"}})
		add(tc{name: "form", ct: "application/x-www-form-urlencoded", body: []byte("email=ada%40example.com&name=Ada"), status: 400, kind: "ValidationError", msg: []string{"must be JSON"}})
		add(tc{name: "no Content-Type", ct: "-", body: ep.valid, status: 400, kind: "ValidationError", msg: []string{"must be JSON"}})
		add(tc{name: "unknown field", body: []byte(`{"name": "Ada", "isAdmin": true}`), status: 400, kind: "ValidationError", msg: []string{"isAdmin"}, field: "isAdmin"})
		add(tc{name: "name is an object", body: []byte(`{"name": {"first": "Ada"}}`), status: 400, kind: "ValidationError", msg: []string{"name"}, field: "name"})
		add(tc{name: "non-UTF-8", body: []byte("{\"name\": \"Ad\xff\xfea\", \"email\": \"ada@example.com\"}"), status: 400, kind: "ValidationError", msg: []string{"UTF-8"}})
	}
	// Field problems of a signup.
	addSignup := func(name string, b []byte, msg, field string) {
		cases = append(cases, tc{name: "signup: " + name, method: "POST", url: signup, ct: "application/json", body: b,
			status: 400, kind: "ValidationError", msg: []string{field, msg}, field: field})
	}
	addSignup("email is a number", []byte(`{"email": 42, "name": "Ada Lovelace", "password": "`+e2ePassword+`"}`), "string", "email")
	addSignup("password is a bool", []byte(`{"email": "ada@example.com", "name": "Ada Lovelace", "password": true}`), "string", "password")
	addSignup("name 10000 characters", body(map[string]any{"name": strings.Repeat("n", 10000)}), "too long", "name")
	addSignup("email 1000 characters", body(map[string]any{"email": strings.Repeat("e", 988) + "@example.com"}), "too long", "email")
	addSignup("password 2000 bytes", body(map[string]any{"password": strings.Repeat("Zq9-", 500)}), "too long", "password")
	addSignup("NUL in name", body(map[string]any{"name": "a\u0000b"}), "control", "name")
	addSignup("line break in name", body(map[string]any{"name": "a\nb"}), "control", "name")
	addSignup("email without @", body(map[string]any{"email": "ada"}), "", "email")
	addSignup("email without domain", body(map[string]any{"email": "ada@"}), "", "email")
	addSignup("email at localhost", body(map[string]any{"email": "ada@localhost"}), "domain", "email")
	addSignup("email with display name", body(map[string]any{"email": "Ada <ada@example.com>"}), "plain", "email")
	addSignup("email missing", body(map[string]any{"email": nil}), "required", "email")
	addSignup("name missing", body(map[string]any{"name": nil}), "required", "name")
	addSignup("password missing", body(map[string]any{"password": nil}), "required", "password")
	addSignup("password too short", body(map[string]any{"password": "Zq9-x"}), "too short", "password")
	addSignup("password guessable", body(map[string]any{"password": "password1"}), "guess", "password")
	addSignup("username with @", body(map[string]any{"username": "ada@example.com"}), "", "username")
	addSignup("username with space", body(map[string]any{"username": "ada lovelace"}), "", "username")

	// Tricks in :token. Escaped slashes leave the route altogether (404);
	// anything else reaching the route is an unknown link: 400 on the
	// public routes (seed 000 answers only 200, 400, 409), 404 on admin.
	upper := strings.ToUpper(secret)
	if upper == secret { // all digits: astronomically unlikely
		t.Fatalf("secret %s has no letters", secret)
	}
	for _, trick := range []struct {
		name, token string
		escaped     bool // holds an escaped '/', so no route matches
	}{
		{"dot-dot-slash path", "..%2F..%2Fetc%2Fpasswd", true},
		{"escaped dot-dot", "%2e%2e", false},
		{"33 hex characters", secret + "a", false},
		{"31 hex characters", secret[:31], false},
		{"upper-case secret", upper, false},
		{"escaped NUL", secret[:31] + "%00", false},
		{"very long token", strings.Repeat("ab", 4000), false},
	} {
		pub, adm := 400, 404
		pubKind := "ValidationError"
		if trick.escaped {
			pub, pubKind = 404, "NotFoundError"
		}
		cases = append(cases,
			tc{name: "validate: " + trick.name, method: "GET", url: p.URL + "/invite/" + trick.token + "/validate", status: pub, kind: pubKind},
			tc{name: "signup: " + trick.name, method: "POST", url: p.URL + "/invite/" + trick.token + "/signup", ct: "application/json", body: validSignup, status: pub, kind: pubKind},
			tc{name: "admin get: " + trick.name, method: "GET", url: p.URL + tokensPath + "/" + trick.token, auth: e2eAdminKey, status: adm, kind: "NotFoundError"},
			tc{name: "admin put: " + trick.name, method: "PUT", url: p.URL + tokensPath + "/" + trick.token, auth: e2eAdminKey, ct: "application/json", body: []byte(`{"enabled": false}`), status: adm, kind: "NotFoundError"},
		)
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ct := c.ct
			if ct == "-" {
				ct = ""
			}
			status, _, respBody := do(t, c.method, c.url, c.auth, rawBody{ct, c.body})
			e := wantError(t, c.name, status, respBody, c.status, c.kind, c.msg...)
			if c.field != "" {
				wantDetail(t, c.name, e, c.field)
			}
		})
	}

	// Nothing changed.
	after := getLink(t, p, secret)
	if !reflect.DeepEqual(after, link) {
		t.Errorf("the link changed:\nbefore %v\nafter  %v", link, after)
	}
	wantField(t, "link after bad input", after, "users", []any{})
	wantField(t, "link after bad input", after, "uses", 0.0)
	if tokens := listLinks(t, p); len(tokens) != 1 || !reflect.DeepEqual(tokens[0], link) {
		t.Errorf("links after bad input: %v, want just the one", tokens)
	}

	// The bodies the table broke were valid to begin with.
	status, _, respBody := do(t, "POST", signup, "", validSignup)
	wantStatus(t, "valid signup after the table", status, 200, respBody)
	status, _, respBody = do(t, "POST", create, e2eAdminKey, validCreate)
	wantStatus(t, "valid create after the table", status, 201, respBody)

	// JSON names are case-sensitive: "EMAIL" is not the field "email".
	status, _, respBody = do(t, "POST", signup, "", []byte(`{"EMAIL": "case@example.com", "Name": "Case Person", "password": "`+e2ePassword+`"}`))
	e := wantError(t, "signup with upper-case field names", status, respBody, 400, "ValidationError", "EMAIL")
	wantDetail(t, "signup with upper-case field names", e, "EMAIL")
}

func TestE2EAPIKeyCreateCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := serverEnv(dir)

	stdout, stderr, code := runBinary(t, 20*time.Second, env, "apikey", "create", "--name", "ci", "--role", "editor")
	if code != 0 {
		t.Fatalf("apikey create: exit %d; stderr:\n%s", code, stderr)
	}
	if !regexp.MustCompile(`^invited_[0-9a-f]{16,}\n$`).MatchString(stdout) {
		t.Fatalf("apikey create stdout %q, want exactly one line holding the key", stdout)
	}
	key := strings.TrimSpace(stdout)
	if strings.Contains(stderr, key) {
		t.Errorf("apikey create also wrote the key to stderr")
	}

	p := startServer(t, dir)
	status, _, body := do(t, "POST", p.URL+tokensPath, "Bearer "+key, map[string]any{"name": "by ci", "expiresAt": e2eFuture})
	wantStatus(t, "editor creates a link", status, 201, body)
	link := object(t, "editor creates a link", body)
	wantField(t, "editor's link", link, "createdBy", "ci")
	checkRole(t, "editor's link", link["role"], 3, "Viewer")

	status, _, body = do(t, "POST", p.URL+tokensPath, key, map[string]any{"name": "editors", "expiresAt": e2eFuture, "role": "Editor"})
	wantStatus(t, "editor creates an Editor link", status, 201, body)

	for _, role := range []any{"Admin", 1} {
		status, _, body = do(t, "POST", p.URL+tokensPath, key, map[string]any{"name": "admins", "expiresAt": e2eFuture, "role": role})
		e := wantError(t, fmt.Sprintf("editor creates a role %v link", role), status, body, 400, "ValidationError", "role")
		wantDetail(t, "editor creates an Admin link", e, "role")
	}
	status, _, body = do(t, "GET", p.URL+tokensPath, key, nil)
	wantStatus(t, "editor lists links", status, 200, body)
	if n := len(object(t, "list", body)["tokens"].([]any)); n != 2 {
		t.Errorf("%d links, want the 2 the editor could create", n)
	}

	// While the server holds the database, the command goes through its
	// admin socket, and the new key works at once.
	stdout, stderr, code = runBinary(t, 20*time.Second, env, "apikey", "create", "--name", "ci2")
	if code != 0 {
		t.Fatalf("apikey create while serving: exit %d: %s", code, stderr)
	}
	key2 := strings.TrimSpace(stdout)
	if !strings.HasPrefix(key2, "invited_") || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("apikey create while serving printed %q", stdout)
	}
	status, _, body = do(t, "GET", p.URL+tokensPath, key2, nil)
	wantStatus(t, "key made through the socket", status, 200, body)
	// A second server on the same data folder refuses to start, saying why.
	_, stderr, code = runBinary(t, 20*time.Second, env, "serve")
	if code == 0 || !strings.Contains(stderr, "in use") {
		t.Errorf("second serve: exit %d, stderr %q: want a refusal saying the database is in use", code, stderr)
	}
}

func TestE2EConfigErrors(t *testing.T) {
	t.Parallel()

	t.Run("unknown key in file", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		cfg := filepath.Join(dir, "invited.toml")
		if err := os.WriteFile(cfg, []byte("[server]\nlisten = \"127.0.0.1:0\"\ncolour = \"blue\"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, stderr, code := runBinary(t, 10*time.Second, serverEnv(dir), "serve", "--config", cfg)
		if code == 0 {
			t.Errorf("exit 0, want non-zero")
		}
		if !strings.Contains(stderr, "server.colour") {
			t.Errorf("stderr does not name server.colour:\n%s", stderr)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %s to refuse the config", d)
		}
	})

	t.Run("bad INVITED_MAIL_PORT", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		start := time.Now()
		_, stderr, code := runBinary(t, 10*time.Second, serverEnv(dir, "INVITED_MAIL_PORT=abc"), "serve")
		if code == 0 {
			t.Errorf("exit 0, want non-zero")
		}
		if !strings.Contains(stderr, "INVITED_MAIL_PORT") {
			t.Errorf("stderr does not name INVITED_MAIL_PORT:\n%s", stderr)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %s to refuse the config", d)
		}
	})

	t.Run("unknown INVITED_ variable", func(t *testing.T) {
		t.Parallel()
		p := startServer(t, t.TempDir(), "INVITED_FOO_BAR=1")
		warned := false
		for line := range strings.SplitSeq(p.log.String(), "\n") {
			if strings.Contains(line, "INVITED_FOO_BAR") && strings.Contains(strings.ToLower(line), "warn") {
				warned = true
			}
		}
		if !warned {
			t.Errorf("no warning names INVITED_FOO_BAR; log:\n%s", p.log.String())
		}
		status, _, body := do(t, "GET", p.URL+"/health", "", nil)
		wantStatus(t, "health", status, 200, body)
	})
}
