package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// The OpenID Connect part (-only oidc): the token endpoint's code exchange
// and the userinfo endpoint, each beside the bare handler in the same run.
const (
	oidcBenchApp      = "benchoidc"
	oidcBenchUser     = "oidcbench"
	oidcBenchRedirect = "https://rp.bench.example/cb"
	oidcBenchScope    = "openid profile email groups"
	// oidcBatch is how many codes each worker fetches before the timed
	// exchanges of a round.
	oidcBatch = 25
)

// oidcClient is a relying party with a signed-in browser: it runs the
// authorization request to a code and exchanges codes for tokens.
type oidcClient struct {
	base, clientID, secret, cookie string
	verifier, challenge            string
	http                           *http.Client // does not follow redirects
}

// loopResult is one run of the code-exchange loop: only the exchanges are
// timed and metered, the authorization requests that fetch the codes are
// not.
type loopResult struct {
	label     string
	exchanges int
	failed    int
	timed     time.Duration // wall time of the exchange phases
	whole     time.Duration // wall time of the loop, code fetching included
	p50, p99  time.Duration
	serverCPU time.Duration // server CPU during the exchange phases
	otherCPU  time.Duration // the rest of the machine's, during them
}

// oidcReport holds the figures of -only oidc.
type oidcReport struct {
	workers   int
	userinfo  []validateResult // per round
	bare      []validateResult // the bare handler, per round
	exchange  loopResult
	bareLoop  loopResult
	loginCPU  time.Duration // server CPU of one password login
	loginRuns int
	// rsaSign and rsaVerify are one RS256 signature and one check with a
	// 2048-bit key, timed in this process in the same run: the floor of
	// an exchange (two signatures) and of userinfo (one check).
	rsaSign, rsaVerify time.Duration
}

// timeRS256 times RS256 signing and checking with a fresh 2048-bit key,
// each for about d, on one goroutine.
func timeRS256(d time.Duration) (sign, verify time.Duration, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return 0, 0, err
	}
	digest := sha256.Sum256([]byte("header.payload"))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return 0, 0, err
	}
	each := func(op func() error) (time.Duration, error) {
		n, start := 0, time.Now()
		for time.Since(start) < d {
			if err := op(); err != nil {
				return 0, err
			}
			n++
		}
		return time.Since(start) / time.Duration(n), nil
	}
	sign, err = each(func() error { _, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:]); return err })
	if err != nil {
		return 0, 0, err
	}
	verify, err = each(func() error { return rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], sig) })
	return sign, verify, err
}

// newOIDCClient creates the group, the confidential app and the user on
// the server, signs the user in and returns the relying party.
func (c *apiClient) newOIDCClient(ctx context.Context, conns int) (*oidcClient, error) {
	if _, _, err := c.do(ctx, "POST", "/api/admin/groups", map[string]any{"id": oidcBenchApp, "name": "Bench OIDC"}, true, http.StatusCreated); err != nil {
		return nil, fmt.Errorf("create the oidc bench group: %w", err)
	}
	data, _, err := c.do(ctx, "POST", "/api/admin/apps", map[string]any{"id": oidcBenchApp, "name": "Bench OIDC", "kind": "oidc",
		"url": "https://rp.bench.example/", "redirectUris": []string{oidcBenchRedirect}, "groups": []string{oidcBenchApp}}, true, http.StatusCreated)
	if err != nil {
		return nil, fmt.Errorf("create the oidc bench app: %w", err)
	}
	var app struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	}
	if err := json.Unmarshal(data, &app); err != nil || app.ClientID == "" || app.ClientSecret == "" {
		return nil, fmt.Errorf("create the oidc bench app: no clientId or clientSecret in %s", data)
	}
	secret, err := c.createLink(ctx, "bench oidc")
	if err != nil {
		return nil, err
	}
	data, _, err = c.do(ctx, "POST", "/invite/"+secret+"/signup", map[string]any{
		"email": oidcBenchUser + "@example.com", "username": oidcBenchUser, "name": "OIDC Bench", "password": benchPassword}, false, http.StatusOK)
	if err != nil {
		return nil, fmt.Errorf("sign the oidc bench user up: %w", err)
	}
	var u struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(data, &u); err != nil {
		return nil, fmt.Errorf("sign the oidc bench user up: %s", data)
	}
	if _, _, err := c.do(ctx, "PUT", fmt.Sprintf("/api/admin/user-admin/%d", u.ID), map[string]any{"groups": []string{oidcBenchApp}}, true, http.StatusOK); err != nil {
		return nil, fmt.Errorf("put the oidc bench user in its group: %w", err)
	}
	cookie, _, err := c.login(ctx, oidcBenchUser)
	if err != nil {
		return nil, err
	}
	verifier := randomHex(32)
	sum := sha256.Sum256([]byte(verifier))
	hc := newHTTPClient(conns)
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &oidcClient{base: c.base, clientID: app.ClientID, secret: app.ClientSecret, cookie: cookie,
		verifier: verifier, challenge: base64.RawURLEncoding.EncodeToString(sum[:]), http: hc}, nil
}

