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
	signupShareTarget   = 0.90 // signups/s ≥ 90% of the argon2id ceiling (the median of -signup-runs)
	validateShareTarget = 0.80 // validate req/s ≥ 80% of the bare handler's
	p99Factor           = 3.0  // p99 ≤ 3 × (clients ÷ cores × one hash)
	signupRSSGoalMB     = 100  // server peak RSS during the 8-client signup runs, in MB (10^6 bytes)
	floodRSSGoalMB      = 120  // server peak RSS during the flood, in MB

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
	p("\"Other CPU\" is what the rest of the machine (other processes, kernel threads) used during a phase, in cores: a high value means a noisy neighbour. \"Stolen\" is time the hypervisor gave the virtual CPUs to someone else (steal in /proc/stat), invisible to every process here.")
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

// mb is KiB as MB (10^6 bytes), the unit of the memory goals.
func mb(kib int64) float64 { return float64(kib) * 1024 / 1e6 }

// medianSignup returns the signup run with the median rate (the lower
// middle one of an even count).
// signupCeiling is the ceiling run i (from 0) is judged against: the mean
// of the ceilings measured just before and just after it. The machine's
// hashing rate wanders by a tenth and more from one minute to the next on
// a shared host (other guests' use of the memory bus and caches shows in
// no CPU counter), so a run is compared with the machine as it was around
// it. Without brackets (an older report) it is the best ceiling.
func signupCeiling(r *report, i int) float64 {
	if i+1 < len(r.brackets) {
		return (r.brackets[i].perSecond + r.brackets[i+1].perSecond) / 2
	}
	best, _ := ceilingOf(r.hashes)
	return best
}

// bestCeiling is the highest hashes/s of every ceiling measured in the
// run, brackets included: the strictest yardstick.
func bestCeiling(r *report) float64 {
	best, _ := ceilingOf(r.hashes)
	for _, b := range r.brackets {
		best = max(best, b.perSecond)
	}
	return best
}

// medianShare is the median of the runs' signups/s ÷ their ceilings, and
// the run it belongs to.
func medianShare(r *report) (float64, int) {
	idx := make([]int, len(r.signups))
	for i := range idx {
		idx[i] = i
	}
	share := func(i int) float64 { return r.signups[i].perSecond / signupCeiling(r, i) }
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case share(a) < share(b):
			return -1
		case share(a) > share(b):
			return 1
		}
		return 0
	})
	m := idx[(len(idx)-1)/2]
	return share(m), m
}

func medianSignup(runs []loadResult) loadResult {
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b loadResult) int {
		switch {
		case a.perSecond < b.perSecond:
			return -1
		case a.perSecond > b.perSecond:
			return 1
		}
		return 0
	})
	return sorted[(len(sorted)-1)/2]
}

// peakOf is the highest VmHWM after any of runs, KiB.
func peakOf(runs []loadResult) int64 {
	var peak int64
	for _, r := range runs {
		peak = max(peak, r.peakRSS)
	}
	return peak
}

// clean reports whether every answer of r was one of ok, and every
// request got one.
func clean(r loadResult, ok ...int) bool {
	for c := range r.statuses {
		if !slices.Contains(ok, c) {
			return false
		}
	}
	return r.errors == 0 && r.statuses[200] > 0
}

