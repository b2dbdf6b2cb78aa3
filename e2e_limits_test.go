package main

// End-to-end tests of the limits that hold against hostile clients: no
// request grows the server's memory, a damaged database is refused, and
// every time input stays within the years 1–9999. Each attack input is a
// row of a table, so that the next hole found is one more row.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// rawRequest sends one HTTP/1.1 request written by hand (so that any
// method name goes out as it is) and returns the answer's status and body.
func rawRequest(t *testing.T, p *proc, method, path string) (int, []byte) {
	t.Helper()
	addr := strings.TrimPrefix(p.URL, "http://")
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", method, path, addr); err != nil {
		t.Fatalf("send %.20s… %s: %v", method, path, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("answer to %.20s… %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("read answer to %.20s… %s: %v", method, path, err)
	}
	return resp.StatusCode, body
}

// scrapeMetrics reads /metrics and returns its series (a sample line
// without its value) and the type each family declares.
func scrapeMetrics(t *testing.T, p *proc) (series map[string]bool, types map[string]string) {
	t.Helper()
	status, _, body := do(t, "GET", p.URL+"/metrics", "", nil)
	wantStatus(t, "GET /metrics", status, 200, body)
	series, types = map[string]bool{}, map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(f, " ")
			if _, dup := types[name]; dup {
				t.Errorf("/metrics types the family %s twice", name)
			}
			types[name] = typ
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("/metrics line %q has no value", line)
		}
		series[line[:i]] = true
	}
	return series, types
}

// randomMethod is a valid HTTP method token no route takes: "X" and
// random letters, digits and token symbols, n characters in all.
func randomMethod(r *mrand.Rand, n int) string {
	const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-.^_`|~"
	b := []byte{'X'}
	for len(b) < n {
		b = append(b, chars[r.IntN(len(chars))])
	}
	return string(b)
}

// TestE2EMetricsSeriesBounded sends ~200 requests with never-seen methods
// (some 4 KB long) on unknown and known paths, and unknown paths with
// known methods: /metrics must hold exactly the series it held before,
// and declare the type of every family.
func TestE2EMetricsSeriesBounded(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir())
	link := createLink(t, p, map[string]any{"name": "metrics", "expiresAt": e2eFuture})
	secret := link["secret"].(string)

	// Each kind of request once first, so that the series it may add
	// (its status under the "other" label, a route's own) exist already.
	type attack struct {
		method func(i int) string
		path   func(i int) string
		status int
	}
	r := mrand.New(mrand.NewPCG(10, 2))
	method := func(i int) string {
		if i%10 == 0 {
			return randomMethod(r, 4096)
		}
		return randomMethod(r, 4+r.IntN(28))
	}
	fixed := func(s string) func(int) string { return func(int) string { return s } }
	attacks := []attack{
		{method, func(i int) string { return fmt.Sprintf("/no/such/%d/%s", i, randomSecret(t)) }, 404},
		{method, fixed("/health"), 405},
		{method, fixed(tokensPath), 405},
		{method, fixed("/invite/" + secret + "/validate"), 405},
		{method, fixed("/invite/" + secret + "/signup"), 405},
		{fixed("GET"), func(i int) string { return "/" + strings.Repeat(randomSecret(t), 1+i%4) }, 404},
		{fixed("DELETE"), func(i int) string { return "/x" + randomSecret(t) }, 404},
		// Known routes with ever new path values: the label is the pattern.
		{fixed("GET"), func(int) string { return "/invite/" + randomSecret(t) + "/validate" }, 400},
	}
	for _, a := range attacks {
		if status, body := rawRequest(t, p, a.method(1), a.path(1)); status != a.status {
			t.Fatalf("warm-up %s: status %d, want %d: %s", a.path(1), status, a.status, body)
		}
	}
	scrapeMetrics(t, p) // the scrape is a route too: count it once
	before, _ := scrapeMetrics(t, p)

	echoed := false
	for i := 0; i < 200; i++ {
		a := attacks[i%len(attacks)]
		m, path := a.method(i), a.path(i)
		status, body := rawRequest(t, p, m, path)
		if status != a.status {
			t.Fatalf("request %d (%.20s… %s): status %d, want %d: %.300s", i, m, path, status, a.status, body)
		}
		if len(body) > 1024 && !echoed {
			echoed = true
			t.Errorf("request %d (%.20s… %s): the answer is %d bytes: it echoes the request", i, m, path, len(body))
		}
	}

	after, types := scrapeMetrics(t, p)
	var added, lost []string
	for s := range after {
		if !before[s] {
			added = append(added, s)
		}
	}
	for s := range before {
		if !after[s] {
			lost = append(lost, s)
		}
	}
	sort.Strings(added)
	if len(added) > 0 || len(lost) > 0 || len(after) != len(before) {
		for i := range added {
			added[i] = clipForLog(added[i])
		}
		t.Errorf("/metrics held %d series before the requests and %d after; added %d: %v; lost: %v",
			len(before), len(after), len(added), added[:min(len(added), 5)], lost)
	}
	for s := range after {
		if strings.Contains(s, "/no/such") || strings.Contains(s, `method="X`) {
			t.Errorf("a client value became a label: %s", clipForLog(s))
			break
		}
	}

	// Every family says its type; a histogram's _bucket, _sum and _count
	// belong to it.
	for s := range after {
		name, _, _ := strings.Cut(s, "{")
		family := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && (types[base] == "histogram" || types[base] == "summary") {
				family = base
			}
		}
		if types[family] == "" {
			t.Errorf("/metrics has no # TYPE line for %s", family)
		}
	}
	if types["invited_http_requests_total"] != "counter" || types["invited_users"] != "gauge" {
		t.Errorf("types of invited_http_requests_total and invited_users: %q, %q; want counter, gauge",
			types["invited_http_requests_total"], types["invited_users"])
	}
}

