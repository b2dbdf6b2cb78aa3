package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// The targets of the benchmark issue, restated in docs/PERFORMANCE.md.
const (
	signupShareTarget   = 0.85 // signups/s ≥ 85% of the argon2id ceiling
	validateShareTarget = 0.80 // validate req/s ≥ 80% of the bare handler's
	p99Factor           = 3.0  // p99 ≤ 3 × (clients ÷ cores × one hash)

	// noisyNeighbour is the CPU, in cores, that the rest of the machine
	// may use during a measured phase before the report warns.
	noisyNeighbour = 0.15
)

func passMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "**MISS**"
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func latency(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func cores(cpu, wall time.Duration) string {
	if wall <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.2f", cpu.Seconds()/wall.Seconds())
}

// cpuPerRequest is the server's CPU time per answered request. A busy
// neighbour lowers req/s far more than it changes this, so it compares
// servers even when the machine is not quiet.
func cpuPerRequest(v validateResult) string {
	if v.perSecond <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f µs", 1e6*v.serverCPU/v.perSecond)
}

// best returns the run with the highest req/s.
func best(runs []validateResult) validateResult {
	return slices.MaxFunc(runs, func(a, b validateResult) int {
		switch {
		case a.perSecond < b.perSecond:
			return -1
		case a.perSecond > b.perSecond:
			return 1
		}
		return 0
	})
}

func writeReport(w io.Writer, r *report) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	m := r.machine

	p("## invited benchmark, %s", r.started.UTC().Format("2006-01-02 15:04 MST"))
	p("")
	p("Machine: %s CPUs (`nproc`), %s, %s RAM, Linux %s, %s. Server and load generators share the CPUs; they ran at nice %s.",
		m.nproc, m.cpuModel, m.memTotal, m.kernel, m.goVersion, m.nice)
	p("argon2id m=%d KiB t=%d p=%d (invited's defaults); auth.max_concurrent_hashes=%d; rate limits off; log level warn unless said.",
		argonMemoryKiB, argonIterations, argonParallelism, r.slots)
	if r.opts.serverBin != "" {
		p("Server binary: `%s` (given with -server-bin).", r.opts.serverBin)
	}
	if len(r.opts.serverEnv) > 0 {
		p("Extra server environment: `%s`.", strings.Join(r.opts.serverEnv, " "))
	}
	p("\"Other CPU\" is what the rest of the machine (other processes, kernel threads) used during a phase, in cores: a high value means a noisy neighbour.")
	p("")

	if len(r.hashes) > 0 {
		writeSignupReport(w, r)
	}
	if r.oidc != nil {
		writeOIDCReport(w, r)
		return
	}
	writeGateReport(w, r)
}

