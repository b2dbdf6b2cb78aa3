package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// -profile: the server is started with its debug listener on loopback
// (INVITED_DEBUG_LISTEN=127.0.0.1:0), a CPU profile is fetched over the
// first signup run's measured window and the allocation and heap profiles
// after it, all written to the -profile folder, and the report sorts the
// samples' stacks into a few named parts of a signup.

// debugAddrRE finds the debug listener's address in the server's log.
var debugAddrRE = regexp.MustCompile(`debug_addr=(http://127\.0\.0\.1:\d+)`)

// fetchProfile GETs path from the server's debug listener into file.
func fetchProfile(ctx context.Context, debugBase, path, file string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", debugBase+path, nil)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, msg)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return f.Close()
}

// profilePart is one named part of a signup's cost, found by the frames
// of a sample's stack.
type profilePart struct {
	name  string
	match func(frames []string) bool
}

func anyFrame(frames []string, substrs ...string) bool {
	for _, f := range frames {
		for _, s := range substrs {
			if strings.Contains(f, s) {
				return true
			}
		}
	}
	return false
}

// profileParts are checked in order; a sample counts for the first part
// that matches. The garbage collector comes first, since its assists run
// inside whatever allocated; then argon2, split into its own computation
// and the runtime work of getting its 19 MiB matrix (allocation, zeroing,
// page faults).
var profileParts = []profilePart{
	{"GC: mark workers, assists, sweeping, scavenging", func(f []string) bool {
		return anyFrame(f, "runtime.gcBgMarkWorker", "runtime.gcAssistAlloc", "runtime.bgsweep", "runtime.bgscavenge", "runtime.gcStart",
			"runtime.markroot", "runtime.gcDrain", "runtime.sweepone", "runtime.(*mheap).reclaim", "runtime.(*scavengerState)", "runtime.forEachP", "runtime.gcMarkDone", "runtime.gcMarkTermination")
	}},
	{"argon2: the hash's computation", func(f []string) bool {
		return anyFrame(f, argon2Frames...) && !strings.HasPrefix(f[0], "runtime.") && !strings.HasPrefix(f[0], "[")
	}},
	{"argon2: getting its matrix (allocation, zeroing, page faults)", func(f []string) bool {
		return anyFrame(f, argon2Frames...) || anyFrame(f, "invited/db.newMatrix", "invited/db.(*matrix)")
	}},
	{"password strength (zxcvbn)", func(f []string) bool { return anyFrame(f, "zxcvbn") }},
	{"bbolt: transactions, commit, fdatasync", func(f []string) bool { return anyFrame(f, "go.etcd.io/bbolt") }},
	{"JSON (requests, answers, records)", func(f []string) bool {
		return anyFrame(f, "encoding/json", "go-json-experiment", "encoding/json/v2", "encoding/json/jsontext")
	}},
	{"logging (slog)", func(f []string) bool { return anyFrame(f, "log/slog") }},
	{"invited's own code (db, server)", func(f []string) bool { return anyFrame(f, "invited/db.", "invited/server.") }},
	{"HTTP and the network (net/http, net, syscalls)", func(f []string) bool {
		return anyFrame(f, "net/http.", "net.", "internal/poll.", "syscall.")
	}},
	{"Go scheduler and the rest of the runtime", func(f []string) bool { return anyFrame(f, "runtime.") }},
}

const otherPart = "anything else"

// argon2Frames name argon2's code: invited's copy, and upstream's for a
// server built before it.
var argon2Frames = []string{"invited/third_party/argon2", "golang.org/x/crypto/argon2"}

// profileShares is a profile split into profileParts.
type profileShares struct {
	kind   string // "cpu" or "alloc_space"
	total  float64
	unit   string
	byPart map[string]float64
}

