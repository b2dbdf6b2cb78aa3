package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
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

// signupResult is what the signup run measured.
type signupResult struct {
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
	total     int    // signups done, warm-up included
}

type sample struct {
	start, end time.Time
	status     int // 0: no answer
	err        string
	body       string
}

// runSignups has clients goroutines sign people up through the link, each
// waiting for its answer before sending the next, for warmup+d. Only the
// part after the warm-up is measured.
func runSignups(ctx context.Context, c *apiClient, secret string, clients int, warmup, d time.Duration) signupResult {
	res := signupResult{clients: clients, warmup: warmup, window: d, statuses: map[int]int{}}
	url := c.base + "/invite/" + secret + "/signup"
	runID := time.Now().UnixNano()

	start := time.Now()
	windowStart := start.Add(warmup)
	windowEnd := windowStart.Add(d)

	perClient := make([][]sample, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			for n := 0; time.Now().Before(windowEnd) && ctx.Err() == nil; n++ {
				body, _ := json.Marshal(map[string]string{
					"email":    fmt.Sprintf("load%d.c%d.n%d@example.com", runID, i, n),
					"name":     fmt.Sprintf("Load Client %d", i),
					"password": benchPassword,
				})
				perClient[i] = append(perClient[i], c.signupOnce(ctx, url, body))
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

// runSignupPhase runs the signup load against server and records its
// figures, the server's CPU in the measured window and its memory.
func runSignupPhase(ctx context.Context, o options, rep *report, api *apiClient, server *proc, link string, say func(string, ...any)) error {
	say("signups: %d clients, %s warm-up, %s measured", o.clients, o.warmup, o.signupDuration)
	meterc := make(chan *cpuMeter, 1)
	windowTimer := time.AfterFunc(o.warmup, func() { meterc <- startCPUMeter(server.pid()) })
	rep.signup = runSignups(ctx, api, link, o.clients, o.warmup, o.signupDuration)
	windowTimer.Stop()
	select {
	case m := <-meterc:
		rep.signupCPU = m.stop()
	default: // cut short before the window
	}
	var err error
	if rep.peakRSS, err = memoryKiB(server.pid(), "VmHWM"); err != nil {
		return err
	}
	rep.rssAfter, _ = memoryKiB(server.pid(), "VmRSS")
	if err := ctx.Err(); err != nil {
		return err
	}
	say("  %.1f signups/s, p99 %s, peak RSS %d MiB", rep.signup.perSecond, percentile(rep.signup.latencies, 99).Round(time.Millisecond), rep.peakRSS/1024)
	api.http.CloseIdleConnections()
	return nil
}
