package main

// Real-proxy tests of the forward-auth gate (DESIGN §9, docs/gate.md):
// Caddy and nginx run as child processes of the test, on loopback ports,
// with the very snippets docs/gate.md shows, in front of the real invited
// binary and a small upstream that echoes the headers it receives.

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"invited/internal/testutil"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The five headers the gate hands to the app.
var remoteHeaders = []string{"Remote-User", "Remote-Email", "Remote-Name", "Remote-Groups", "Remote-Role"}

// forgedUser is what a client sends as Remote-User to pass itself off as
// someone; no upstream may ever see it.
const forgedUser = "forged-admin"

// mustTool finds a proxy program: missing, the test fails under CI (which
// installs it, see .ci/run) and is skipped elsewhere.
func mustTool(t *testing.T, name string, paths ...string) string {
	t.Helper()
	for _, p := range append([]string{name}, paths...) {
		if found, err := exec.LookPath(p); err == nil {
			return found
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed; install it with `apt-get install -y %s` (.ci/run does)", name, name)
	}
	t.Skipf("%s is not installed (apt-get install -y %s)", name, name)
	return ""
}

// freePort returns a loopback port that was free a moment ago. The proxy's
// port must be known before invited starts (it is in base_url).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// gateSnippet returns the fenced block of docs/gate.md that follows the
// marker `<!-- gate-snippet: kind`, so the tests run what the docs show.
func gateSnippet(t *testing.T, kind string) string {
	t.Helper()
	doc, err := os.ReadFile("docs/gate.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- gate-snippet: " + regexp.QuoteMeta(kind) + "\\b[^>]*-->\\s*```[a-z]*\\n(.*?)```")
	m := re.FindSubmatch(doc)
	if m == nil {
		t.Fatalf("docs/gate.md has no %q snippet (a fenced block after <!-- gate-snippet: %s -->)", kind, kind)
	}
	return string(m[1])
}

// echoUpstream is the app behind the proxy: it answers every request with
// the headers it received, as JSON inside <pre id="echo">, and remembers
// every Remote-User value it ever saw.
type echoUpstream struct {
	addr string
	mu   sync.Mutex
	seen []string
}

func startEcho(t *testing.T) *echoUpstream {
	t.Helper()
	e := &echoUpstream{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.seen = append(e.seen, r.Header.Values("Remote-User")...)
		e.mu.Unlock()
		got := map[string][]string{}
		for k, v := range r.Header {
			got[k] = v
		}
		got["Host"] = []string{r.Host}
		data, _ := json.Marshal(got)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><title>app</title><pre id=\"echo\">%s</pre>", html.EscapeString(string(data)))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	e.addr = l.Addr().String()
	return e
}

func (e *echoUpstream) sawForged() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, v := range e.seen {
		if strings.Contains(v, forgedUser) {
			return true
		}
	}
	return false
}

// echoed says whether a page is the upstream's answer.
func (r *gateRig) echoed(page string) bool { return strings.Contains(page, `<pre id="echo">`) }

var echoRE = regexp.MustCompile(`(?s)<pre id="echo">(.*?)</pre>`)

// parseEcho reads the upstream's echo out of a page.
func parseEcho(t *testing.T, what, page string) http.Header {
	t.Helper()
	raw := page
	if m := echoRE.FindStringSubmatch(page); m != nil {
		raw = html.UnescapeString(m[1])
	}
	var h map[string][]string
	if err := json.Unmarshal([]byte(raw), &h); err != nil {
		t.Fatalf("%s: not the upstream's echo: %v; page: %.300s", what, err, page)
	}
	return http.Header(h)
}

// proxyProc is one Caddy or nginx run by the test.
type proxyProc struct {
	cmd  *exec.Cmd
	log  *logSink
	done chan struct{}
}

// startProxy runs the proxy, ends it by its pid when the test ends, and
// waits until it answers on port.
func startProxy(t *testing.T, port int, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	sink := &logSink{addr: make(chan string, 1)}
	cmd.Stdout, cmd.Stderr = sink, sink
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &proxyProc{cmd: cmd, log: sink, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("log of %s:\n%s", filepath.Base(name), sink.String())
		}
	})
	testutil.Eventually(t, 15*time.Second, filepath.Base(name)+" listening", func() error {
		select {
		case <-p.done:
			t.Fatalf("%s exited; log:\n%s", name, sink.String())
		default:
		}
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err
	})
}

