package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/pquerna/otp/totp"

	"invited/db"
	"invited/server/openapicheck"
)

// TestOpenAPIDocumentValid loads the embedded document with kin-openapi
// and validates it as OpenAPI 3.0.
func TestOpenAPIDocumentValid(t *testing.T) {
	ctx := context.Background()
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPIDocument())
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("openapi.json is not valid OpenAPI: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi %q, want 3.0.3", doc.OpenAPI)
	}
	for _, name := range []string{"User", "SignupToken", "Role", "Invitation", "InvitationWithToken",
		"DoiTInviteRequest", "DoiTInviteResponse", "Error", "ValidationError", "DoiTError", "APIKey",
		"APIKeyCreated", "Event", "Organization", "OutboxEmail"} {
		if doc.Components.Schemas[name] == nil {
			t.Errorf("components/schemas/%s is missing", name)
		}
	}
	for _, name := range []string{"apiKey", "session"} {
		if doc.Components.SecuritySchemes[name] == nil {
			t.Errorf("components/securitySchemes/%s is missing", name)
		}
	}
	if s := doc.Components.SecuritySchemes["session"]; s != nil && (s.Value.In != "cookie" || s.Value.Name != sessionCookie) {
		t.Errorf("the session scheme is %s %q, want the cookie %q", s.Value.In, s.Value.Name, sessionCookie)
	}
	// Response objects forbid undocumented fields, so that a field the
	// server adds (or renames) without the document fails the walk.
	for name, ref := range doc.Components.Schemas {
		s := ref.Value
		if s.Type.Is("object") && len(s.Properties) > 0 && (s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has) {
			t.Errorf("components/schemas/%s allows additional properties", name)
		}
	}
	// A copy, not the embedded bytes themselves.
	b := OpenAPIDocument()
	b[0] = 'x'
	if OpenAPIDocument()[0] == 'x' {
		t.Error("OpenAPIDocument returns the embedded bytes, which a caller could change")
	}
}