func clipForLog(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// TestE2ETimesOutsideYears1To9999 sends times that leave the years
// 1–9999 once converted to UTC to every endpoint that takes a time: each
// is a 400 ValidationError naming the field, and nothing is made or
// changed.
func TestE2ETimesOutsideYears1To9999(t *testing.T) {
	t.Parallel()
	p := startServer(t, t.TempDir())
	link := createLink(t, p, map[string]any{"name": "times", "expiresAt": e2eFuture})
	secret := link["secret"].(string)
	invitations := p.URL + "/v1/userInvitations"

	type row struct {
		name, method, url, field string
		body                     map[string]any
	}
	var rows []row
	for _, v := range []string{
		"9999-12-31T23:59:59-23:59", // year 10000 in UTC
		"0001-01-01T00:00:00+01:00", // year 0 in UTC
		"9999-12-31T23:00:00-01:00", // exactly 10000-01-01T00:00:00Z
	} {
		rows = append(rows,
			row{"link create " + v, "POST", p.URL + tokensPath, "expiresAt", map[string]any{"name": "late", "expiresAt": v}},
			row{"link update " + v, "PUT", p.URL + tokensPath + "/" + secret, "expiresAt", map[string]any{"expiresAt": v}},
			row{"invitation " + v, "POST", invitations, "expirationTime", map[string]any{"invitedEmail": "late@example.com", "inviter": "Ops", "expirationTime": v}},
		)
	}
	// The zero instant is in range, but the store reads it as "not
	// given": a create must refuse it, not fall back to a default expiry.
	rows = append(rows,
		row{"link create, the zero instant", "POST", p.URL + tokensPath, "expiresAt", map[string]any{"name": "zero", "expiresAt": "0001-01-01T00:00:00Z"}},
		row{"invitation, the zero instant", "POST", invitations, "expirationTime", map[string]any{"invitedEmail": "zero@example.com", "inviter": "Ops", "expirationTime": "0001-01-01T00:00:00Z"}},
	)
	for _, r := range rows {
		status, _, body := do(t, r.method, r.url, e2eAdminKey, r.body)
		e := wantError(t, r.name, status, body, 400, "ValidationError", r.field)
		wantDetail(t, r.name, e, r.field)
	}

	if links := listLinks(t, p); len(links) != 1 {
		t.Errorf("%d links after the refused requests, want only the first", len(links))
	}
	wantField(t, "the link after the refused updates", getLink(t, p, secret), "expiresAt", e2eFuture)
	status, _, body := do(t, "GET", invitations, e2eAdminKey, nil)
	wantStatus(t, "list invitations", status, 200, body)
	if list, _ := object(t, "list invitations", body)["userInvitations"].([]any); len(list) != 0 {
		t.Errorf("%d invitations after the refused requests, want none", len(list))
	}
}

// TestE2EDamagedDatabaseRefused runs the real binary on a database file
// cut in half and on an empty one: serve, admin, backup and apikey create each
// stop with an exit code that is not 0 and a message that names the file
// and says to restore a backup, without a panic, and leave the file as it
// was.
func TestE2EDamagedDatabaseRefused(t *testing.T) {
	t.Parallel()
	good := t.TempDir()
	p := startServer(t, good)
	for i := 0; i < 20; i++ {
		createLink(t, p, map[string]any{"name": fmt.Sprintf("link %d", i), "expiresAt": e2eFuture})
	}
	p.Stop()
	if err := p.ExitErr(); err != nil {
		t.Fatalf("invited serve did not stop cleanly: %v", err)
	}
	original, err := os.ReadFile(filepath.Join(good, "invited.db"))
	if err != nil {
		t.Fatal(err)
	}

	for _, damage := range []struct {
		name string
		data []byte
	}{
		{"cut in half", original[:len(original)/2]},
		{"empty", nil},
	} {
		t.Run(damage.name, func(t *testing.T) {
			dir := t.TempDir()
			dbPath := filepath.Join(dir, "invited.db")
			if err := os.WriteFile(dbPath, damage.data, 0o600); err != nil {
				t.Fatal(err)
			}
			env := serverEnv(dir)
			for _, args := range [][]string{
				{"serve"},
				{"admin"},
				{"backup", filepath.Join(t.TempDir(), "copy.db")},
				{"apikey", "create", "--name", "ci"},
				{"rotate-keys"},
			} {
				_, stderr, code := runBinary(t, 20*time.Second, env, args...)
				what := "invited " + strings.Join(args, " ")
				if code == 0 {
					t.Errorf("%s on a damaged database: exit 0, want a refusal; stderr:\n%s", what, stderr)
				}
				for _, want := range []string{dbPath, "damaged", "backup"} {
					if !strings.Contains(stderr, want) {
						t.Errorf("%s: stderr does not say %q:\n%s", what, want, stderr)
					}
				}
				for _, bad := range []string{"panic", "goroutine ", "SIGBUS", "SIGSEGV"} {
					if strings.Contains(stderr, bad) {
						t.Errorf("%s: stderr shows %q:\n%s", what, bad, stderr)
					}
				}
			}
			if after, err := os.ReadFile(dbPath); err != nil || !bytes.Equal(after, damage.data) {
				t.Errorf("the damaged file changed: %d bytes before, %d after (%v)", len(damage.data), len(after), err)
			}
		})
	}
}