// writeSignupReport writes the ceiling and signup sections.
func writeSignupReport(w io.Writer, r *report) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	s := r.signup
	ceiling, oneHash := ceilingOf(r.hashes)

	p("### argon2id ceiling (in-process, same run)")
	p("")
	p("| run | one hash alone (mean of %d; fastest) | %d goroutines | hashes/s | other CPU |", r.hashes[0].singleRuns, r.hashes[0].workers)
	p("|---|---|---|---|---|")
	for i, h := range r.hashes {
		when := "before the signups"
		if i > 0 {
			when = "after the signups"
		}
		p("| %s | %s; %s | %d hashes in %s | %.1f | %.2f |", when, ms(h.single), ms(h.singleMin),
			h.hashes, h.elapsed.Round(10*time.Millisecond), h.perSecond, h.cpu.others(0))
	}
	p("")
	p("Counted: ceiling **%.1f hashes/s** and one hash **%s** (the better run of each, which makes the targets stricter).", ceiling, ms(oneHash))
	p("A signup's input checks (email, name, zxcvbn) cost %s of one core (mean of %d).", latency(r.hashes[0].check), r.hashes[0].checkRuns)
	p("")

	p("### Signups: %d clients, %s measured after %s warm-up", s.clients, fmtSeconds(s.window), fmtSeconds(s.warmup))
	p("")
	p("| measure | value |")
	p("|---|---|")
	p("| signups/s | **%.1f** (%d in the window) |", s.perSecond, s.completed)
	p("| latency p50 / p90 / p99 / max | %s / %s / %s / %s |",
		ms(percentile(s.latencies, 50)), ms(percentile(s.latencies, 90)), ms(percentile(s.latencies, 99)), ms(percentile(s.latencies, 100)))
	p("| answers to requests sent in the window | %s |", statusSummary(s))
	c := r.signupCPU
	p("| CPU in the window, cores: server / load generator / other / idle | %.2f / %.2f / %.2f / %.2f |", c.procs, c.self, c.others(0), c.idle)
	p("| server RSS: idle before / peak (VmHWM) / after the run | %.1f / **%.1f** / %.1f MiB |",
		float64(r.rssIdle)/1024, float64(r.peakRSS)/1024, float64(r.rssAfter)/1024)
	p("")
	if s.firstBad != "" {
		p("First non-200 answer: `%s`", strings.ReplaceAll(s.firstBad, "`", "'"))
		p("")
	}
	if s.firstErr != "" {
		p("First request without an answer: `%s`", s.firstErr)
		p("")
	}

}

// writeGateReport writes the gate targets' runs and every verdict.
func writeGateReport(w io.Writer, r *report) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("### Gate targets against the bare httprouter handler")
	p("")
	p("Tool: %s. Each round runs bare, then every target on invited; the best round of each counts.", r.tool)
	p("")
	p("| server | round | req/s | p50 | p99 | non-2xx | errors | server CPU | server CPU a request | load CPU | other CPU |")
	p("|---|---|---|---|---|---|---|---|---|---|---|")
	row := func(v validateResult, round string) {
		p("| %s | %s | %.0f | %s | %s | %d | %d | %.2f | %s | %s | %.2f |", v.label, round, v.perSecond, latency(v.p50), latency(v.p99),
			v.non2xx, v.errors, v.serverCPU, cpuPerRequest(v), cores(v.loadCPU, v.elapsed), v.other)
	}
	for i := range r.bare {
		row(r.bare[i], fmt.Sprint(i+1))
		if i < len(r.bareGate) {
			row(r.bareGate[i], fmt.Sprint(i+1))
		}
		for _, runs := range r.invited {
			row(runs[i], fmt.Sprint(i+1))
		}
	}
	if r.crowded != nil {
		row(*r.crowded, "1")
	}
	if r.logged != nil {
		row(*r.logged, "1")
	}
	p("")
	if r.logged != nil {
		p("With the access log on, the server wrote %.1f MiB of log (%.0f bytes a request) to a file.",
			float64(r.logBytes)/(1<<20), float64(r.logBytes)/max(float64(r.logged.requests), 1))
		p("")
	}

	// A busy neighbour skews the comparisons; say so next to the verdicts.
	worst := r.signupCPU.others(0)
	for _, h := range r.hashes {
		worst = max(worst, h.cpu.others(0))
	}
	for _, v := range slices.Concat(append([][]validateResult{r.bare}, r.invited...)...) {
		worst = max(worst, v.other)
	}
	if worst > noisyNeighbour {
		p("**Warning:** other processes used up to %.2f cores during a measured phase (threshold %.2f); the figures are skewed. Run again on a quiet machine.", worst, noisyNeighbour)
		p("")
	}

	p("### Targets")
	p("")
	p("| target | measured | goal | result |")
	p("|---|---|---|---|")
	if len(r.hashes) > 0 {
		writeSignupTargets(p, r)
	}
	bareBest := best(r.bare)
	for i, t := range r.targets {
		v := best(r.invited[i])
		goal := t.goal * bareBest.perSecond
		clean := v.non2xx == 0 && v.errors == 0 && bareBest.non2xx == 0
		p("| %s ≥ %.0f%% of the bare handler | %.0f req/s = %.0f%% of %.0f (p99 %s) | ≥ %.0f req/s | %s |",
			t.label, 100*t.goal, v.perSecond, 100*v.perSecond/bareBest.perSecond, bareBest.perSecond, latency(v.p99), goal,
			passMiss(v.perSecond >= goal && clean))
		if !clean {
			p("")
			p("Answers other than 2xx on %s make its target a MISS whatever the figures.", t.label)
		}
		if t.p99Goal > 0 {
			p("| %s p99 at %d connections ≤ %s | %s (the bare handler's p99 in its best round: %s) | ≤ %s | %s |",
				t.label, r.opts.conns, latency(t.p99Goal), latency(v.p99), latency(bareBest.p99), latency(t.p99Goal), passMiss(v.p99 <= t.p99Goal && clean))
		}
	}
	if len(r.bareGate) > 0 {
		bg := best(r.bareGate)
		for i, t := range r.targets {
			if t.p99Goal > 0 {
				v := best(r.invited[i])
				p("")
				p("Reported, not judged: %s = %.0f%% of the bare handler sent the same request headers (%.0f req/s).",
					t.label, 100*v.perSecond/bg.perSecond, bg.perSecond)
			}
		}
	}
}