// openAPIPath turns an httprouter pattern into an OpenAPI path template.
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if strings.HasPrefix(part, ":") || strings.HasPrefix(part, "*") {
			parts[i] = "{" + part[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// TestOpenAPIRoutesMatch keeps the router and the document in step: every
// route has its operation and every operation its route, and what the
// document says about authentication, rate limits and bodies matches the
// route table.
func TestOpenAPIRoutesMatch(t *testing.T) {
	ts := mustServer(t)
	spec := openapicheck.MustLoad(OpenAPIDocument())
	doc := spec.Document()

	inRouter := map[string]route{}
	for _, rt := range ts.srv.routes() {
		key := rt.method + " " + openAPIPath(rt.path)
		if _, dup := inRouter[key]; dup {
			t.Errorf("route %s is registered twice", key)
		}
		inRouter[key] = rt
	}
	inDoc := map[string]bool{}
	for _, op := range spec.Operations() {
		inDoc[op] = true
	}
	var missing, extra []string
	for key := range inRouter {
		if !inDoc[key] {
			missing = append(missing, key)
		}
	}
	for key := range inDoc {
		if _, ok := inRouter[key]; !ok {
			extra = append(extra, key)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, key := range missing {
		t.Errorf("route %s is not in openapi.json", key)
	}
	for _, key := range extra {
		t.Errorf("openapi.json has %s, which no route serves", key)
	}

	api := map[string]bool{}
	for _, rt := range ts.srv.apiRoutes() {
		api[rt.method+" "+openAPIPath(rt.path)] = true
	}
	for key, rt := range inRouter {
		method, path, _ := strings.Cut(key, " ")
		item := doc.Paths.Value(path)
		if item == nil {
			continue
		}
		op := item.GetOperation(method)
		if op == nil {
			continue
		}
		has := func(status int) bool { return op.Responses.Status(status) != nil }
		if rt.authed != nil {
			var schemes []string
			if op.Security != nil {
				for _, req := range *op.Security {
					for name := range req {
						schemes = append(schemes, name)
					}
				}
			}
			if !slices.Contains(schemes, "apiKey") || !slices.Contains(schemes, "session") {
				t.Errorf("%s needs authentication, but its security is %v", key, schemes)
			}
			if !has(401) || !has(403) {
				t.Errorf("%s needs authentication, but does not document both 401 and 403", key)
			}
		} else if api[key] && (op.Security == nil || len(*op.Security) != 0) {
			t.Errorf("%s is public, but its security is not the empty list", key)
		}
		if rt.limiter != nil && !has(429) {
			t.Errorf("%s is rate limited, but does not document 429", key)
		}
		if api[key] && op.RequestBody != nil && (!has(400) || !has(413)) {
			t.Errorf("%s takes a JSON body, but does not document both 400 and 413", key)
		}
		if api[key] && method != "GET" && rt.path != "/health" && !has(403) {
			t.Errorf("%s changes data, so a browser's cross-site request gets 403, which it does not document", key)
		}
	}
}

// TestOpenAPICheckCatchesDrift makes sure the checker fails the answers it
// is there to catch.
func TestOpenAPICheckCatchesDrift(t *testing.T) {
	spec := openapicheck.MustLoad(OpenAPIDocument())
	jsonHeader := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	req := func(method, path string) *http.Request {
		return httptest.NewRequest(method, "http://example.test"+path, nil)
	}
	org := `{"id":"research","name":"Research","createdAt":"2030-01-01T12:00:00.000Z"}`
	loc := jsonHeader.Clone()
	loc.Set("Location", "/api/admin/organizations/research")
	if err := spec.Validate(req("POST", "/api/admin/organizations"), 201, loc, []byte(org)); err != nil {
		t.Fatalf("a good answer fails: %v", err)
	}
	bad := []struct {
		what   string
		req    *http.Request
		status int
		header http.Header
		body   string
	}{
		{"an undocumented field", req("POST", "/api/admin/organizations"), 201, loc,
			`{"id":"research","name":"Research","createdAt":"2030-01-01T12:00:00.000Z","extra":1}`},
		{"a missing field", req("POST", "/api/admin/organizations"), 201, loc, `{"id":"research","name":"Research"}`},
		{"a missing Location", req("POST", "/api/admin/organizations"), 201, jsonHeader, org},
		{"an undocumented status", req("POST", "/api/admin/organizations"), 200, jsonHeader, org},
		{"a wrong type", req("GET", "/health"), 200, jsonHeader, `{"health":true}`},
		{"a wrong content type", req("GET", "/health"), 200, http.Header{"Content-Type": {"text/plain"}}, `{"health":"GOOD"}`},
		{"a body where none is documented", req("DELETE", "/api/admin/organizations/research"), 200, jsonHeader, `{}`},
		{"a ValidationError with details of another shape", req("POST", "/api/admin/organizations"), 400, jsonHeader,
			`{"id":"9c40958a-daac-400e-98fb-3bb438567008","name":"ValidationError","message":"no","details":[{"field":"name"}]}`},
		{"an error id that is no UUID", req("POST", "/api/admin/organizations"), 400, jsonHeader,
			`{"id":"42","name":"ValidationError","message":"no"}`},
		{"a trailing slash the router does not take", req("GET", "/api/admin/user-admin/"), 200, jsonHeader,
			`{"users":[],"total":0,"limit":100,"offset":0}`},
		{"a 404 named otherwise", req("GET", "/api/admin/user-admin/9"), 404, jsonHeader,
			`{"id":"9c40958a-daac-400e-98fb-3bb438567008","name":"ValidationError","message":"no","details":[]}`},
		{"the Unleash error shape on DoiT's route", req("POST", "/api/admin/users/invite"), 400, jsonHeader,
			`{"id":"9c40958a-daac-400e-98fb-3bb438567008","name":"ValidationError","message":"no","details":[]}`},
		{"an invitation token read back", req("GET", "/v1/userInvitations/1"), 200, jsonHeader,
			`{"invitedEmail":"a@example.com","expirationTime":"2030-01-01T00:00:00.000Z","invitationUri":"http://x/invitations/abc","invitationToken":"abc","createTime":"2030-01-01T00:00:00.000Z","updateTime":"2030-01-01T00:00:00.000Z","creator":"a","updater":"a","name":"userInvitations/1","inviter":"","ttl":"604800s","disableInvitationEmail":false,"labels":[],"roleId":"3","organizationId":"default","state":"PENDING"}`},
		{"an unknown path that is not a 404", req("GET", "/no/such/path"), 200, jsonHeader, `{}`},
		{"another method that is not a 405", req("PATCH", "/v1/userInvitations/1"), 404, jsonHeader,
			`{"id":"9c40958a-daac-400e-98fb-3bb438567008","name":"NotFoundError","message":"no"}`},
	}
	for _, c := range bad {
		if err := spec.Validate(c.req, c.status, c.header, []byte(c.body)); err == nil {
			t.Errorf("%s passes the check", c.what)
		}
	}
}

// walk drives the API through an httptest server and checks every answer
// against the document, remembering which operations answered 2xx.
type walk struct {
	t      *testing.T
	base   string
	client *http.Client
	spec   *openapicheck.Checker
	ok     map[string]bool         // operations that answered 2xx
	seen   map[string]map[int]bool // operation → statuses checked
	store  *db.Store               // for the outbox states
	hasher *db.Hasher              // to make the server busy
	srv    *Server                 // for apiRoutes
}

type walkReq struct {
	auth, cookie, contentType string
	header                    map[string]string
	body                      string
}

const walkPassword = "violet-Tundra-Mosaic-47"

// newWalk starts a server as mustServerWith does, but on a store that
// queues welcome emails too, so that the outbox has something to show, and with the
// given per-minute rate limits (0: off).
func newWalk(t *testing.T, perMinute int) *walk {
	t.Helper()
	store, err := db.Open(filepath.Join(t.TempDir(), "walk.db"),
		db.Options{WelcomeEmails: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if _, err := store.EnsureAPIKey("admin", testKey); err != nil {
		t.Fatal(err)
	}
	ts := mustServerWith(t, func(o *Options) {
		o.Store = store
		o.BaseURL = "http://example.test"
		o.Logger = slog.New(slog.DiscardHandler)
		o.PublicPerMinute = perMinute
		o.AuthPerMinute = perMinute
	})
	client := &http.Client{
		Transport:     ts.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
	return &walk{t: t, base: ts.URL, client: client, spec: openapicheck.MustLoad(OpenAPIDocument()),
		ok: map[string]bool{}, seen: map[string]map[int]bool{},
		store: ts.srv.store, hasher: ts.hasher, srv: ts.srv}
}

// do sends a request, wants the status, checks the answer against the
// document, and returns the header, the body and the body as a JSON
// object when it is one.
func (w *walk) do(want int, method, path string, r walkReq) (http.Header, []byte, map[string]any) {
	w.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(method, w.base+path, body)
	if err != nil {
		w.t.Fatal(err)
	}
	if r.body != "" {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if r.auth != "" {
		req.Header.Set("Authorization", r.auth)
	}
	if r.cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: r.cookie})
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s: %v", method, path, err)
	}
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		w.t.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	if resp.StatusCode != want {
		w.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if err := w.spec.Validate(req, resp.StatusCode, resp.Header, raw); err != nil {
		w.t.Errorf("the answer does not match openapi.json: %v", err)
	}
	if op, ok := w.spec.Operation(req); ok {
		if w.seen[op] == nil {
			w.seen[op] = map[int]bool{}
		}
		w.seen[op][resp.StatusCode] = true
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			w.ok[op] = true
		}
	}
	var obj map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(raw, &obj)
	}
	return resp.Header, raw, obj
}

func admin(body string) walkReq { return walkReq{auth: "Bearer " + testKey, body: body} }

// login logs a user in through the API and returns the session cookie.
func (w *walk) login(username string) string {
	w.t.Helper()
	h, _, _ := w.do(200, "POST", "/auth/simple/login", walkReq{
		body: fmt.Sprintf(`{"username":%q,"password":%q}`, username, walkPassword)})
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			return c.Value
		}
	}
	w.t.Fatalf("login of %s set no %s cookie", username, sessionCookie)
	return ""
}

// TestOpenAPIWalk walks through the whole API, each answer checked
// against openapi.json, and fails when an API operation went unchecked.
func TestOpenAPIWalk(t *testing.T) {
	w := newWalk(t, 0)
	str := func(m map[string]any, k string) string {
		t.Helper()
		s, ok := m[k].(string)
		if !ok {
			t.Fatalf("%q is not a string in %v", k, m)
		}
		return s
	}
	num := func(m map[string]any, k string) string {
		t.Helper()
		f, ok := m[k].(float64)
		if !ok {
			t.Fatalf("%q is not a number in %v", k, m)
		}
		return fmt.Sprint(int64(f))
	}

	// Operations and documentation.
	w.do(200, "GET", "/health", walkReq{})
	w.do(200, "GET", "/metrics", walkReq{})
	_, raw, _ := w.do(200, "GET", "/docs/openapi.json", walkReq{})
	if string(raw) != string(openAPIDocument) {
		t.Error("GET /docs/openapi.json does not serve the embedded document")
	}

	// Errors any route may give.
	w.do(401, "GET", "/api/admin/invite-link/tokens", walkReq{})
	w.do(401, "GET", "/api/admin/invite-link/tokens", walkReq{auth: "Bearer not-a-key-at-all-0123456789"})
	w.do(404, "GET", "/no/such/path", walkReq{})
	w.do(405, "DELETE", "/api/admin/invite-link/tokens", admin(""))
	w.do(405, "PATCH", "/v1/userInvitations/1", admin(""))

	// Signup links.
	w.do(200, "GET", "/api/admin/invite-link/tokens", admin(""))
	h, _, link := w.do(201, "POST", "/api/admin/invite-link/tokens", admin(
		`{"name":"editors","expiresAt":"2099-01-01T00:00:00Z","role":"Editor","maxUses":5,"allowedDomains":["example.com"]}`))
	secret := str(link, "secret")
	if h.Get("Location") != "/api/admin/invite-link/tokens/"+secret {
		t.Errorf("Location %q", h.Get("Location"))
	}
	_, _, link2 := w.do(201, "POST", "/api/admin/invite-link/tokens", admin(`{"name":"viewers","expiresAt":"2099-01-01T00:00:00.5Z"}`))
	secret2 := str(link2, "secret")
	w.do(400, "POST", "/api/admin/invite-link/tokens", admin(`{"name":"old","expiresAt":"2001-01-01T00:00:00Z"}`))
	w.do(400, "POST", "/api/admin/invite-link/tokens", admin(`{"name":"x","expiresAt":"2099-01-01T00:00:00Z","colour":"red"}`))
	w.do(400, "POST", "/api/admin/invite-link/tokens", walkReq{auth: "Bearer " + testKey, contentType: "text/plain", body: "hello"})
	w.do(413, "POST", "/api/admin/invite-link/tokens", admin(`{"name":"`+strings.Repeat("x", MaxBodyBytes)+`"}`))
	w.do(200, "GET", "/api/admin/invite-link/tokens/"+secret, admin(""))
	w.do(404, "GET", "/api/admin/invite-link/tokens/0123456789abcdef0123456789abcdef", admin(""))
	w.do(200, "PUT", "/api/admin/invite-link/tokens/"+secret2, admin(`{"enabled":false}`))
	w.do(400, "GET", "/invite/"+secret2+"/validate", walkReq{})
	w.do(200, "PUT", "/api/admin/invite-link/tokens/"+secret2, admin(`{"enabled":true,"expiresAt":"2098-01-01T00:00:00Z"}`))
	w.do(400, "PUT", "/api/admin/invite-link/tokens/"+secret2, admin(`{}`))
	w.do(404, "PUT", "/api/admin/invite-link/tokens/0123456789abcdef0123456789abcdef", admin(`{"enabled":true}`))
	_, _, link3 := w.do(201, "POST", "/api/admin/invite-link/tokens", admin(`{"name":"short-lived","expiresAt":"2099-01-01T00:00:00Z"}`))
	secret3, _ := link3["secret"].(string)
	w.do(200, "PUT", "/api/admin/invite-link/tokens/"+secret3, admin(`{"name":"renamed","role":2,"maxUses":5,"allowedDomains":["example.com"]}`))
	w.do(200, "DELETE", "/api/admin/invite-link/tokens/"+secret3, admin(""))
	w.do(404, "DELETE", "/api/admin/invite-link/tokens/"+secret3, admin(""))
	w.do(200, "GET", "/invite/"+secret+"/validate", walkReq{})
	w.do(400, "GET", "/invite/0123456789abcdef0123456789abcdef/validate", walkReq{})

	// Signups.
	signup := func(email, username string) string {
		return fmt.Sprintf(`{"email":%q,"name":"Walk %s","username":%q,"password":%q}`, email, username, username, walkPassword)
	}
	_, _, editor := w.do(200, "POST", "/invite/"+secret+"/signup", walkReq{body: signup("ed@example.com", "ed")})
	_, _, viewer := w.do(200, "POST", "/invite/"+secret2+"/signup", walkReq{body: signup("vi@example.org", "vi")})
	w.do(409, "POST", "/invite/"+secret2+"/signup", walkReq{body: signup("ED@example.com", "other")})
	w.do(409, "POST", "/invite/"+secret2+"/signup", walkReq{body: signup("new@example.org", "vi")})
	w.do(400, "POST", "/invite/"+secret+"/signup", walkReq{body: signup("x@elsewhere.org", "x")})
	w.do(400, "POST", "/invite/"+secret2+"/signup", walkReq{body: `{"email":"weak@example.org","name":"W","password":"password"}`})
	w.do(400, "POST", "/invite/"+secret2+"/signup", walkReq{body: `{"email":"not an email","name":"W","password":"` + walkPassword + `"}`})
	w.do(400, "POST", "/invite/0123456789abcdef0123456789abcdef/signup", walkReq{body: signup("z@example.org", "z")})
	w.do(403, "POST", "/invite/"+secret2+"/signup", walkReq{body: signup("csrf@example.org", "csrf"),
		header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"}})
	// A server busy hashing answers 503 with Retry-After.
	holding, release := make(chan struct{}), make(chan struct{})
	go holdSlot(w.hasher, holding, release)
	<-holding
	w.do(503, "POST", "/invite/"+secret2+"/signup", walkReq{body: signup("busy@example.org", "busy")})
	close(release)

	// ed joined through a link limited to example.com, so its address is
	// to be verified (auth.verify_email's default): the right password is
	// a 403 until the emailed link is opened.
	if editor["emailVerified"] != false || viewer["emailVerified"] != true {
		t.Errorf("emailVerified: ed %v, vi %v; want false, true", editor["emailVerified"], viewer["emailVerified"])
	}
	w.do(403, "POST", "/auth/simple/login", walkReq{body: `{"username":"ed","password":"` + walkPassword + `"}`})
	w.do(403, "POST", "/login", walkReq{contentType: "application/x-www-form-urlencoded", body: "username=ed&password=" + walkPassword})
	edSecret, _, _, err := w.store.IssueEmailVerification(uint64(editor["id"].(float64)))
	if err != nil {
		t.Fatal(err)
	}
	w.do(200, "GET", "/verify-email/"+edSecret, walkReq{})
	_, _, unverified := w.do(200, "POST", "/invite/"+secret+"/signup", walkReq{body: signup("uv@example.com", "uv")})
	w.do(200, "POST", "/api/admin/user-admin/"+num(unverified, "id")+"/verify-email", admin(""))
	w.do(400, "POST", "/api/admin/user-admin/"+num(unverified, "id")+"/verify-email", admin(`{"x":1}`))
	w.do(404, "POST", "/api/admin/user-admin/999/verify-email", admin(""))
	w.do(404, "GET", "/verify-email/"+edSecret, walkReq{})

	// A link that requires approval: the signup is a 200 with
	// pendingApproval, the right password a 403 until an Admin approves;
	// reject only takes a waiting user.
	_, _, approval := w.do(201, "POST", "/api/admin/invite-link/tokens", admin(`{"name":"approval","expiresAt":"2099-01-01T00:00:00Z","requireApproval":true}`))
	_, _, waiting := w.do(200, "POST", "/invite/"+str(approval, "secret")+"/signup", walkReq{body: signup("wait@example.org", "wait")})
	if waiting["pendingApproval"] != true {
		t.Errorf("pendingApproval after an approval link's signup: %v", waiting["pendingApproval"])
	}
	w.do(403, "POST", "/auth/simple/login", walkReq{body: `{"username":"wait","password":"` + walkPassword + `"}`})
	w.do(403, "POST", "/login", walkReq{contentType: "application/x-www-form-urlencoded", body: "username=wait&password=" + walkPassword})
	w.do(400, "POST", "/api/admin/user-admin/"+num(waiting, "id")+"/approve", admin(`{"x":1}`))
	w.do(404, "POST", "/api/admin/user-admin/999/approve", admin(""))
	w.do(200, "POST", "/api/admin/user-admin/"+num(waiting, "id")+"/approve", admin(""))
	w.do(400, "POST", "/api/admin/user-admin/"+num(waiting, "id")+"/approve", admin(""))
	w.do(400, "POST", "/api/admin/user-admin/"+num(waiting, "id")+"/reject", admin(""))
	_, _, turned := w.do(200, "POST", "/invite/"+str(approval, "secret")+"/signup", walkReq{body: signup("away@example.org", "away")})
	w.do(404, "POST", "/api/admin/user-admin/999/reject", admin(""))
	w.do(200, "POST", "/api/admin/user-admin/"+num(turned, "id")+"/reject", admin("{}"))
	w.do(404, "POST", "/api/admin/user-admin/"+num(turned, "id")+"/reject", admin(""))

	// Sessions.
	w.do(400, "POST", "/auth/simple/login", walkReq{body: `{"username":"ed"}`})
	w.do(401, "POST", "/auth/simple/login", walkReq{body: `{"username":"ed","password":"wrong-Password-123"}`})
	w.do(401, "POST", "/auth/simple/login", walkReq{body: `{"username":"nobody","password":"wrong-Password-123"}`})
	edCookie := w.login("ed")
	viCookie := w.login("VI@example.org")
	w.do(200, "GET", "/api/admin/user", walkReq{cookie: edCookie})
	w.do(200, "GET", "/api/admin/user", walkReq{cookie: viCookie})
	w.do(404, "GET", "/api/admin/user", admin(""))
	w.do(401, "GET", "/api/admin/user", walkReq{cookie: "not-a-session"})
	w.do(403, "GET", "/api/admin/user-admin", walkReq{cookie: edCookie})
	w.do(403, "GET", "/api/admin/invite-link/tokens", walkReq{cookie: viCookie})
	w.do(200, "GET", "/api/admin/invite-link/tokens", walkReq{cookie: edCookie})

	// Users.
	edID, viID := num(editor, "id"), num(viewer, "id")
	w.do(200, "GET", "/api/admin/user-admin", admin(""))
	w.do(200, "GET", "/api/admin/user-admin?limit=1&offset=1", admin(""))
	w.do(400, "GET", "/api/admin/user-admin?limit=0", admin(""))
	w.do(200, "GET", "/api/admin/user-admin/"+edID, admin(""))
	w.do(404, "GET", "/api/admin/user-admin/999", admin(""))
	w.do(404, "GET", "/api/admin/user-admin/abc", admin(""))
	w.do(200, "PUT", "/api/admin/user-admin/"+viID, admin(`{"name":"Vi Walker","rootRole":3}`))
	w.do(409, "PUT", "/api/admin/user-admin/"+viID, admin(`{"email":"ed@example.com"}`))
	w.do(400, "PUT", "/api/admin/user-admin/"+viID, admin(`{"rootRole":"Owner"}`))
	w.do(404, "PUT", "/api/admin/user-admin/999", admin(`{"name":"x"}`))
	w.do(401, "POST", "/auth/simple/login", walkReq{body: `{"username":"vi","password":"wrong-Password-123"}`})
	w.do(200, "POST", "/api/admin/user-admin/"+viID+"/unlock", admin(""))
	w.do(404, "POST", "/api/admin/user-admin/999/unlock", admin(""))

	// Second factors (DESIGN §11): vi's role must have one, so the login
	// sets an authenticator app up; then it asks for a code, and an admin
	// clears it. (The walk's store runs on the real clock.)
	w.srv.accounts.RequireSecondFactor = []db.Role{db.RoleViewer}
	_, _, pending := w.do(401, "POST", "/auth/simple/login", walkReq{body: `{"username":"vi","password":"` + walkPassword + `"}`})
	cont := str(pending, "continuation")
	w.do(400, "POST", "/auth/simple/login/second-factor/setup", walkReq{body: `{"continuation":1}`})
	w.do(401, "POST", "/auth/simple/login/second-factor/setup", walkReq{body: `{"continuation":"nope"}`})
	_, _, setup := w.do(200, "POST", "/auth/simple/login/second-factor/setup", walkReq{body: `{"continuation":"` + cont + `"}`})
	code, err := totp.GenerateCode(str(setup, "secret"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, _, done := w.do(200, "POST", "/auth/simple/login/second-factor", walkReq{body: `{"continuation":"` + cont + `","code":"` + code + `"}`})
	recovery, _ := done["recoveryCodes"].([]any)
	if len(recovery) != db.RecoveryCodeCount {
		t.Fatalf("a login that set up TOTP gave recovery codes %v", done["recoveryCodes"])
	}
	w.srv.accounts.RequireSecondFactor = nil
	_, _, pending = w.do(401, "POST", "/auth/simple/login", walkReq{body: `{"username":"vi","password":"` + walkPassword + `"}`})
	cont = str(pending, "continuation")
	w.do(400, "POST", "/auth/simple/login/second-factor", walkReq{body: `{"continuation":"` + cont + `","code":123456}`})
	w.do(400, "POST", "/auth/simple/login/second-factor", walkReq{body: `{"continuation":"` + cont + `"}`})
	w.do(401, "POST", "/auth/simple/login/second-factor", walkReq{body: `{"continuation":"` + cont + `","code":"abcdefghijkl"}`})
	w.do(400, "POST", "/auth/simple/login/second-factor/setup", walkReq{body: `{"continuation":"` + cont + `"}`})
	w.do(200, "POST", "/auth/simple/login/second-factor", walkReq{body: `{"continuation":"` + cont + `","code":"` + recovery[0].(string) + `"}`})
	w.do(403, "DELETE", "/api/admin/user-admin/"+viID+"/second-factors", walkReq{cookie: edCookie})
	w.do(404, "DELETE", "/api/admin/user-admin/999/second-factors", admin(""))
	w.do(200, "DELETE", "/api/admin/user-admin/"+viID+"/second-factors", admin(""))
	w.login("vi")
	w.do(200, "GET", "/api/admin/roles", admin(""))
	w.do(200, "GET", "/api/admin/roles", walkReq{cookie: edCookie})

	// SSH keys (DESIGN §13): an Editor's own, by the Editor and an Admin.
	sshKeys := "/api/admin/user-admin/" + edID + "/ssh-keys"
	sshLine := newSSHKeyLine(t)
	_, _, sshKey := w.do(201, "POST", sshKeys, walkReq{cookie: edCookie, body: fmt.Sprintf(`{"name":"laptop","key":%q}`, sshLine)})
	w.do(409, "POST", sshKeys, admin(fmt.Sprintf(`{"name":"again","key":%q}`, sshLine)))
	w.do(400, "POST", sshKeys, admin(`{"name":"bad","key":"ssh-ed25519 AAAA"}`))
	w.do(403, "POST", "/api/admin/user-admin/"+viID+"/ssh-keys", walkReq{cookie: edCookie, body: fmt.Sprintf(`{"key":%q}`, newSSHKeyLine(t))})
	w.do(404, "POST", "/api/admin/user-admin/999/ssh-keys", admin(fmt.Sprintf(`{"key":%q}`, newSSHKeyLine(t))))
	w.do(200, "GET", sshKeys, walkReq{cookie: edCookie})
	w.do(200, "GET", sshKeys, admin(""))
	w.do(404, "GET", "/api/admin/user-admin/999/ssh-keys", admin(""))
	w.do(404, "DELETE", sshKeys+"/999", admin(""))
	w.do(204, "DELETE", sshKeys+"/"+num(sshKey, "id"), admin(""))

	// API keys.
	w.do(200, "GET", "/api/admin/api-tokens", admin(""))
	_, _, key := w.do(201, "POST", "/api/admin/api-tokens", admin(`{"name":"deploy","role":"editor"}`))
	w.do(409, "POST", "/api/admin/api-tokens", admin(`{"name":"deploy","role":"editor"}`))
	w.do(400, "POST", "/api/admin/api-tokens", admin(`{"name":"norole"}`))
	w.do(200, "GET", "/api/admin/roles", walkReq{auth: str(key, "secret")})
	w.do(200, "GET", "/api/admin/api-tokens", admin(""))
	w.do(200, "DELETE", "/api/admin/api-tokens/"+num(key, "id"), admin(""))
	w.do(404, "DELETE", "/api/admin/api-tokens/"+num(key, "id"), admin(""))
	w.do(401, "GET", "/api/admin/roles", walkReq{auth: str(key, "secret")})

	// Organizations.
	w.do(200, "GET", "/api/admin/organizations", walkReq{cookie: edCookie})
	h, _, _ = w.do(201, "POST", "/api/admin/organizations", admin(`{"name":"Research Lab"}`))
	if h.Get("Location") != "/api/admin/organizations/research-lab" {
		t.Errorf("organization Location %q", h.Get("Location"))
	}
	w.do(201, "POST", "/api/admin/organizations", admin(`{"id":"temp","name":"Temporary"}`))
	w.do(409, "POST", "/api/admin/organizations", admin(`{"id":"temp","name":"Again"}`))
	w.do(400, "POST", "/api/admin/organizations", admin(`{"id":"Not An Id","name":"Bad"}`))
	w.do(403, "POST", "/api/admin/organizations", walkReq{cookie: edCookie, body: `{"name":"Editors may not"}`})
	w.do(200, "GET", "/api/admin/organizations", admin(""))
	w.do(200, "DELETE", "/api/admin/organizations/temp", admin(""))
	w.do(404, "DELETE", "/api/admin/organizations/temp", admin(""))
	w.do(400, "DELETE", "/api/admin/organizations/default", admin(""))

	// Groups, and on users, links and invitations.
	h, _, _ = w.do(201, "POST", "/api/admin/groups", admin(`{"name":"Grafana Users","description":"dashboards"}`))
	if h.Get("Location") != "/api/admin/groups/grafana-users" {
		t.Errorf("group Location %q", h.Get("Location"))
	}
	w.do(201, "POST", "/api/admin/groups", admin(`{"id":"temp","name":"Temporary"}`))
	w.do(409, "POST", "/api/admin/groups", admin(`{"id":"temp","name":"Again"}`))
	w.do(400, "POST", "/api/admin/groups", admin(`{"id":"Not An Id","name":"Bad"}`))
	w.do(403, "POST", "/api/admin/groups", walkReq{cookie: edCookie, body: `{"name":"Editors may not"}`})
	w.do(403, "GET", "/api/admin/groups", walkReq{cookie: edCookie})
	w.do(200, "GET", "/api/admin/groups", admin(""))
	w.do(200, "GET", "/api/admin/groups/grafana-users", admin(""))
	w.do(404, "GET", "/api/admin/groups/nope", admin(""))
	w.do(200, "PUT", "/api/admin/groups/grafana-users", admin(`{"description":"dashboards and alerts"}`))
	w.do(400, "PUT", "/api/admin/groups/grafana-users", admin(`{}`))
	w.do(404, "PUT", "/api/admin/groups/nope", admin(`{"name":"x"}`))
	_, _, grouped := w.do(200, "PUT", "/api/admin/user-admin/"+edID, admin(`{"groups":["grafana-users"]}`))
	if g, _ := grouped["groups"].([]any); len(g) != 1 || g[0] != "grafana-users" {
		t.Errorf("the user's groups are %v", grouped["groups"])
	}
	w.do(400, "PUT", "/api/admin/user-admin/"+edID, admin(`{"groups":["grafana-users","nope"]}`))
	w.do(201, "POST", "/api/admin/invite-link/tokens", admin(`{"name":"grafana","expiresAt":"2099-01-01T00:00:00Z","groups":["grafana-users","temp"]}`))
	w.do(201, "POST", "/api/admin/invite-link/tokens", walkReq{cookie: edCookie, body: `{"name":"mine","expiresAt":"2099-01-01T00:00:00Z","groups":["grafana-users"]}`})
	w.do(400, "POST", "/api/admin/invite-link/tokens", walkReq{cookie: edCookie, body: `{"name":"not mine","expiresAt":"2099-01-01T00:00:00Z","groups":["temp"]}`})
	w.do(200, "POST", "/v1/userInvitations", admin(`{"invitedEmail":"grouped@example.com","inviter":"Ada","disableInvitationEmail":true,"groups":["temp"]}`))
	w.do(201, "POST", "/api/admin/users/invite", admin(`{"email":"doit-grouped@example.com","groups":["grafana-users"]}`))
	w.do(201, "POST", "/api/admin/groups", admin(`{"id":"sole","name":"Sole"}`))

	// Webhooks (DESIGN §12): the secret only in the 201; a change queues
	// a delivery the log shows (no worker runs here, so it stays pending).
	h, _, hook := w.do(201, "POST", "/api/admin/webhooks", admin(`{"url":"https://hooks.example.com/in","events":["user.updated","user.deleted"],"description":"HR"}`))
	hookID := num(hook, "id")
	if !strings.HasPrefix(str(hook, "secret"), "whsec_") || h.Get("Location") != "/api/admin/webhooks/"+hookID {
		t.Errorf("webhook answer %v, Location %q", hook, h.Get("Location"))
	}
	w.do(400, "POST", "/api/admin/webhooks", admin(`{"url":"ftp://x.example.com","events":["user.created"]}`))
	w.do(400, "POST", "/api/admin/webhooks", admin(`{"url":"https://x.example.com","events":["user.exploded"]}`))
	w.do(403, "POST", "/api/admin/webhooks", walkReq{cookie: edCookie, body: `{"url":"https://x.example.com","events":["user.created"]}`})
	_, _, hooks := w.do(200, "GET", "/api/admin/webhooks", admin(""))
	if strings.Contains(fmt.Sprint(hooks), "whsec_") {
		t.Errorf("the list shows a secret: %v", hooks)
	}
	w.do(200, "PUT", "/api/admin/user-admin/"+edID, admin(`{"name":"Ed Hooked"}`))
	_, _, log := w.do(200, "GET", "/api/admin/webhooks/"+hookID+"/deliveries?limit=10", admin(""))
	if d, _ := log["deliveries"].([]any); len(d) != 1 {
		t.Errorf("deliveries %v, want the one user.updated", log)
	}
	w.do(400, "GET", "/api/admin/webhooks/"+hookID+"/deliveries?limit=0", admin(""))
	w.do(404, "GET", "/api/admin/webhooks/999/deliveries", admin(""))
	_, _, temp := w.do(201, "POST", "/api/admin/webhooks", admin(`{"url":"http://10.0.0.1:8080/x","events":["user.created"]}`))
	w.do(200, "DELETE", "/api/admin/webhooks/"+num(temp, "id"), admin(""))
	w.do(404, "DELETE", "/api/admin/webhooks/"+num(temp, "id"), admin(""))

	// Apps (DESIGN §9).
	h, _, app := w.do(201, "POST", "/api/admin/apps", admin(`{"name":"Grafana","url":"https://grafana.example.com","groups":["grafana-users","temp"],"domains":["Grafana.Example.com","*.tools.example.com"]}`))
	if h.Get("Location") != "/api/admin/apps/grafana" || str(app, "kind") != "proxy" {
		t.Errorf("app Location %q, answer %v", h.Get("Location"), app)
	}
	w.do(201, "POST", "/api/admin/apps", admin(`{"id":"wiki","name":"Wiki","url":"http://wiki.example.com:8080/","domains":["wiki.tools.example.com"]}`))
	w.do(201, "POST", "/api/admin/apps", admin(`{"id":"solo","name":"Solo","url":"https://solo.example.com","groups":["sole"],"domains":["solo.example.com"]}`))
	w.do(409, "POST", "/api/admin/apps", admin(`{"name":"Again","url":"https://a.example.com","domains":["grafana.example.com"]}`))
	w.do(409, "POST", "/api/admin/apps", admin(`{"id":"wiki","name":"Wiki","url":"https://a.example.com","domains":["a.example.com"]}`))
	w.do(400, "POST", "/api/admin/apps", admin(`{"name":"Bad","url":"https://a.example.com","domains":["a.example.com:8080"],"groups":["nope"]}`))
	w.do(403, "POST", "/api/admin/apps", walkReq{cookie: edCookie, body: `{"name":"Editors may not","url":"https://a.example.com","domains":["a.example.com"]}`})
	w.do(403, "GET", "/api/admin/apps", walkReq{cookie: edCookie})
	w.do(200, "GET", "/api/admin/apps", admin(""))
	w.do(200, "GET", "/api/admin/apps/grafana", admin(""))
	w.do(404, "GET", "/api/admin/apps/nope", admin(""))
	w.do(200, "PUT", "/api/admin/apps/grafana", admin(`{"groups":[],"url":"https://grafana.example.com/d/"}`))
	w.do(409, "PUT", "/api/admin/apps/wiki", admin(`{"domains":["*.tools.example.com"]}`))
	w.do(400, "PUT", "/api/admin/apps/grafana", admin(`{}`))
	w.do(404, "PUT", "/api/admin/apps/nope", admin(`{"name":"x"}`))
	w.do(200, "DELETE", "/api/admin/apps/wiki", admin(""))
	w.do(404, "DELETE", "/api/admin/apps/wiki", admin(""))
	// oidc apps (DESIGN §10): the secret in the 201 and the rotation only.
	_, _, oidc := w.do(201, "POST", "/api/admin/apps", admin(`{"id":"notes","name":"Notes","url":"https://notes.example.com","kind":"oidc","redirectUris":["https://notes.example.com/cb"]}`))
	if str(oidc, "clientSecret") == "" || str(oidc, "clientId") == "" {
		t.Errorf("oidc create answer %v lacks clientId or clientSecret", oidc)
	}
	w.do(201, "POST", "/api/admin/apps", admin(`{"id":"cli","name":"CLI","url":"https://cli.example.com","kind":"oidc","public":true,"redirectUris":["http://127.0.0.1:9000/cb"]}`))
	w.do(400, "POST", "/api/admin/apps", admin(`{"name":"Both","url":"https://b.example.com","kind":"oidc","redirectUris":["https://b.example.com/cb"],"domains":["b.example.com"]}`))
	w.do(200, "GET", "/api/admin/apps/notes", admin(""))
	w.do(200, "PUT", "/api/admin/apps/notes", admin(`{"redirectUris":["https://notes.example.com/cb","http://localhost:8000/cb"]}`))
	w.do(400, "PUT", "/api/admin/apps/notes", admin(`{"public":true}`))
	w.do(200, "POST", "/api/admin/apps/notes/secret", admin(""))
	w.do(400, "POST", "/api/admin/apps/cli/secret", admin(""))
	w.do(404, "POST", "/api/admin/apps/nope/secret", admin(""))
	w.do(403, "POST", "/api/admin/apps/notes/secret", walkReq{cookie: edCookie})
	w.do(409, "DELETE", "/api/admin/groups/sole", admin(""))

	// The forward-auth gate (DESIGN §9), as a proxy calls it.
	fwd := func(cookie, host, accept, method string) walkReq {
		return walkReq{cookie: cookie, header: map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": host,
			"X-Forwarded-Uri": "/d/x?a=1", "X-Forwarded-Method": method, "Accept": accept}}
	}
	orig := func(cookie, rawURL string) walkReq {
		return walkReq{cookie: cookie, header: map[string]string{"X-Original-URL": rawURL, "X-Original-Method": "GET"}}
	}
	for _, m := range []string{"GET", "HEAD"} {
		w.do(200, m, "/api/authz/forward-auth", fwd(edCookie, "grafana.example.com", "", "GET"))
		w.do(200, m, "/api/authz/auth-request", orig(edCookie, "https://grafana.example.com/d/x"))
		w.do(302, m, "/api/authz/forward-auth", fwd("", "grafana.example.com", "text/html", "GET"))
		w.do(303, m, "/api/authz/forward-auth", fwd("", "grafana.example.com", "text/html", "POST"))
		w.do(401, m, "/api/authz/forward-auth", fwd("", "grafana.example.com", "application/json", "GET"))
		w.do(401, m, "/api/authz/auth-request", orig("", "https://grafana.example.com/d/x"))
		w.do(403, m, "/api/authz/forward-auth", fwd(edCookie, "solo.example.com", "", "GET"))
		w.do(403, m, "/api/authz/auth-request", orig(edCookie, "https://unknown.example.com/"))
	}

	w.do(200, "DELETE", "/api/admin/groups/temp", admin(""))
	w.do(404, "DELETE", "/api/admin/groups/temp", admin(""))

	// Invitations (Confidence).
	w.do(200, "GET", "/v1/userInvitations", admin(""))
	w.do(400, "POST", "/v1/userInvitations", admin(`{"invitedEmail":"grace@example.com"}`)) // an API key must name the inviter
	_, _, inv := w.do(200, "POST", "/v1/userInvitations", admin(
		`{"invitedEmail":"grace@example.com","inviter":"Ada","ttl":"172800s","labels":[{"key":"team","value":"compilers"}],"roleId":"2","organizationId":"research-lab"}`))
	invID := strings.TrimPrefix(str(inv, "name"), "userInvitations/")
	w.do(409, "POST", "/v1/userInvitations", admin(`{"invitedEmail":"Grace@example.com","inviter":"Ada"}`))
	w.do(409, "POST", "/v1/userInvitations", admin(`{"invitedEmail":"ed@example.com","inviter":"Ada"}`))
	w.do(400, "POST", "/v1/userInvitations", admin(`{"invitedEmail":"x@example.com","inviter":"Ada","organizationId":"nope"}`))
	w.do(400, "POST", "/v1/userInvitations", admin(`{"invitedEmail":"x@example.com","inviter":"Ada","ttl":"soon"}`))
	// A batch: every status, and the whole-batch refusals.
	w.do(200, "POST", "/api/admin/invitation-batches", admin(
		`{"inviter":"Ada","ttl":"86400s","invitations":[{"email":"batch1@example.com","roleId":"2"},{"email":"grace@example.com"},{"email":"ed@example.com"},{"email":"nope"}]}`))
	w.do(400, "POST", "/api/admin/invitation-batches", admin(`{"inviter":"Ada","invitations":[]}`))
	w.do(400, "POST", "/api/admin/invitation-batches", admin(`{"inviter":"Ada","invitations":[{"email":"x@example.com"}],"ttl":"soon"}`))
	_, _, inv2 := w.do(200, "POST", "/v1/userInvitations", walkReq{cookie: edCookie,
		body: `{"invitedEmail":"linus@example.com","expirationTime":"` + time.Now().Add(30*24*time.Hour).UTC().Format(time.RFC3339) + `","disableInvitationEmail":true}`})
	inv2ID := strings.TrimPrefix(str(inv2, "name"), "userInvitations/")
	_, _, page := w.do(200, "GET", "/v1/userInvitations?pageSize=1", admin(""))
	w.do(200, "GET", "/v1/userInvitations?pageSize=1&pageToken="+url.QueryEscape(str(page, "nextPageToken")), admin(""))
	w.do(200, "GET", "/v1/userInvitations?state=pending", admin(""))
	w.do(400, "GET", "/v1/userInvitations?pageSize=0", admin(""))
	w.do(400, "GET", "/v1/userInvitations?pageToken=bogus", admin(""))
	w.do(200, "GET", "/v1/userInvitations/"+invID, admin(""))
	w.do(404, "GET", "/v1/userInvitations/999", admin(""))
	oldToken := str(inv, "invitationToken")
	_, _, resent := w.do(200, "POST", "/v1/userInvitations/"+invID+"/resend", admin(""))
	token := str(resent, "invitationToken")
	w.do(404, "POST", "/v1/userInvitations/999/resend", admin(""))
	w.do(404, "POST", "/invitations/"+oldToken+"/accept", walkReq{body: `{"name":"Grace","password":"` + walkPassword + `"}`})
	w.do(400, "POST", "/invitations/"+token+"/accept", walkReq{body: `{"name":"Grace","password":"short"}`})
	w.do(409, "POST", "/invitations/"+token+"/accept", walkReq{body: `{"name":"Grace","username":"ed","password":"` + walkPassword + `"}`})
	w.do(200, "POST", "/invitations/"+token+"/accept", walkReq{body: `{"name":"Grace Hopper","username":"grace","password":"` + walkPassword + `"}`})
	w.do(400, "POST", "/invitations/"+token+"/accept", walkReq{body: `{"name":"Grace","password":"` + walkPassword + `"}`})
	w.do(400, "DELETE", "/v1/userInvitations/"+invID, admin(""))
	w.do(400, "POST", "/v1/userInvitations/"+invID+"/resend", admin(""))
	w.do(200, "DELETE", "/v1/userInvitations/"+inv2ID, admin(""))
	w.do(200, "DELETE", "/v1/userInvitations/"+inv2ID, admin(""))
	w.do(404, "DELETE", "/v1/userInvitations/999", admin(""))
	w.do(403, "GET", "/v1/userInvitations", walkReq{cookie: viCookie})

	// Invitations (DoiT).
	_, _, doit := w.do(201, "POST", "/api/admin/users/invite", admin(`{"email":"ken@example.com","roleId":"2","organizationId":"default"}`))
	if u, _ := doit["user"].(map[string]any); u == nil || u["status"] != "invited" {
		t.Errorf("DoiT answer %v", doit)
	}
	w.do(201, "POST", "/api/admin/users/invite", walkReq{cookie: edCookie, body: `{"email":"dennis@example.com"}`})
	w.do(400, "POST", "/api/admin/users/invite", admin(`{"email":"not an email"}`))
	w.do(400, "POST", "/api/admin/users/invite", admin(`{"email":"x@example.com","roleId":"Owner"}`))
	w.do(400, "POST", "/api/admin/users/invite", admin(`{"email":"x@example.com","role":"2"}`))
	w.do(409, "POST", "/api/admin/users/invite", admin(`{"email":"ken@example.com"}`))
	w.do(401, "POST", "/api/admin/users/invite", walkReq{body: `{"email":"x@example.com"}`})
	w.do(401, "POST", "/api/admin/users/invite", walkReq{auth: "Bearer wrong-key-0123456789abcdef", body: `{"email":"x@example.com"}`})
	w.do(403, "POST", "/api/admin/users/invite", walkReq{cookie: viCookie, body: `{"email":"x@example.com"}`})
	w.do(403, "POST", "/api/admin/users/invite", walkReq{auth: "Bearer " + testKey, body: `{"email":"x@example.com"}`,
		header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.test"}})
	w.do(413, "POST", "/api/admin/users/invite", admin(`{"email":"`+strings.Repeat("x", MaxBodyBytes)+`"}`))

	// The audit log and the outbox, with an email sent and one failed.
	due, err := w.store.DueEmails(time.Now().Add(time.Hour), 10)
	if err != nil || len(due) < 2 {
		t.Fatalf("due emails: %d, %v", len(due), err)
	}
	if err := w.store.MarkEmailSent(due[0].ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := w.store.MarkEmailAttemptFailed(due[1].ID, "550 no such mailbox", time.Now(), true); err != nil {
		t.Fatal(err)
	}
	_, _, outbox := w.do(200, "GET", "/api/admin/emails", admin(""))
	states := map[any]bool{}
	for _, e := range outbox["emails"].([]any) {
		states[e.(map[string]any)["state"]] = true
	}
	if !states["pending"] || !states["sent"] || !states["failed"] {
		t.Errorf("the outbox shows the states %v; the walk wants pending, sent and failed emails checked", states)
	}
	w.do(200, "GET", "/api/admin/emails?limit=2&offset=1", admin(""))
	w.do(400, "GET", "/api/admin/emails?offset=-1", admin(""))
	w.do(200, "GET", "/api/admin/events", admin(""))
	w.do(200, "GET", "/api/admin/events?type=user-created&limit=1", admin(""))
	w.do(400, "GET", "/api/admin/events?type=bogus", admin(""))
	w.do(403, "GET", "/api/admin/events", walkReq{cookie: edCookie})

	// Password resets: the request answers 202 whatever the address; an
	// admin's link sets a password once, then is dead (404), on its page
	// too.
	w.do(202, "POST", "/auth/reset-password", walkReq{body: `{"email":"ED@example.com"}`})
	w.do(202, "POST", "/auth/reset-password", walkReq{body: `{"email":"nobody@example.com"}`})
	w.do(202, "POST", "/auth/reset-password", walkReq{body: `{"email":"not an address"}`})
	w.do(400, "POST", "/auth/reset-password", walkReq{body: `{"email":1}`})
	w.do(400, "POST", "/auth/reset-password", walkReq{body: `{"email":"a@example.com","name":"x"}`})
	w.do(400, "POST", "/auth/reset-password", walkReq{body: `{}`})
	w.do(413, "POST", "/auth/reset-password", walkReq{body: `{"email":"` + strings.Repeat("x", MaxBodyBytes) + `"}`})
	_, _, rl := w.do(201, "POST", "/api/admin/user-admin/"+viID+"/reset-link", admin(""))
	resetURL := str(rl, "url")
	resetToken := resetURL[strings.LastIndex(resetURL, "/")+1:]
	w.do(404, "POST", "/api/admin/user-admin/999/reset-link", admin(""))
	w.do(400, "POST", "/api/admin/user-admin/"+viID+"/reset-link", admin(`{"ttl":5}`))
	w.do(403, "POST", "/api/admin/user-admin/"+viID+"/reset-link", walkReq{cookie: edCookie})
	w.do(200, "GET", "/reset-password/"+resetToken, walkReq{})
	w.do(400, "POST", "/auth/reset-password/"+resetToken, walkReq{body: `{"password":"short"}`})
	w.do(400, "POST", "/reset-password/"+resetToken, walkReq{contentType: "application/x-www-form-urlencoded", body: "password=short&password2=short"})
	w.do(204, "POST", "/auth/reset-password/"+resetToken, walkReq{body: `{"password":"` + walkPassword + `-new"}`})
	w.do(404, "POST", "/auth/reset-password/"+resetToken, walkReq{body: `{"password":"` + walkPassword + `-new"}`})
	w.do(404, "GET", "/reset-password/"+resetToken, walkReq{})
	w.do(404, "POST", "/reset-password/"+resetToken, walkReq{contentType: "application/x-www-form-urlencoded", body: "password=x&password2=x"})
	_, _, rl2 := w.do(201, "POST", "/api/admin/user-admin/"+viID+"/reset-link", admin("{}"))
	resetURL = str(rl2, "url")
	w.do(303, "POST", "/reset-password/"+resetURL[strings.LastIndex(resetURL, "/")+1:], walkReq{contentType: "application/x-www-form-urlencoded",
		body: "password=" + walkPassword + "&password2=" + walkPassword})
	w.do(200, "GET", "/forgot-password", walkReq{})
	w.do(200, "POST", "/forgot-password", walkReq{contentType: "application/x-www-form-urlencoded", body: "email=nobody%40example.com"})
	w.do(400, "POST", "/forgot-password", walkReq{contentType: "application/x-www-form-urlencoded", body: "email="})

	// Deleting users, and the last Admin.
	w.do(200, "DELETE", "/api/admin/user-admin/"+viID, admin(""))
	w.do(404, "DELETE", "/api/admin/user-admin/"+viID, admin(""))
	w.do(401, "GET", "/api/admin/user", walkReq{cookie: viCookie})
	w.do(200, "PUT", "/api/admin/user-admin/"+edID, admin(`{"rootRole":"Admin"}`))
	w.do(400, "DELETE", "/api/admin/user-admin/"+edID, admin(""))

	// Passkeys: one added on the account logs in; the ceremonies work
	// once; removing asks first.
	pka := newSoftAuthenticator(t, "http://example.test", "example.test")
	_, _, begun := w.do(200, "POST", "/account/passkeys/begin", walkReq{cookie: edCookie, body: `{"name":"Walk laptop"}`})
	cer, challenge, handle := passkeyOptions(t, begun)
	w.do(201, "POST", "/account/passkeys/finish", walkReq{cookie: edCookie, body: finishBody(cer, pka.create(challenge, handle))})
	w.do(401, "POST", "/account/passkeys/finish", walkReq{cookie: edCookie, body: finishBody(cer, pka.create(challenge, handle))})
	w.do(400, "POST", "/account/passkeys/begin", walkReq{cookie: edCookie, body: `{"name":""}`})
	w.do(403, "POST", "/account/passkeys/begin", admin(`{"name":"a key"}`))
	w.do(401, "POST", "/account/passkeys/begin", walkReq{body: `{"name":"nobody"}`})
	_, _, begun = w.do(200, "POST", "/auth/passkey/login/begin", walkReq{body: `{}`})
	cer, challenge, _ = passkeyOptions(t, begun)
	w.do(200, "POST", "/auth/passkey/login/finish", walkReq{body: finishBody(cer, pka.get(challenge))})
	w.do(401, "POST", "/auth/passkey/login/finish", walkReq{body: finishBody(cer, pka.get(challenge))})
	w.do(400, "POST", "/auth/passkey/login/finish", walkReq{body: `{"ceremony":"x"}`})
	w.do(400, "POST", "/auth/passkey/login/begin", walkReq{body: `{"x":1}`})
	// A password login of a user with a passkey waits for it as its
	// second step.
	_, _, pending2 := w.do(401, "POST", "/auth/simple/login", walkReq{body: fmt.Sprintf(`{"username":"ed","password":%q}`, walkPassword)})
	cont2 := str(pending2, "continuation")
	_, _, begun = w.do(200, "POST", "/auth/passkey/second-factor/begin", walkReq{body: fmt.Sprintf(`{"continuation":%q}`, cont2)})
	cer, challenge, _ = passkeyOptions(t, begun)
	second, _ := json.Marshal(map[string]any{"continuation": cont2, "ceremony": cer, "credential": pka.get(challenge)})
	w.do(200, "POST", "/auth/passkey/second-factor/finish", walkReq{body: string(second)})
	w.do(401, "POST", "/auth/passkey/second-factor/begin", walkReq{body: fmt.Sprintf(`{"continuation":%q}`, cont2)})
	w.do(400, "POST", "/auth/passkey/second-factor/finish", walkReq{body: `{"continuation":"x"}`})
	pkID := b64.EncodeToString(pka.credID)
	w.do(200, "GET", "/account/passkeys/remove?id="+pkID, walkReq{cookie: edCookie})
	w.do(404, "GET", "/account/passkeys/remove?id=AAAA", walkReq{cookie: edCookie})
	w.do(303, "GET", "/account/passkeys/remove?id="+pkID, walkReq{})
	w.do(303, "POST", "/account/passkeys/remove", walkReq{cookie: edCookie, contentType: "application/x-www-form-urlencoded", body: "id=" + pkID})
	w.do(404, "POST", "/account/passkeys/remove", walkReq{cookie: edCookie, contentType: "application/x-www-form-urlencoded", body: "id=" + pkID})

	// The pages.
	_, html, _ := w.do(200, "GET", "/login", walkReq{})
	w.do(200, "GET", "/new-user?invite="+secret2, walkReq{})
	w.do(404, "GET", "/new-user?invite=0123456789abcdef0123456789abcdef", walkReq{})
	_, _, inv3 := w.do(200, "POST", "/v1/userInvitations", admin(`{"invitedEmail":"barbara@example.com","inviter":"Ada","disableInvitationEmail":true}`))
	w.do(200, "GET", "/invitations/"+str(inv3, "invitationToken"), walkReq{})
	w.do(404, "GET", "/invitations/not-a-token", walkReq{})
	w.do(410, "GET", "/invitations/"+token, walkReq{})
	w.do(303, "GET", "/account", walkReq{})
	w.do(200, "GET", "/account", walkReq{cookie: edCookie})
	w.do(303, "GET", "/", walkReq{})
	w.do(200, "GET", "/", walkReq{cookie: edCookie})
	w.do(401, "POST", "/login", walkReq{contentType: "application/x-www-form-urlencoded", body: "username=ed&password=wrong-Password-123"})
	w.do(303, "POST", "/logout", walkReq{contentType: "application/x-www-form-urlencoded", body: "x=1"})
	if css := regexp.MustCompile(`/static/[^"']+\.css`).Find(html); css != nil {
		w.do(200, "GET", string(css), walkReq{})
	} else {
		t.Error("the login page links no stylesheet")
	}
	w.do(404, "GET", "/static/nothing.css", walkReq{})
	if js := regexp.MustCompile(`/static/passkey\.[0-9a-f]+\.js`).Find(html); js != nil {
		h, _, _ := w.do(200, "GET", string(js), walkReq{})
		if h.Get("Content-Type") != "text/javascript; charset=utf-8" || !strings.Contains(h.Get("Cache-Control"), "immutable") {
			t.Errorf("passkey.js served as %q, %q", h.Get("Content-Type"), h.Get("Cache-Control"))
		}
	} else {
		t.Error("the login page loads no passkey.js")
	}

	// Logging out ends the session.
	w.do(204, "POST", "/auth/logout", walkReq{cookie: edCookie})
	w.do(401, "GET", "/api/admin/user", walkReq{cookie: edCookie})
	w.do(204, "POST", "/auth/logout", walkReq{})

	// Disabling ends sessions and refuses the right password (403, on the
	// page too); enabling lets the user in again.
	_, _, dz := w.do(200, "POST", "/invite/"+secret2+"/signup", walkReq{body: signup("dz@example.org", "dz")})
	dzID := num(dz, "id")
	w.do(200, "POST", "/api/admin/user-admin/"+dzID+"/disable", admin(""))
	w.do(400, "POST", "/api/admin/user-admin/"+dzID+"/disable", admin(`{"reason":"x"}`))
	w.do(404, "POST", "/api/admin/user-admin/999/disable", admin(""))
	w.do(403, "POST", "/auth/simple/login", walkReq{body: `{"username":"dz","password":"` + walkPassword + `"}`})
	w.do(403, "POST", "/login", walkReq{contentType: "application/x-www-form-urlencoded", body: "username=dz&password=" + walkPassword})
	w.do(200, "POST", "/api/admin/user-admin/"+dzID+"/enable", admin(`{}`))
	w.do(404, "POST", "/api/admin/user-admin/999/enable", admin(""))
	w.do(303, "POST", "/login", walkReq{contentType: "application/x-www-form-urlencoded", body: "username=dz&password=" + walkPassword})

	// Sending the verification email again: 202 whatever the address.
	w.do(202, "POST", "/auth/verify-email/resend", walkReq{body: `{"email":"nobody@example.org"}`})
	w.do(400, "POST", "/auth/verify-email/resend", walkReq{body: `{"email":""}`})
	w.do(400, "POST", "/auth/verify-email/resend", walkReq{body: `{"address":"a@example.org"}`})
	w.do(200, "GET", "/verify-email", walkReq{})
	w.do(200, "POST", "/verify-email", walkReq{contentType: "application/x-www-form-urlencoded", body: "email=nobody%40example.org"})
	w.do(400, "POST", "/verify-email", walkReq{contentType: "application/x-www-form-urlencoded", body: "email="})
	w.do(404, "GET", "/verify-email/0123456789abcdef", walkReq{})

	// Every API operation answered 2xx at least once.
	for _, rt := range append(w.srv.apiRoutes(), route{method: "GET", path: "/docs/openapi.json"}) {
		op := rt.method + " " + openAPIPath(rt.path)
		if !w.ok[op] {
			t.Errorf("the walk never got a 2xx from %s; add it to TestOpenAPIWalk", op)
		}
	}
	var lines []string
	for op, statuses := range w.seen {
		var codes []int
		for c := range statuses {
			codes = append(codes, c)
		}
		sort.Ints(codes)
		lines = append(lines, fmt.Sprintf("%s %v", op, codes))
	}
	sort.Strings(lines)
	t.Logf("checked against openapi.json:\n%s", strings.Join(lines, "\n"))
}

// TestOpenAPIRateLimited checks the 429 answers, in JSON and as pages.
func TestOpenAPIRateLimited(t *testing.T) {
	w := newWalk(t, 1)
	w.do(400, "GET", "/invite/0123456789abcdef0123456789abcdef/validate", walkReq{})
	w.do(429, "GET", "/invite/0123456789abcdef0123456789abcdef/validate", walkReq{})
	w.do(429, "POST", "/invite/0123456789abcdef0123456789abcdef/signup", walkReq{body: `{}`})
	w.do(429, "POST", "/invitations/x/accept", walkReq{body: `{}`})
	w.do(429, "GET", "/new-user?invite=x", walkReq{})
	w.do(401, "POST", "/auth/simple/login", walkReq{body: `{"username":"a","password":"b"}`})
	w.do(429, "POST", "/auth/simple/login", walkReq{body: `{"username":"a","password":"b"}`})
	w.do(429, "POST", "/auth/logout", walkReq{})
	w.do(429, "POST", "/auth/reset-password", walkReq{body: `{"email":"a@example.com"}`})
	w.do(429, "POST", "/auth/reset-password/x", walkReq{body: `{"password":"x"}`})
	w.do(429, "POST", "/forgot-password", walkReq{contentType: "application/x-www-form-urlencoded", body: "email=a%40example.com"})
	w.do(429, "GET", "/reset-password/x", walkReq{})
	w.do(429, "POST", "/reset-password/x", walkReq{contentType: "application/x-www-form-urlencoded", body: "password=x"})
	w.do(429, "POST", "/auth/passkey/login/begin", walkReq{body: `{}`})
	w.do(429, "POST", "/auth/passkey/login/finish", walkReq{body: `{}`})
	w.do(429, "POST", "/auth/passkey/second-factor/begin", walkReq{body: `{}`})
	w.do(429, "POST", "/auth/passkey/second-factor/finish", walkReq{body: `{}`})
	w.do(429, "POST", "/account/passkeys/begin", walkReq{body: `{}`})
	w.do(429, "POST", "/account/passkeys/finish", walkReq{body: `{}`})
}

// TestOpenAPIEventTypes: both places the document lists event types (the
// audit log's filter and the event schema) list exactly db.EventTypes, so
// a new event type cannot be left out of either.
func TestOpenAPIEventTypes(t *testing.T) {
	var doc any
	if err := json.Unmarshal(OpenAPIDocument(), &doc); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint(db.EventTypes)
	found := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if enum, ok := v["enum"].([]any); ok && len(enum) > 0 && enum[0] == db.EventLinkCreated {
				found++
				var got []string
				for _, e := range enum {
					got = append(got, fmt.Sprint(e))
				}
				if fmt.Sprint(got) != want {
					t.Errorf("an event-type enum lists %v, want %v", got, want)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(doc)
	if found != 2 {
		t.Errorf("found %d event-type enums, want 2 (the filter and the schema)", found)
	}
}