// gateRig is invited, a proxy and the upstream, on names under
// gate.localhost that all resolve to loopback. Names under .localhost are
// a secure context for Chromium even over http, so the browser sends
// Sec-Fetch-Site as it does for an https site. (Plain http at other names
// is covered by server/web's page tests.)
type gateRig struct {
	inv     *proc
	echo    *echoUpstream
	port    int
	authURL string // invited as the browser sees it, through the proxy
	appURL  string // the app, behind the gate
	other   string // a host no app covers, behind the gate too
	client  *http.Client
}

// newGateRig starts invited with base_url and cookie_domain for the test
// names, then the proxy made by start from the docs' snippet.
func newGateRig(t *testing.T, start func(t *testing.T, r *gateRig)) *gateRig {
	t.Helper()
	r := &gateRig{echo: startEcho(t), port: freePort(t)}
	r.authURL = fmt.Sprintf("http://auth.gate.localhost:%d", r.port)
	r.appURL = fmt.Sprintf("http://app.gate.localhost:%d", r.port)
	r.other = fmt.Sprintf("http://other.gate.localhost:%d", r.port)
	r.inv = startServer(t, t.TempDir(),
		"INVITED_SERVER_BASE_URL="+r.authURL,
		"INVITED_AUTH_COOKIE_DOMAIN=gate.localhost",
	)
	// Every *.gate.localhost name dials the proxy on loopback; no redirect
	// is followed, so the test sees each answer of the gate.
	r.client = &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if strings.HasSuffix(host, ".gate.localhost") {
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	start(t, r)
	return r
}

// invitedAddr is invited's own host:port (what the snippets call
// 127.0.0.1:9091).
func (r *gateRig) invitedAddr() string { return strings.TrimPrefix(r.inv.URL, "http://") }

// get asks the proxy for u with the given headers.
func (r *gateRig) get(t *testing.T, u string, headers ...string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, resp.Header, b.String()
}

func startCaddy(t *testing.T, r *gateRig) {
	caddy := mustTool(t, "caddy")
	dir := t.TempDir()
	snippet := strings.NewReplacer(
		"auth.example.com {", r.authURL+" {",
		"app.example.com {", r.appURL+", "+r.other+" {",
		"127.0.0.1:9091", r.invitedAddr(),
		"127.0.0.1:3000", r.echo.addr,
	).Replace(gateSnippet(t, "caddy"))
	conf := fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\thttp_port %d\n\tstorage file_system %s\n}\n\n%s",
		r.port, filepath.Join(dir, "storage"), snippet)
	file := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_DATA_HOME="+filepath.Join(dir, "data"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	startProxy(t, r.port, env, caddy, "run", "--config", file, "--adapter", "caddyfile")
}

func startNginx(t *testing.T, r *gateRig) {
	nginx := mustTool(t, "nginx", "/usr/sbin/nginx")
	dir := t.TempDir()
	snippet := strings.NewReplacer(
		"listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", r.port),
		"server_name auth.example.com;", "server_name auth.gate.localhost;",
		"server_name app.example.com;", "server_name app.gate.localhost other.gate.localhost;",
		"127.0.0.1:9091", r.invitedAddr(),
		"127.0.0.1:3000", r.echo.addr,
	).Replace(gateSnippet(t, "nginx"))
	var temps strings.Builder
	for _, k := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&temps, "    %s_temp_path %s;\n", k, filepath.Join(dir, k))
	}
	conf := fmt.Sprintf(`daemon off;
worker_processes 1;
pid %s;
error_log %s warn;
events { worker_connections 64; }
http {
    access_log off;
%s
%s
}
`, filepath.Join(dir, "nginx.pid"), filepath.Join(dir, "error.log"), temps.String(), snippet)
	file := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	startProxy(t, r.port, os.Environ(), nginx, "-c", file, "-p", dir, "-e", filepath.Join(dir, "error.log"))
}

