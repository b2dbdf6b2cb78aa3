package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// validateResult is one load run against one GET URL.
type validateResult struct {
	label     string
	tool      string
	requests  int64
	perSecond float64
	p50, p99  time.Duration
	non2xx    int64
	errors    int64         // socket errors (wrk) or requests without an answer (Go)
	loadCPU   time.Duration // CPU time of the load generator during the run
	serverCPU float64       // server CPU during the run, in cores
	other     float64       // CPU of everything else on the machine, in cores
	elapsed   time.Duration
}

// gateTarget is one request that is measured against the bare handler:
// something every page view or every proxied request costs the server.
type gateTarget struct {
	label   string
	path    string   // on invited, with the query
	headers []string // "Name: value", e.g. a session cookie
	goal    float64  // the least share of the bare handler's req/s
	// p99Goal, when set, is the most its best round's p99 may be.
	p99Goal time.Duration
}

// validateRunner measures req/s of GET requests with conns connections,
// using wrk when it can.
type validateRunner struct {
	tool  string // "wrk" or "go"
	why   string // why the Go loop stands in for wrk
	wrk   string // path of wrk
	conns int
}

func newValidateRunner(choice string, conns int) (*validateRunner, error) {
	r := &validateRunner{conns: conns}
	switch choice {
	case "auto", "wrk":
		if path, err := exec.LookPath("wrk"); err == nil {
			r.tool, r.wrk = "wrk", path
			return r, nil
		} else if choice == "wrk" {
			return nil, fmt.Errorf("-tool wrk: %w (install it with apt-get install -y wrk)", err)
		}
		r.tool, r.why = "go", "wrk not found"
	case "go":
		r.tool, r.why = "go", "chosen with -tool go"
	default:
		return nil, fmt.Errorf("-tool %q: use auto, wrk or go", choice)
	}
	return r, nil
}

// describe names the tool and its settings for the report.
func (r *validateRunner) describe(d time.Duration) string {
	if r.tool == "wrk" {
		version := "wrk"
		if out, _ := exec.Command(r.wrk, "--version").CombinedOutput(); len(out) > 0 {
			version = strings.Fields(string(out))[0] + " " + strings.Fields(string(out))[1]
		}
		return fmt.Sprintf("%s, `wrk -t1 -c%d -d%s --latency`", version, r.conns, fmtSeconds(d))
	}
	return fmt.Sprintf("Go client loop (%s; it costs more CPU than wrk, so its req/s are lower), %d connections for %s", r.why, r.conns, fmtSeconds(d))
}

// run loads url, sending headers ("Name: value") with every request, for
// d; serverPID is the server whose CPU time is recorded.
func (r *validateRunner) run(ctx context.Context, label, url string, headers []string, d time.Duration, serverPID int) (validateResult, error) {
	meter := startCPUMeter(serverPID)
	var res validateResult
	var err error
	if r.tool == "wrk" {
		res, err = r.runWrk(ctx, url, headers, d)
	} else {
		res, err = r.runGo(ctx, url, headers, d)
	}
	cpu := meter.stop()
	res.label, res.tool, res.serverCPU = label, r.tool, cpu.procs
	if r.tool == "wrk" {
		res.other = cpu.others(res.loadCPU.Seconds() / cpu.wall.Seconds())
	} else {
		res.other = cpu.others(0)
	}
	return res, err
}

var (
	wrkRequestsRE = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([0-9.]+\w+),`)
	wrkRateRE     = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkNon2xxRE   = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s+(\d+)`)
	wrkSocketRE   = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkPctRE      = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+\w+)`)
)

func (r *validateRunner) runWrk(ctx context.Context, url string, headers []string, d time.Duration) (validateResult, error) {
	var res validateResult
	// wrk takes whole seconds.
	d = max(d.Round(time.Second), time.Second)
	// wrk stops by itself after -d; the context is a safety net.
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	args := []string{"-t1", fmt.Sprintf("-c%d", r.conns), "-d" + fmtSeconds(d), "--latency"}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	cmd := exec.CommandContext(ctx, r.wrk, append(args, url)...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.Output()
	res.elapsed = time.Since(start)
	if cmd.ProcessState != nil {
		res.loadCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return res, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	text := string(out)
	m := wrkRateRE.FindStringSubmatch(text)
	if m == nil {
		return res, fmt.Errorf("wrk printed no Requests/sec line:\n%s", text)
	}
	res.perSecond, _ = strconv.ParseFloat(m[1], 64)
	if m := wrkRequestsRE.FindStringSubmatch(text); m != nil {
		res.requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := wrkNon2xxRE.FindStringSubmatch(text); m != nil {
		res.non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := wrkSocketRE.FindStringSubmatch(text); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			res.errors += n
		}
	}
	for _, m := range wrkPctRE.FindAllStringSubmatch(text, -1) {
		v, perr := parseWrkDuration(m[2])
		if perr != nil {
			continue
		}
		if m[1] == "50" {
			res.p50 = v
		} else {
			res.p99 = v
		}
	}
	return res, nil
}

// parseWrkDuration reads wrk's latency figures: 412.00us, 1.23ms, 2.00s, 1.00m.
func parseWrkDuration(s string) (time.Duration, error) {
	if strings.HasSuffix(s, "m") && !strings.HasSuffix(s, "ms") {
		s += "in"
	}
	s = strings.Replace(s, "min", "m", 1)
	return time.ParseDuration(s)
}

// runGo is the fallback load generator: conns goroutines, each with its own
// kept-alive connection, sending GETs back to back until d has passed.
func (r *validateRunner) runGo(ctx context.Context, url string, headers []string, d time.Duration) (validateResult, error) {
	var res validateResult
	client := newHTTPClient(r.conns)
	defer client.CloseIdleConnections()

	cpuBefore := selfCPU()
	start := time.Now()
	deadline := start.Add(d)
	lat := make([][]time.Duration, r.conns)
	non2xx := make([]int64, r.conns)
	errs := make([]int64, r.conns)
	var wg sync.WaitGroup
	for i := range r.conns {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
				for _, h := range headers {
					name, value, _ := strings.Cut(h, ":")
					req.Header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
				}
				resp, err := client.Do(req)
				if err != nil {
					errs[i]++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = append(lat[i], time.Since(t0))
				if resp.StatusCode < 200 || resp.StatusCode > 399 {
					non2xx[i]++
				}
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.loadCPU = selfCPU() - cpuBefore
	all := slices.Concat(lat...)
	slices.Sort(all)
	for i := range r.conns {
		res.non2xx += non2xx[i]
		res.errors += errs[i]
	}
	res.requests = int64(len(all))
	res.perSecond = float64(res.requests) / res.elapsed.Seconds()
	res.p50, res.p99 = percentile(all, 50), percentile(all, 99)
	return res, ctx.Err()
}

// fmtSeconds writes d as wrk and people read it: "10s", "2.5s".
func fmtSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}