// writeSignupReport writes the ceiling, signup, login and flood sections.
func writeSignupReport(w io.Writer, r *report) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	ceiling, oneHash := ceilingOf(r.hashes)

	p("### argon2id ceiling (in-process, same run)")
	p("")
	p("| run | one hash alone (mean of %d; fastest) | %d goroutines | hashes/s | CPU a hash | other CPU | idle CPU | stolen CPU |", r.hashes[0].singleRuns, r.hashes[0].workers)
	p("|---|---|---|---|---|---|---|---|")
	for i, h := range r.hashes {
		when := "before the signups"
		if i > 0 {
			when = "after the signups and logins"
		}
		p("| %s | %s; %s | %d hashes in %s | %.1f | %s | %.2f | %.2f | %.2f |", when, ms(h.single), ms(h.singleMin),
			h.hashes, h.elapsed.Round(10*time.Millisecond), h.perSecond, perAnswer(h.cpu.self, h.perSecond), h.cpu.others(0), h.cpu.idle, h.cpu.steal)
	}
	p("")
	p("Counted: ceiling **%.1f hashes/s** and one hash **%s** (the better run of each, which makes the targets stricter).", ceiling, ms(oneHash))
	p("The ceiling hashes with invited's own hasher (`db.Hasher`, one slot per goroutine, each reusing its matrix), which is what a signup runs.")
	if u := r.hashes[0].upstream; u.hashes > 0 {
		p("For the record, golang.org/x/crypto/argon2 as `alexedwards/argon2id` calls it (a fresh matrix per hash) in the same way, before the signups: %d hashes in %s, **%.1f hashes/s** (%.3f of the ceiling), %s of CPU a hash, other CPU %.2f, stolen %.2f.",
			u.hashes, u.elapsed.Round(10*time.Millisecond), u.perSecond, u.perSecond/ceiling, perAnswer(u.cpu.self, u.perSecond), u.cpu.others(0), u.cpu.steal)
	}
	p("A signup's input checks (email, name, zxcvbn) cost %s of one core (mean of %d).", latency(r.hashes[0].check), r.hashes[0].checkRuns)
	p("")

	if len(r.signups) > 0 {
		s0 := r.signups[0]
		p("### Signups: %d clients, %s measured after %s warm-up, %d runs on one server", s0.clients, fmtSeconds(s0.window), fmtSeconds(s0.warmup), len(r.signups))
		p("")
		p("| run | signups/s | ceiling around the run: before / after (stolen) | of that ceiling | of the best ceiling | latency p50 / p90 / p99 / max | answers to requests sent in the window | CPU, cores: server / load / other / idle / stolen | server CPU a signup | server VmHWM after |")
		p("|---|---|---|---|---|---|---|---|---|---|")
		for i, s := range r.signups {
			c := s.cpu
			around := "–"
			if i+1 < len(r.brackets) {
				b, a := r.brackets[i], r.brackets[i+1]
				around = fmt.Sprintf("%.1f (%.2f) / %.1f (%.2f)", b.perSecond, b.cpu.steal, a.perSecond, a.cpu.steal)
			}
			p("| %d | **%.1f** (%d) | %s | **%.3f** | %.3f | %s / %s / %s / %s | %s | %.2f / %.2f / %.2f / %.2f / %.2f | %s | %.1f MB |", i+1, s.perSecond, s.completed,
				around, s.perSecond/signupCeiling(r, i), s.perSecond/bestCeiling(r),
				ms(percentile(s.latencies, 50)), ms(percentile(s.latencies, 90)), ms(percentile(s.latencies, 99)), ms(percentile(s.latencies, 100)),
				statusSummary(s), c.procs, c.self, c.others(0), c.idle, c.steal, perAnswer(c.procs, s.perSecond), mb(s.peakRSS))
		}
		p("")
		last := r.signups[len(r.signups)-1]
		p("Server RSS before the first run %.1f MB, after the last %.1f MB (%.1f MB anonymous: heap, stacks; %.1f MB file-backed: the binary, the mapped database).",
			mb(s0.rssIdle), mb(last.rssEnd), mb(last.rssAnon), mb(last.rssFile))
		p("")
		for _, s := range r.signups {
			if s.firstBad != "" {
				p("First non-200 answer: `%s`", strings.ReplaceAll(s.firstBad, "`", "'"))
				p("")
			}
			if s.firstErr != "" {
				p("First request without an answer: `%s`", s.firstErr)
				p("")
			}
		}
	}
	writeProfileReport(w, r)

	if l := r.logins; l != nil {
		p("### Logins: %d clients, POST /auth/simple/login as one user, %s measured after %s warm-up", l.clients, fmtSeconds(l.window), fmtSeconds(l.warmup))
		p("")
		p("| logins/s | of the ceiling | latency p50 / p99 | answers | CPU, cores: server / load / other / idle / stolen | server CPU a login |")
		p("|---|---|---|---|---|---|")
		c := l.cpu
		p("| **%.1f** (%d) | %.3f | %s / %s | %s | %.2f / %.2f / %.2f / %.2f / %.2f | %s |", l.perSecond, l.completed, l.perSecond/ceiling,
			ms(percentile(l.latencies, 50)), ms(percentile(l.latencies, 99)), statusSummary(*l), c.procs, c.self, c.others(0), c.idle, c.steal, perAnswer(c.procs, l.perSecond))
		p("")
	}
	if f := r.flood; f != nil {
		p("### Flood: %d clients for %s on a fresh server", f.clients, fmtSeconds(f.window))
		p("")
		p("| answers | 200/s | p50 / p99 of the 200s | CPU, cores: server / load / other / idle / stolen | server RSS idle before / peak (VmHWM) / after |")
		p("|---|---|---|---|---|")
		c := f.cpu
		p("| %s | %.1f | %s / %s | %.2f / %.2f / %.2f / %.2f / %.2f | %.1f / **%.1f** / %.1f MB |", statusSummary(*f), f.perSecond,
			ms(percentile(f.latencies, 50)), ms(percentile(f.latencies, 99)), c.procs, c.self, c.others(0), c.idle, c.steal, mb(f.rssIdle), mb(f.peakRSS), mb(f.rssEnd))
		p("")
		p("After the flood: %.1f MB anonymous, %.1f MB file-backed.", mb(f.rssAnon), mb(f.rssFile))
		p("")
		if f.firstErr != "" {
			p("First request without an answer: `%s`", f.firstErr)
			p("")
		}
	}
}