// login signs username in with the password and returns the session
// cookie ("name=value") and how long the answer took.
func (c *apiClient) login(ctx context.Context, username string) (string, time.Duration, error) {
	t0 := time.Now()
	_, h, err := c.do(ctx, "POST", "/auth/simple/login", map[string]any{"username": username, "password": benchPassword}, false, http.StatusOK)
	took := time.Since(t0)
	if err != nil {
		return "", 0, fmt.Errorf("log %s in: %w", username, err)
	}
	for _, ck := range (&http.Response{Header: h}).Cookies() {
		if ck.Name == "invited_session" {
			return ck.Name + "=" + ck.Value, took, nil
		}
	}
	return "", 0, fmt.Errorf("log %s in: no session cookie", username)
}

// code runs the authorization request with the session cookie, follows
// the redirects by hand and returns the code given to the redirect URI.
func (o *oidcClient) code(ctx context.Context) (string, error) {
	q := url.Values{"response_type": {"code"}, "client_id": {o.clientID}, "redirect_uri": {oidcBenchRedirect},
		"scope": {oidcBenchScope}, "state": {"s"}, "code_challenge": {o.challenge}, "code_challenge_method": {"S256"}}
	next := o.base + "/oidc/authorize?" + q.Encode()
	for range 10 {
		req, err := http.NewRequestWithContext(ctx, "GET", next, nil)
		if err != nil {
			return "", err
		}
		req.Header.Set("Cookie", o.cookie)
		resp, err := o.http.Do(req)
		if err != nil {
			return "", err
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
			return "", fmt.Errorf("authorize: GET %s: %s: %s", req.URL.Path, resp.Status, body)
		}
		loc, err := resp.Location()
		if err != nil {
			return "", fmt.Errorf("authorize: GET %s: %s without a Location", req.URL.Path, resp.Status)
		}
		if loc.Scheme+"://"+loc.Host+loc.Path == oidcBenchRedirect {
			lq := loc.Query()
			if lq.Get("state") != "s" || lq.Get("code") == "" {
				return "", fmt.Errorf("authorize: the redirect URI got %s, want a code and state=s", loc.RawQuery)
			}
			return lq.Get("code"), nil
		}
		// The provider's own pages: on the server under test, whatever
		// host the issuer names.
		next = o.base + loc.RequestURI()
	}
	return "", fmt.Errorf("authorize: more than 10 redirects without reaching %s", oidcBenchRedirect)
}

// exchange posts the code to the token endpoint, as the app would with
// its secret, and returns the access token.
func (o *oidcClient) exchange(ctx context.Context, code string) (string, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {oidcBenchRedirect}, "code_verifier": {o.verifier}}
	data, err := postForm(ctx, o.http, o.base+"/oidc/token", form, o.clientID, o.secret)
	if err != nil {
		return "", err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(data, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("token: no access_token in %.200s", data)
	}
	return tok.AccessToken, nil
}

// postForm sends a token request with basic client authentication and
// wants 200.
func postForm(ctx context.Context, hc *http.Client, target string, form url.Values, id, secret string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", target, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: %s: %.200s", req.URL.Path, resp.Status, data)
	}
	return data, nil
}