// gateBrowser starts headless Chromium that resolves *.gate.localhost to
// loopback.
func gateBrowser(t *testing.T) context.Context {
	t.Helper()
	path := mustTool(t, "chromium", "/usr/bin/chromium", "chromium-browser", "google-chrome")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("host-resolver-rules", "MAP *.gate.localhost 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}

// TestE2EProxyGate runs DESIGN §9's gate through real Caddy and nginx with
// the snippets of docs/gate.md: a browser is sent to /login and back with
// the five headers; outsiders and unknown hosts get 403; a forged
// Remote-User never reaches the app; disabling a user ends their access.
func TestE2EProxyGate(t *testing.T) {
	for _, c := range []struct {
		name  string
		start func(*testing.T, *gateRig)
	}{{"caddy", startCaddy}, {"nginx", startNginx}} {
		t.Run(c.name, func(t *testing.T) {
			r := newGateRig(t, c.start)
			p := r.inv
			status, _, body := do(t, "POST", p.URL+"/api/admin/groups", e2eAdminKey, map[string]any{"id": "staff", "name": "Staff"})
			wantStatus(t, "create group", status, 201, body)
			status, _, body = do(t, "POST", p.URL+"/api/admin/apps", e2eAdminKey, map[string]any{
				"id": "app", "name": "App", "url": r.appURL + "/", "groups": []string{"staff"}, "domains": []string{"app.gate.localhost"},
			})
			wantStatus(t, "create app", status, 201, body)
			staff := createLink(t, p, map[string]any{"name": "staff", "expiresAt": e2eFuture, "groups": []string{"staff"}})
			res := postSignup(p, staff["secret"].(string), signupJSON("ann@example.com", "ann", "Ann Lee"))
			wantStatus(t, "sign up ann", res.status, 200, res.body)
			annID := fmt.Sprint(object(t, "ann", res.body)["id"])
			others := createLink(t, p, map[string]any{"name": "others", "expiresAt": e2eFuture})
			res = postSignup(p, others["secret"].(string), signupJSON("oz@example.com", "oz", "Oz Out"))
			wantStatus(t, "sign up oz", res.status, 200, res.body)

			// Not signed in: sent to invited's /login, with the page as rd.
			page := r.appURL + "/reports?q=1"
			status, header, body2 := r.get(t, page, "Accept", "text/html", "Remote-User", forgedUser)
			loc, _ := url.Parse(header.Get("Location"))
			if status != 302 || loc == nil || r.authURL+loc.Path != r.authURL+"/login" || loc.Host != strings.TrimPrefix(r.authURL, "http://") || loc.Query().Get("rd") != page {
				t.Fatalf("signed out: %d to %q, want 302 to %s/login?rd=%s; body %.200s", status, header.Get("Location"), r.authURL, page, body2)
			}

			// In Chromium: the app sends to /login; the form brings the
			// browser back with the five headers.
			ctx := gateBrowser(t)
			if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(page)); err != nil {
				t.Fatalf("open %s: %v", page, err)
			}
			if at, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(at, r.authURL+"/login?") {
				t.Fatalf("the app sent the browser to %s, want %s/login", at, r.authURL)
			}
			if err := chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.ID("username"), "ann"),
				chromedp.SendKeys(chromedp.ID("password"), e2ePassword),
			); err != nil {
				t.Fatalf("fill the login form: %v", err)
			}
			// The answer is a redirect to another host, so the click is not
			// followed as one response; the poll below waits for the app.
			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form[action^="/login"] button[type=submit]`))); err != nil {
				t.Fatalf("submit the login form: %v", err)
			}
			testutil.Eventually(t, 20*time.Second, "the browser back on the app", func() error {
				at, err := chromedp.Run(ctx, chromedp.Location())
				if err != nil || at != page {
					return fmt.Errorf("at %s (%v)", at, err)
				}
				return nil
			})
			text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("echo")))
			if err != nil {
				t.Fatalf("read the app's page: %v", err)
			}
			got := parseEcho(t, "browser", text)
			want := map[string]string{"Remote-User": "ann", "Remote-Email": "ann@example.com", "Remote-Name": "Ann Lee", "Remote-Groups": "staff"}
			for k, v := range want {
				if g := got.Values(k); len(g) != 1 || g[0] != v {
					t.Errorf("the app saw %s %q, want %q", k, g, v)
				}
			}
			if g := got.Values("Remote-Role"); len(g) != 1 || g[0] != "Viewer" {
				t.Errorf("the app saw Remote-Role %q, want [Viewer] (a link's default role)", g)
			}

			// A forged Remote-User (and friends) from a signed-in client:
			// the app sees invited's values only.
			ann := sessionCookie(t, p, "ann", e2ePassword)
			status, _, body2 = r.get(t, r.appURL+"/", "Cookie", ann, "Remote-User", forgedUser, "Remote-Groups", "admins", "Remote-Role", "Admin")
			if status != 200 {
				t.Fatalf("ann with forged headers: %d %.300s", status, body2)
			}
			got = parseEcho(t, "forged", body2)
			if g := got.Values("Remote-User"); len(g) != 1 || g[0] != "ann" {
				t.Errorf("forged Remote-User: the app saw %q, want [ann]", g)
			}
			if g := got.Values("Remote-Groups"); len(g) != 1 || g[0] != "staff" {
				t.Errorf("forged Remote-Groups: the app saw %q, want [staff]", g)
			}
			// Signed out with a forged header, asking for JSON: refused,
			// and nothing reaches the app.
			status, _, _ = r.get(t, r.appURL+"/", "Accept", "application/json", "Remote-User", forgedUser)
			if status != 401 && status != 302 {
				t.Errorf("signed out with a forged Remote-User: %d, want 401 (or nginx's 302)", status)
			}
			if r.echo.sawForged() {
				t.Errorf("the app received the forged Remote-User %q", forgedUser)
			}

			// The gate trusts the forwarded headers, so invited's public
			// host keeps it for the proxy alone.
			for _, path := range []string{"/api/authz/forward-auth", "/api/authz/auth-request"} {
				if status, _, body2 := r.get(t, r.authURL+path, "Cookie", ann, "X-Forwarded-Host", "app.gate.localhost", "X-Original-URL", r.appURL+"/"); status != 403 {
					t.Errorf("%s on invited's public host: %d, want 403; %.200s", path, status, body2)
				}
			}

			// Outside the app's groups: 403. A host no app covers: 403.
			oz := sessionCookie(t, p, "oz", e2ePassword)
			if status, _, body2 := r.get(t, r.appURL+"/", "Cookie", oz, "Accept", "text/html"); status != 403 {
				t.Errorf("oz (not in staff): %d, want 403; %.200s", status, body2)
			}
			if status, _, body2 := r.get(t, r.other+"/", "Cookie", ann, "Accept", "text/html"); status != 403 {
				t.Errorf("a host no app covers: %d, want 403; %.200s", status, body2)
			}

			// Disabling ann ends her access on the very next request (the
			// gate caches nothing), in the browser too.
			status, _, body = do(t, "POST", p.URL+"/api/admin/user-admin/"+annID+"/disable", e2eAdminKey, nil)
			wantStatus(t, "disable ann", status, 200, body)
			if status, _, body2 := r.get(t, r.appURL+"/", "Cookie", ann, "Accept", "application/json"); status == 200 || r.echoed(body2) {
				t.Errorf("ann disabled: %d, want a refusal; %.200s", status, body2)
			}
			if _, err := chromedp.Run(ctx, chromedp.NavigateResponse(page)); err != nil {
				t.Fatalf("open %s again: %v", page, err)
			}
			if at, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasPrefix(at, r.authURL+"/login?") {
				t.Errorf("ann disabled: the browser is at %s, want %s/login", at, r.authURL)
			}
			if r.echo.sawForged() {
				t.Errorf("the app received the forged Remote-User %q", forgedUser)
			}
		})
	}
}

// TestDocsGateSnippets keeps docs/gate.md whole: the Caddy and nginx
// blocks the proxy test runs are there and strip or replace all five
// headers, and the Traefik block (not run here) copies all five and
// trusts the forwarded headers.
func TestDocsGateSnippets(t *testing.T) {
	caddy, nginx := gateSnippet(t, "caddy"), gateSnippet(t, "nginx")
	doc, err := os.ReadFile("docs/gate.md")
	if err != nil {
		t.Fatal(err)
	}
	traefik := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindSubmatch(doc)
	if traefik == nil {
		t.Fatal("docs/gate.md has no Traefik (yaml) block")
	}
	for _, h := range remoteHeaders {
		if !strings.Contains(caddy, "request_header -"+h+"\n") {
			t.Errorf("the Caddy snippet does not strip a client-sent %s", h)
		}
		if !regexp.MustCompile(`(?m)^\s*proxy_set_header ` + h + ` \$`).MatchString(nginx) {
			t.Errorf("the nginx snippet does not replace a client-sent %s", h)
		}
		if !strings.Contains(string(traefik[1]), "- "+h+"\n") {
			t.Errorf("the Traefik snippet does not list %s in authResponseHeaders", h)
		}
	}
	if !strings.Contains(string(traefik[1]), "trustForwardHeader: true") {
		t.Error("the Traefik snippet does not set trustForwardHeader")
	}
}