// analyseProfile reads file with `go tool pprof -traces` and splits its
// samples into profileParts.
func analyseProfile(ctx context.Context, bin, file, sampleIndex string) (profileShares, error) {
	args := []string{"tool", "pprof", "-traces"}
	if sampleIndex != "" {
		args = append(args, "-sample_index="+sampleIndex)
	}
	args = append(args, bin, file)
	out, err := exec.CommandContext(ctx, "go", args...).Output()
	if err != nil {
		return profileShares{}, fmt.Errorf("go tool pprof -traces %s: %w", file, err)
	}
	ps := profileShares{kind: sampleIndex, byPart: map[string]float64{}}
	if ps.kind == "" {
		ps.kind = "cpu"
	}
	var value float64
	var frames []string
	flush := func() {
		if len(frames) > 0 && value > 0 {
			part := otherPart
			for _, p := range profileParts {
				if p.match(frames) {
					part = p.name
					break
				}
			}
			// An allocation inside argon2 is its matrix, whichever
			// function made it.
			if ps.kind != "cpu" && part == profileParts[1].name {
				part = profileParts[2].name
			}
			ps.byPart[part] += value
			ps.total += value
		}
		value, frames = 0, nil
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "-----------+") {
			flush()
			continue
		}
		if frames == nil && value == 0 {
			// The first line of a trace: "     10ms   runtime.memclr...".
			f := strings.Fields(line)
			if len(f) >= 2 {
				if v, unit, ok := parseValue(f[0]); ok {
					value, ps.unit = v, unit
					frames = append(frames, f[1])
				}
			}
			continue
		}
		if f := strings.Fields(line); len(f) == 1 {
			frames = append(frames, f[0])
		} else if len(f) > 1 && !strings.Contains(line, ":") {
			frames = append(frames, f[len(f)-1])
		}
	}
	flush()
	if ps.total == 0 {
		return ps, fmt.Errorf("%s: no samples", file)
	}
	return ps, nil
}

// parseValue reads a pprof value such as "10ms", "1.50s", "19MB", "512kB".
func parseValue(s string) (float64, string, bool) {
	units := []struct {
		suffix string
		scale  float64
		unit   string
	}{{"ns", 1e-6, "ms"}, {"us", 1e-3, "ms"}, {"µs", 1e-3, "ms"}, {"ms", 1, "ms"}, {"s", 1000, "ms"},
		{"kB", 1.0 / 1024, "MiB"}, {"MB", 1, "MiB"}, {"GB", 1024, "MiB"}, {"TB", 1 << 20, "MiB"}, {"B", 1.0 / (1 << 20), "MiB"}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, "", false
			}
			return v * u.scale, u.unit, true
		}
	}
	return 0, "", false
}

// writeProfileReport writes the parts of each profile as a table.
func writeProfileReport(w io.Writer, r *report) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	if r.profileErr != "" {
		p("Profiles: %s", r.profileErr)
		p("")
		return
	}
	if len(r.profiles) == 0 {
		return
	}
	p("### Profiles of the first signup run (in %s)", r.opts.profileDir)
	p("")
	p("CPU over the measured window (`cpu.pprof`) and allocations since the server started (`allocs.pprof`, bytes), each sample counted in the first part its stack matches. The first signup run paid for the profile (about 1%% of a core).")
	p("")
	parts := []string{}
	for _, pp := range profileParts {
		parts = append(parts, pp.name)
	}
	parts = append(parts, otherPart)
	p("| part | CPU, share of the server's | CPU, share of what is not argon2's computation | allocated bytes, share |")
	p("|---|---|---|---|")
	cpu, alloc := r.profiles[0], profileShares{}
	if len(r.profiles) > 1 {
		alloc = r.profiles[1]
	}
	nonHash := cpu.total - cpu.byPart[profileParts[1].name]
	for _, name := range parts {
		c := cpu.byPart[name]
		rest := "–"
		if name != profileParts[1].name && nonHash > 0 {
			rest = fmt.Sprintf("%.1f%%", 100*c/nonHash)
		}
		a := "–"
		if alloc.total > 0 {
			a = fmt.Sprintf("%.1f%%", 100*alloc.byPart[name]/alloc.total)
		}
		p("| %s | %.1f%% | %s | %s |", name, 100*c/cpu.total, rest, a)
	}
	p("| total | %.2f s of CPU | %.2f s | %.0f MiB |", cpu.total/1000, nonHash/1000, alloc.total)
	p("")
	if r.signupsProfiled > 0 {
		p("Per signup: %.2f ms of server CPU, %.2f ms of it not argon2's computation; %.1f MiB allocated (over the whole life of the server).",
			cpu.total/float64(r.signupsProfiled), nonHash/float64(r.signupsProfiled), alloc.total/float64(max(r.signupsAll, 1)))
		p("")
	}
	if len(r.profileTop) > 0 {
		p("The heaviest functions outside argon2 (`go tool pprof -top -ignore=argon2`, flat):")
		p("")
		p("```")
		for _, l := range r.profileTop {
			p("%s", l)
		}
		p("```")
		p("")
	}
}

// topOutsideArgon2 lists the heaviest functions of the CPU profile once
// argon2's stacks are left out.
func topOutsideArgon2(ctx context.Context, bin, file string, n int) []string {
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-ignore=argon2", fmt.Sprintf("-nodecount=%d", n), bin, file).Output()
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	i := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, "flat%") })
	if i < 0 {
		return lines
	}
	return lines[i:]
}