// runCodeLoop runs workers for about d, round after round: each worker
// gets oidcBatch codes with get (not timed), then, all together, they
// post them with post, each post timed; serverPID's CPU is metered over
// the posting phases only.
func runCodeLoop(ctx context.Context, label string, workers int, d time.Duration, serverPID int,
	get func(context.Context) (string, error), post func(context.Context, string) error) (loopResult, error) {
	res := loopResult{label: label}
	var lat []time.Duration
	start := time.Now()
	for time.Since(start) < d && ctx.Err() == nil {
		codes := make([][]string, workers)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for i := range workers {
			wg.Go(func() {
				for range oidcBatch {
					c, err := get(ctx)
					if err != nil {
						errs[i] = err
						return
					}
					codes[i] = append(codes[i], c)
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return res, fmt.Errorf("%s: get a code: %w", label, err)
			}
		}
		lats := make([][]time.Duration, workers)
		failed := make([]int, workers)
		var firstErr error
		var mu sync.Mutex
		meter := startCPUMeter(serverPID)
		before, _ := cpuTime(serverPID)
		t0 := time.Now()
		for i := range workers {
			wg.Go(func() {
				for _, c := range codes[i] {
					s := time.Now()
					if err := post(ctx, c); err != nil {
						failed[i]++
						mu.Lock()
						firstErr = cmpOr(firstErr, err)
						mu.Unlock()
						continue
					}
					lats[i] = append(lats[i], time.Since(s))
				}
			})
		}
		wg.Wait()
		res.timed += time.Since(t0)
		after, _ := cpuTime(serverPID)
		cpu := meter.stop()
		res.serverCPU += after - before
		res.otherCPU += time.Duration(cpu.others(0) * float64(cpu.wall))
		for i := range workers {
			lat = append(lat, lats[i]...)
			res.failed += failed[i]
		}
		if firstErr != nil && res.failed > len(lat) {
			return res, fmt.Errorf("%s: most exchanges failed: %w", label, firstErr)
		}
	}
	res.whole = time.Since(start)
	slices.Sort(lat)
	res.exchanges = len(lat)
	res.p50, res.p99 = percentile(lat, 50), percentile(lat, 99)
	return res, ctx.Err()
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// runOIDCPhase measures, in one run, the token endpoint's code exchange
// and the userinfo endpoint of invited beside the bare handler, and the
// server CPU of a password login for comparison.
func runOIDCPhase(ctx context.Context, o options, rep *report, api *apiClient, runner *validateRunner,
	server, bare *proc, base, bareBase, bareValidateURL string, say func(string, ...any)) error {
	const workers = 8
	or := &oidcReport{workers: workers}
	rep.oidc = or
	rp, err := api.newOIDCClient(ctx, workers+o.conns)
	if err != nil {
		return err
	}

	// A login for comparison: one password hash each.
	or.loginRuns = 5
	before, _ := cpuTime(server.pid())
	for range or.loginRuns {
		if _, _, err := api.login(ctx, oidcBenchUser); err != nil {
			return err
		}
	}
	after, _ := cpuTime(server.pid())
	or.loginCPU = (after - before) / time.Duration(or.loginRuns)
	say("oidc: a password login costs the server %s of CPU", or.loginCPU.Round(time.Microsecond))
	if or.rsaSign, or.rsaVerify, err = timeRS256(time.Second); err != nil {
		return err
	}
	say("oidc: RS256 here: %s a signature, %s a check", or.rsaSign.Round(time.Microsecond), or.rsaVerify.Round(time.Microsecond))

	// The code exchange, then the same loop against the bare handler.
	say("oidc: code exchange loop, %d workers, %s", workers, o.validateDuration)
	or.exchange, err = runCodeLoop(ctx, "invited: POST /oidc/token (code exchange)", workers, o.validateDuration, server.pid(),
		rp.code, func(ctx context.Context, code string) error { _, err := rp.exchange(ctx, code); return err })
	if err != nil {
		return err
	}
	say("oidc: bare loop, %d workers, %s", workers, o.validateDuration)
	bareForm := func(ctx context.Context, code string) error {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {oidcBenchRedirect}, "code_verifier": {rp.verifier}}
		_, err := postForm(ctx, rp.http, bareBase+"/oidc/token", form, rp.clientID, rp.secret)
		return err
	}
	or.bareLoop, err = runCodeLoop(ctx, "bare httprouter: POST /oidc/token", workers, o.validateDuration, bare.pid(),
		func(context.Context) (string, error) { return randomHex(16), nil }, bareForm)
	if err != nil {
		return err
	}

	// userinfo with wrk, a fresh access token each round (they live five
	// minutes).
	for round := 1; round <= o.rounds; round++ {
		code, err := rp.code(ctx)
		if err != nil {
			return err
		}
		token, err := rp.exchange(ctx, code)
		if err != nil {
			return err
		}
		say("oidc round %d/%d: bare, then userinfo (%s)", round, o.rounds, runner.tool)
		b, err := runner.run(ctx, "bare httprouter", bareValidateURL, nil, o.validateDuration, bare.pid())
		if err != nil {
			return err
		}
		or.bare = append(or.bare, b)
		v, err := runner.run(ctx, "invited: GET /oidc/userinfo", base+"/oidc/userinfo", []string{"Authorization: Bearer " + token}, o.validateDuration, server.pid())
		if err != nil {
			return err
		}
		or.userinfo = append(or.userinfo, v)
		say("  bare %.0f req/s, userinfo %.0f req/s (%.0f%%)", b.perSecond, v.perSecond, 100*v.perSecond/b.perSecond)
	}
	return nil
}

// writeOIDCReport writes the -only oidc sections and their verdicts.
func writeOIDCReport(w io.Writer, r *report) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	or := r.oidc
	p("### Token endpoint: code exchange against the bare handler")
	p("")
	p("Go loop, %d workers for %s each: every round each worker gets %d codes through /oidc/authorize with the session cookie (not timed), then all post theirs to the token endpoint (client_secret_basic, PKCE S256), each post timed; server CPU is metered over the posting phases only. The bare handler gets the same POST (and answers 200 with no body).",
		or.workers, fmtSeconds(r.opts.validateDuration), oidcBatch)
	p("")
	p("| server | exchanges | failed | exchanges/s (posting phases) | exchanges/s (whole loop) | p50 | p99 | server CPU | server CPU an exchange | other CPU |")
	p("|---|---|---|---|---|---|---|---|---|---|")
	for _, l := range []loopResult{or.bareLoop, or.exchange} {
		p("| %s | %d | %d | %.0f | %.0f | %s | %s | %s | %s | %s |", l.label, l.exchanges, l.failed,
			float64(l.exchanges)/l.timed.Seconds(), float64(l.exchanges)/l.whole.Seconds(), latency(l.p50), latency(l.p99),
			cores(l.serverCPU, l.timed), latency(l.serverCPU/time.Duration(max(l.exchanges, 1))), cores(l.otherCPU, l.timed))
	}
	p("")
	p("A password login (POST /auth/simple/login, one argon2id hash) cost the server %s of CPU (mean of %d).", latency(or.loginCPU), or.loginRuns)
	p("")
	p("### Userinfo against the bare handler")
	p("")
	p("Tool: %s. Each round fetches a fresh access token, then runs bare, then GET /oidc/userinfo with it; the best round of each counts.", r.tool)
	p("")
	p("| server | round | req/s | p50 | p99 | non-2xx | errors | server CPU | server CPU a request | load CPU | other CPU |")
	p("|---|---|---|---|---|---|---|---|---|---|---|")
	for i := range or.bare {
		for _, v := range []validateResult{or.bare[i], or.userinfo[i]} {
			p("| %s | %d | %.0f | %s | %s | %d | %d | %.2f | %s | %s | %.2f |", v.label, i+1, v.perSecond, latency(v.p50), latency(v.p99),
				v.non2xx, v.errors, v.serverCPU, cpuPerRequest(v), cores(v.loadCPU, v.elapsed), v.other)
		}
	}
	p("")
	p("### Targets")
	p("")
	p("| target | measured | goal | result |")
	p("|---|---|---|---|")
	bb, u := best(or.bare), best(or.userinfo)
	ex := or.exchange
	perEx := ex.serverCPU / time.Duration(max(ex.exchanges, 1))
	perInfo := time.Duration(0)
	if u.perSecond > 0 {
		perInfo = time.Duration(float64(time.Second) * u.serverCPU / u.perSecond)
	}
	p("| a code exchange costs less server CPU than a password login | %s against %s (%.0f×) | < %s | %s |",
		latency(perEx), latency(or.loginCPU), float64(or.loginCPU)/float64(max(perEx, 1)), latency(or.loginCPU),
		passMiss(perEx < or.loginCPU && ex.failed == 0))
	p("| a userinfo request costs less server CPU than a password login | %s against %s (%.0f×) | < %s | %s |",
		latency(perInfo), latency(or.loginCPU), float64(or.loginCPU)/float64(max(perInfo, 1)), latency(or.loginCPU),
		passMiss(perInfo > 0 && perInfo < or.loginCPU && u.non2xx == 0 && u.errors == 0))
	p("")
	p("The floor, timed in the load process in the same run: an RS256 signature (2048-bit key) takes %s and a check %s.", latency(or.rsaSign), latency(or.rsaVerify))
	p("An exchange signs two JWTs (ID and access token): %s of its %s (%.0f%%).", latency(2*or.rsaSign), latency(perEx), 100*float64(2*or.rsaSign)/float64(max(perEx, 1)))
	p("A userinfo request checks one: %s of its %s (%.0f%%); it runs at %.0f%% of the bare handler's req/s (%.0f against %.0f), p99 %s.",
		latency(or.rsaVerify), latency(perInfo), 100*float64(or.rsaVerify)/float64(max(perInfo, 1)), 100*u.perSecond/bb.perSecond, u.perSecond, bb.perSecond, latency(u.p99))
}