// perAnswer is the server's CPU time per answer.
func perAnswer(serverCores, perSecond float64) string {
	if perSecond <= 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f ms", 1000*serverCores/perSecond)
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
	var worst float64
	for _, s := range r.signups {
		worst = max(worst, s.cpu.others(0))
	}
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
	if len(r.signups) == 0 {
		return
	}
	m, s := r.machine, medianSignup(r.signups)
	_, oneHash := ceilingOf(r.hashes)
	p99 := percentile(s.latencies, 99)
	p99Goal := time.Duration(p99Factor * float64(s.clients) / float64(m.numCPU) * float64(oneHash))
	allClean := true
	for _, run := range r.signups {
		allClean = allClean && clean(run, 200)
	}
	var rates, strict []string
	for i, run := range r.signups {
		rates = append(rates, fmt.Sprintf("%.3f", run.perSecond/signupCeiling(r, i)))
		strict = append(strict, fmt.Sprintf("%.3f", run.perSecond/bestCeiling(r)))
	}
	share, mi := medianShare(r)
	mr := r.signups[mi]
	p("| signups/s ≥ %.0f%% of the argon2id ceiling measured around each run (median of %d runs; other CPU %.2f, stolen %.2f) | %.1f/s = %.3f of %.1f (runs: %s) | ≥ %.3f | %s |",
		100*signupShareTarget, len(r.signups), mr.cpu.others(0), mr.cpu.steal, mr.perSecond, share, signupCeiling(r, mi), strings.Join(rates, ", "), signupShareTarget,
		passMiss(share >= signupShareTarget && allClean))
	p("| (reported, not judged) signups/s of the median run ÷ the best ceiling measured anywhere in the run | %.1f/s = %.3f of %.1f (runs: %s) | ≥ %.1f/s | |",
		s.perSecond, s.perSecond/bestCeiling(r), bestCeiling(r), strings.Join(strict, ", "), signupShareTarget*bestCeiling(r))
	p("| p99 signup latency ≤ 3 × (%d ÷ %d cores × one hash) (median run) | %s | ≤ %s (3 × %d/%d × %s) | %s |",
		s.clients, m.numCPU, ms(p99), ms(p99Goal), s.clients, m.numCPU, ms(oneHash), passMiss(p99 <= p99Goal && allClean))
	// Reported, not judged: the same comparison in CPU time, which a
	// neighbour or the hypervisor taking cores away moves far less.
	if hashCPU := cheapestHashCPU(r.hashes); hashCPU > 0 && s.perSecond > 0 {
		signupCPU := s.cpu.procs / s.perSecond
		p("| (reported, not judged) the ceiling's CPU a hash ÷ the server's CPU a signup (median run) | %.1f ms ÷ %.1f ms = %.3f | | |",
			1000*hashCPU, 1000*signupCPU, hashCPU/signupCPU)
	}
	peak := peakOf(r.signups)
	p("| server peak RSS during the %d-client signups ≤ %d MB | %.1f MB (%.1f MiB) | ≤ %d MB | %s |", s.clients, signupRSSGoalMB,
		mb(peak), float64(peak)/1024, signupRSSGoalMB, passMiss(mb(peak) <= signupRSSGoalMB))
	if !allClean {
		p("| (signup answers other than 200 make the signup targets a MISS whatever the figures) | | | |")
	}
	if f := r.flood; f != nil {
		p("| flood of %d clients for %s: only 200 and 503 answers | %s | only 200 and 503 | %s |", f.clients, fmtSeconds(f.window),
			statusSummary(*f), passMiss(clean(*f, 200, 503)))
		p("| server peak RSS during the flood ≤ %d MB (other CPU %.2f) | %.1f MB (%.1f MiB) | ≤ %d MB | %s |", floodRSSGoalMB, f.cpu.others(0),
			mb(f.peakRSS), float64(f.peakRSS)/1024, floodRSSGoalMB, passMiss(mb(f.peakRSS) <= floodRSSGoalMB))
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

func statusSummary(s loadResult) string {
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

// cheapestHashCPU is the lowest CPU time a hash took in the ceiling runs,
// in seconds.
func cheapestHashCPU(runs []hashResult) float64 {
	var best float64
	for _, h := range runs {
		if h.perSecond <= 0 {
			continue
		}
		if c := h.cpu.self / h.perSecond; best == 0 || c < best {
			best = c
		}
	}
	return best
}
