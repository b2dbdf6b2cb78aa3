package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// apiClient talks to the invited server under test.
type apiClient struct {
	base   string // http://127.0.0.1:port
	apiKey string
	http   *http.Client
}

func newHTTPClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil, // loopback only, whatever HTTP_PROXY says
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			DisableCompression:  true,
			IdleConnTimeout:     time.Minute,
		},
	}
}

// createLink creates a signup link named name through the admin API and
// returns its secret.
func (c *apiClient) createLink(ctx context.Context, name string) (string, error) {
	body, _ := json.Marshal(map[string]any{
		"name":      name,
		"expiresAt": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
	})
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+"/api/admin/invite-link/tokens", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	resp, err := c.http.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("create link: %s: %s", resp.Status, data)
	}
	var link struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(data, &link); err != nil || link.Secret == "" {
		return "", fmt.Errorf("create link: unexpected answer %s", data)
	}
	return link.Secret, nil
}

// loadResult is what one closed-loop run (signups, logins or the flood)
// measured.
type loadResult struct {
	clients   int
	warmup    time.Duration
	window    time.Duration // the measured part, after the warm-up
	completed int           // 200 answers that ended inside the window
	perSecond float64
	latencies []time.Duration // of the 200 answers to requests started in the window, sorted
	statuses  map[int]int     // every answer in the window by status, 200 included
	errors    int             // requests that got no answer
	firstErr  string
	firstBad  string // the body of the first non-200 answer
	total     int    // 200 answers, warm-up included

	// Filled in by the phase that ran it.
	cpu     phaseCPU // during the measured window
	peakRSS int64    // server VmHWM after the run, KiB
	rssIdle int64    // server VmRSS before the run, KiB
	rssEnd  int64    // server VmRSS after the run, KiB
	// The server's resident memory after the run, anonymous (the heap,
	// stacks) and file-backed (the binary's pages, the mapped database).
	rssAnon, rssFile int64
}

type sample struct {
	start, end time.Time
	status     int // 0: no answer
	err        string
	body       string
}

// runLoad has clients goroutines post to url, each waiting for its answer
// before sending the next, for warmup+d; body gives client i's n-th
// request body. Only the part after the warm-up is measured.
func runLoad(ctx context.Context, c *apiClient, url string, clients int, warmup, d time.Duration, body func(i, n int) []byte) loadResult {
	res := loadResult{clients: clients, warmup: warmup, window: d, statuses: map[int]int{}}
	start := time.Now()
	windowStart := start.Add(warmup)
	windowEnd := windowStart.Add(d)

	perClient := make([][]sample, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			for n := 0; time.Now().Before(windowEnd) && ctx.Err() == nil; n++ {
				perClient[i] = append(perClient[i], c.signupOnce(ctx, url, body(i, n)))
			}
		})
	}
	wg.Wait()

	for _, samples := range perClient {
		for _, s := range samples {
			if s.status == http.StatusOK {
				res.total++
			}
			if s.start.Before(windowStart) && s.end.Before(windowStart) {
				continue // warm-up
			}
			if s.status == http.StatusOK && !s.end.Before(windowStart) && !s.end.After(windowEnd) {
				res.completed++
			}
			if s.start.Before(windowStart) {
				continue // latency and status only of requests started in the window
			}
			switch {
			case s.status == 0:
				res.errors++
				if res.firstErr == "" {
					res.firstErr = s.err
				}
			default:
				res.statuses[s.status]++
				if s.status == http.StatusOK {
					res.latencies = append(res.latencies, s.end.Sub(s.start))
				} else if res.firstBad == "" {
					res.firstBad = fmt.Sprintf("%d %s", s.status, s.body)
				}
			}
		}
	}
	slices.Sort(res.latencies)
	res.perSecond = float64(res.completed) / d.Seconds()
	return res
}

// signupBody returns the body of client i's n-th signup of a run: distinct
// addresses, the same strong password.
func signupBody(runID int64) func(i, n int) []byte {
	return func(i, n int) []byte {
		body, _ := json.Marshal(map[string]string{
			"email":    fmt.Sprintf("load%d.c%d.n%d@example.com", runID, i, n),
			"name":     fmt.Sprintf("Load Client %d", i),
			"password": benchPassword,
		})
		return body
	}
}