// writeSignupTargets writes the rows of the signup targets.
func writeSignupTargets(p func(string, ...any), r *report) {
	m, s := r.machine, r.signup
	ceiling, oneHash := ceilingOf(r.hashes)
	signupGoal := signupShareTarget * ceiling
	p99 := percentile(s.latencies, 99)
	p99Goal := time.Duration(p99Factor * float64(s.clients) / float64(m.numCPU) * float64(oneHash))
	clean := s.statuses[200] > 0 && len(s.statuses) == 1 && s.errors == 0
	p("| signups/s ≥ 85%% of the argon2id ceiling | %.1f/s = %.0f%% of %.1f | ≥ %.1f/s | %s |",
		s.perSecond, 100*s.perSecond/ceiling, ceiling, signupGoal, passMiss(s.perSecond >= signupGoal && clean))
	p("| p99 signup latency ≤ 3 × (%d ÷ %d cores × one hash) | %s | ≤ %s (3 × %d/%d × %s) | %s |",
		s.clients, m.numCPU, ms(p99), ms(p99Goal), s.clients, m.numCPU, ms(oneHash), passMiss(p99 <= p99Goal && clean))
	if !clean {
		p("| (signup answers other than 200 make the signup targets a MISS whatever the figures) | | | |")
	}
}

// ceilingOf returns the best hashes/s and the shortest mean hash time of
// the ceiling runs.
func ceilingOf(runs []hashResult) (perSecond float64, oneHash time.Duration) {
	for _, h := range runs {
		perSecond = max(perSecond, h.perSecond)
		if oneHash == 0 || h.single < oneHash {
			oneHash = h.single
		}
	}
	return perSecond, oneHash
}

func statusSummary(s signupResult) string {
	if len(s.statuses) == 0 && s.errors == 0 {
		return "none"
	}
	codes := make([]int, 0, len(s.statuses))
	for c := range s.statuses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		parts = append(parts, fmt.Sprintf("%d × %d", s.statuses[c], c))
	}
	nonOK := s.errors
	for c, n := range s.statuses {
		if c != 200 {
			nonOK += n
		}
	}
	if s.errors > 0 {
		parts = append(parts, fmt.Sprintf("%d without answer", s.errors))
	}
	if nonOK == 0 {
		return strings.Join(parts, ", ") + " (no other answer)"
	}
	return strings.Join(parts, ", ") + fmt.Sprintf(" (**%d not 200**; 503 means the hash queue overflowed)", nonOK)
}