func (c *apiClient) signupOnce(ctx context.Context, url string, body []byte) sample {
	s := sample{start: time.Now()}
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		s.end, s.err = time.Now(), err.Error()
		return s
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		s.end, s.err = time.Now(), err.Error()
		return s
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	s.end = time.Now()
	s.status = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		s.body = string(data)
		if len(s.body) > 300 {
			s.body = s.body[:300]
		}
	}
	return s
}

// percentile returns the p-th percentile (nearest rank) of sorted values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// runMeasured runs one closed-loop load against server and records the
// server's CPU in the measured window and its memory.
func runMeasured(ctx context.Context, api *apiClient, server *proc, url string, clients int, warmup, d time.Duration,
	body func(i, n int) []byte, inWindow func()) loadResult {
	rssIdle, _ := memoryKiB(server.pid(), "VmRSS")
	meterc := make(chan *cpuMeter, 1)
	windowTimer := time.AfterFunc(warmup, func() {
		meterc <- startCPUMeter(server.pid())
		if inWindow != nil {
			inWindow()
		}
	})
	res := runLoad(ctx, api, url, clients, warmup, d, body)
	windowTimer.Stop()
	select {
	case m := <-meterc:
		res.cpu = m.stop()
	default: // cut short before the window
	}
	res.rssIdle = rssIdle
	res.peakRSS, _ = memoryKiB(server.pid(), "VmHWM")
	res.rssEnd, _ = memoryKiB(server.pid(), "VmRSS")
	res.rssAnon, _ = memoryKiB(server.pid(), "RssAnon")
	res.rssFile, _ = memoryKiB(server.pid(), "RssFile")
	api.http.CloseIdleConnections()
	return res
}

// runSignupPhase runs the signup load -signup-runs times against server
// and records every run's figures; with -profile, the first run's window
// is profiled through the server's debug listener.
func runSignupPhase(ctx context.Context, o options, rep *report, api *apiClient, server *proc, link string, say func(string, ...any)) error {
	url := api.base + "/invite/" + link + "/signup"
	bracket := func() error {
		b, err := measureBracket(ctx, o.hashDuration)
		if err != nil {
			return fmt.Errorf("argon2id ceiling between signup runs: %w", err)
		}
		rep.brackets = append(rep.brackets, b)
		say("  ceiling %.1f hashes/s (stolen %.2f)", b.perSecond, b.cpu.steal)
		return nil
	}
	for run := 1; run <= o.signupRuns; run++ {
		if err := bracket(); err != nil {
			return err
		}
		say("signups %d/%d: %d clients, %s warm-up, %s measured", run, o.signupRuns, o.clients, o.warmup, o.signupDuration)
		var inWindow func()
		var profDone chan error
		if run == 1 && rep.debugBase != "" {
			profDone = make(chan error, 1)
			inWindow = func() {
				go func() {
					profDone <- fetchProfile(ctx, rep.debugBase, fmt.Sprintf("/debug/pprof/profile?seconds=%d", max(int(o.signupDuration.Seconds())-1, 1)),
						filepath.Join(o.profileDir, "cpu.pprof"))
				}()
			}
		}
		res := runMeasured(ctx, api, server, url, o.clients, o.warmup, o.signupDuration, signupBody(time.Now().UnixNano()), inWindow)
		if err := ctx.Err(); err != nil {
			return err
		}
		if profDone != nil {
			if err := <-profDone; err != nil {
				return fmt.Errorf("-profile: %w", err)
			}
			for _, name := range []string{"allocs", "heap"} {
				if err := fetchProfile(ctx, rep.debugBase, "/debug/pprof/"+name, filepath.Join(o.profileDir, name+".pprof")); err != nil {
					return fmt.Errorf("-profile: %w", err)
				}
			}
		}
		rep.signups = append(rep.signups, res)
		say("  %.1f signups/s, p99 %s, peak RSS %d MiB, other CPU %.2f", res.perSecond, percentile(res.latencies, 99).Round(time.Millisecond), res.peakRSS/1024, res.cpu.others(0))
	}
	return bracket()
}

// runLoginPhase signs one user up through a link of its own, then has
// -clients clients log in as that user (POST /auth/simple/login, one
// argon2id check each) for -login-duration.
func runLoginPhase(ctx context.Context, o options, rep *report, api *apiClient, server *proc, say func(string, ...any)) error {
	secret, err := api.createLink(ctx, "bench logins")
	if err != nil {
		return err
	}
	if _, _, err := api.do(ctx, "POST", "/invite/"+secret+"/signup", map[string]any{
		"email": loginBenchUser + "@example.com", "username": loginBenchUser, "name": "Login Bench", "password": benchPassword}, false, http.StatusOK); err != nil {
		return fmt.Errorf("sign the login bench user up: %w", err)
	}
	body, _ := json.Marshal(map[string]string{"username": loginBenchUser, "password": benchPassword})
	say("logins: %d clients, 1s warm-up, %s measured", o.clients, o.loginDuration)
	res := runMeasured(ctx, api, server, api.base+"/auth/simple/login", o.clients, time.Second, o.loginDuration,
		func(int, int) []byte { return body }, nil)
	if err := ctx.Err(); err != nil {
		return err
	}
	rep.logins = &res
	say("  %.1f logins/s, p99 %s", res.perSecond, percentile(res.latencies, 99).Round(time.Millisecond))
	return nil
}

// loginBenchUser is the username of the login phase's user.
const loginBenchUser = "benchlogin"

// runFloodPhase starts a server of its own on a fresh data folder and
// sends it -flood-clients concurrent signups for -flood-duration: far more
// than the hash slots, so most wait and some get 503. Every answer other
// than 200 and 503, and every request without an answer, is a MISS; the
// server's peak RSS is its own, apart from the 8-client runs.
func runFloodPhase(ctx context.Context, o options, rep *report, serverBin, tmpDir string, say func(string, ...any)) error {
	dir := filepath.Join(tmpDir, "flood")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	apiKey := randomHex(24)
	server, base, err := startInvited(ctx, serverBin, dir, apiKey, "warn", "server-flood.log", o.serverEnv, o.profileDir != "")
	if err != nil {
		return err
	}
	// With -profile, the heap (and the runtime's memory statistics, in
	// the text form) halfway through the flood.
	var inWindow func()
	profDone := make(chan error, 1)
	if o.profileDir != "" {
		debugBase, err := server.waitForLine(ctx, debugAddrRE, 5*time.Second)
		if err != nil {
			return fmt.Errorf("-profile: %w", err)
		}
		inWindow = func() {
			go func() {
				select {
				case <-ctx.Done():
					profDone <- ctx.Err()
					return
				case <-time.After(o.floodDuration / 2):
				}
				err := fetchProfile(ctx, debugBase, "/debug/pprof/heap", filepath.Join(o.profileDir, "flood-heap.pprof"))
				if err == nil {
					err = fetchProfile(ctx, debugBase, "/debug/pprof/heap?debug=1", filepath.Join(o.profileDir, "flood-heap.txt"))
				}
				profDone <- err
			}()
		}
	} else {
		profDone <- nil
	}
	defer server.stop(20 * time.Second)
	api := &apiClient{base: base, apiKey: apiKey, http: newHTTPClient(o.floodClients + 2)}
	link, err := api.createLink(ctx, "bench flood")
	if err != nil {
		return err
	}
	say("flood: %d clients for %s on a fresh server (pid %d)", o.floodClients, o.floodDuration, server.pid())
	res := runMeasured(ctx, api, server, base+"/invite/"+link+"/signup", o.floodClients, 0, o.floodDuration,
		signupBody(time.Now().UnixNano()), inWindow)
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := <-profDone; err != nil {
		return fmt.Errorf("-profile: the flood's heap: %w", err)
	}
	rep.flood = &res
	rep.floodLog = server.logPath
	say("  %s; peak RSS %d MiB", statusSummary(res), res.peakRSS/1024)
	return server.stop(20 * time.Second)
}
