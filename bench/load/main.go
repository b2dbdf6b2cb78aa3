// Command load is invited's performance benchmark. Run it from the
// repository with
//
//	go run ./bench/load
//
// It builds the server (tmp/invited) and a bare httprouter baseline
// (tmp/bench-bare, from bench/bare), measures in the same run
//
//   - the argon2id ceiling: hashes/s with invited's default parameters on
//     all cores, in this process, with the server's own hasher (db.Hasher),
//     and the time of one hash alone;
//   - signups/s and their latency with -clients concurrent clients against
//     the running server, -signup-runs times, each judged against the
//     ceiling measured just before and just after it (the median is
//     judged), and the server's peak RSS;
//   - logins/s with as many clients, beside the ceiling;
//   - a flood of -flood-clients signup clients on a fresh server: only
//     200 and 503 may come back, and its peak RSS has a bound;
//   - the gate targets: requests a stranger's browser or a proxy sends on
//     every page (today GET /invite/{secret}/validate), req/s and p99 on
//     invited against the bare baseline, alternating (with wrk when it is
//     installed);
//
// and prints a Markdown summary with the targets of docs/PERFORMANCE.md,
// (with -profile DIR, also the CPU and allocation profiles of the first
// signup run, fetched from the server's loopback debug listener, and
// where they say the server's time goes)
// PASS or MISS for each. Every process it starts is stopped by its pid at
// the end; all traffic goes to 127.0.0.1, and every phase is bounded in
// time. A quick smoke run:
//
//	go run ./bench/load -signup-duration 2s -validate-duration 2s -hash-duration 1s
//
// Only the gate targets against the bare baseline (about 45 s):
//
//	go run ./bench/load -only gate
//
// Only the OpenID Connect token endpoint (code exchange) and userinfo
// endpoint against the bare baseline (about 60 s):
//
//	go run ./bench/load -only oidc
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"time"
)

type options struct {
	signupDuration   time.Duration
	warmup           time.Duration
	validateDuration time.Duration
	hashDuration     time.Duration
	clients          int
	conns            int
	rounds           int
	tool             string
	accessLog        bool
	keep             bool
	serverEnv        []string
	only             string // "" for everything, "gate" or "oidc"
	serverBin        string // a prebuilt invited to measure instead of building one
	signupRuns       int    // signup runs; the median is judged
	loginDuration    time.Duration
	floodClients     int
	floodDuration    time.Duration // 0: no flood
	profileDir       string        // "": no profiles
}

func main() {
	var o options
	flag.DurationVar(&o.signupDuration, "signup-duration", 15*time.Second, "how long the signup load is measured (after the warm-up)")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "signup load before the measurement starts")
	flag.DurationVar(&o.validateDuration, "validate-duration", 10*time.Second, "length of each validate load run")
	flag.DurationVar(&o.hashDuration, "hash-duration", 5*time.Second, "how long the argon2id ceiling is measured")
	flag.IntVar(&o.clients, "clients", 8, "concurrent signup (and login) clients")
	flag.IntVar(&o.signupRuns, "signup-runs", 3, "signup runs, one after the other on the same server; the median is judged")
	flag.DurationVar(&o.loginDuration, "login-duration", 10*time.Second, "how long the login load is measured (0: no logins)")
	flag.IntVar(&o.floodClients, "flood-clients", 256, "concurrent signup clients of the flood")
	flag.DurationVar(&o.floodDuration, "flood-duration", 20*time.Second, "how long the flood runs, on a server of its own (0: no flood)")
	flag.StringVar(&o.profileDir, "profile", "", "write CPU, allocation and heap profiles of the first signup run to this `folder` (the server's debug listener is turned on for them) and sort them into the parts of a signup")
	flag.IntVar(&o.conns, "connections", 32, "connections of the validate load")
	flag.IntVar(&o.rounds, "rounds", 2, "validate runs per server, alternating between them; the best counts")
	flag.StringVar(&o.tool, "tool", "auto", "validate load generator: auto (wrk if installed), wrk or go")
	flag.BoolVar(&o.accessLog, "access-log", true, "also measure validate with the access log on (log level info)")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary data folder and the server logs")
	flag.StringVar(&o.only, "only", "", "run one part: gate (the gate targets against the bare handler, no ceiling and no signups) or oidc (the token and userinfo endpoints against the bare handler)")
	flag.StringVar(&o.serverBin, "server-bin", "", "measure this invited binary (e.g. an older build) instead of building tmp/invited")
	flag.Func("server-env", "extra `NAME=VALUE` in the server's environment, e.g. GOMEMLIMIT=96MiB (repeatable)", func(v string) error {
		if !strings.Contains(v, "=") {
			return fmt.Errorf("%q is not NAME=VALUE", v)
		}
		o.serverEnv = append(o.serverEnv, v)
		return nil
	})
	flag.Parse()
	if o.only != "" && o.only != "gate" && o.only != "oidc" {
		fmt.Fprintf(os.Stderr, "load: -only %q: the parts are gate and oidc\n", o.only)
		os.Exit(2)
	}
	if o.clients < 1 || o.conns < 1 || o.rounds < 1 || o.signupRuns < 1 || o.floodClients < 1 || o.signupDuration <= 0 || o.validateDuration < time.Second || o.hashDuration <= 0 || o.warmup < 0 || o.loginDuration < 0 || o.floodDuration < 0 {
		fmt.Fprintln(os.Stderr, "load: -clients, -connections, -rounds, -signup-runs and -flood-clients must be at least 1, durations positive (-login-duration and -flood-duration may be 0 to skip), -validate-duration at least 1s")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		stop()
		os.Exit(1)
	}
}

// report collects every figure for the summary.
type report struct {
	started time.Time
	machine machineInfo
	opts    options
	hashes  []hashResult // before the server starts, and after the signups
	signups []loadResult // one per signup run
	// brackets are ceilings measured around the signup runs, with the
	// server idle: brackets[i] just before run i+1, the last one after
	// the last run. Each run is judged against the mean of the two
	// around it (see signupCeiling).
	brackets []bracket
	rssIdle  int64 // server VmRSS before the signups, KiB
	logins   *loadResult
	flood    *loadResult
	floodLog string
	slots    int // auth.max_concurrent_hashes of the server
	users    int // users on the signup link when validate was run on it

	debugBase       string          // the server's debug listener, with -profile
	profiles        []profileShares // cpu, then alloc_space
	profileTop      []string
	profileErr      string
	signupsProfiled float64 // signups inside the CPU profile
	signupsAll      int     // signups before the allocation profile
	tool            string
	bare            []validateResult
	// bareGate is the bare handler sent the forward-auth target's request
	// headers (cookie, X-Forwarded-*): what net/http alone costs on the
	// request a proxy sends. Reported, not judged.
	bareGate []validateResult
	targets  []gateTarget
	invited  [][]validateResult // per target, per round
	crowded  *validateResult    // invited, on the link that took every signup
	logged   *validateResult    // invited with the access log on
	logBytes int64              // access log written during the logged run
	oidc     *oidcReport        // -only oidc
}

func run(ctx context.Context, o options, stdout, progress io.Writer) error {
	say := func(format string, args ...any) { fmt.Fprintf(progress, "load: "+format+"\n", args...) }
	rep := &report{started: time.Now(), opts: o, slots: runtime.NumCPU()}
	for _, kv := range o.serverEnv {
		if v, ok := strings.CutPrefix(kv, "INVITED_AUTH_MAX_CONCURRENT_HASHES="); ok {
			if _, err := fmt.Sscan(v, &rep.slots); err != nil {
				return fmt.Errorf("-server-env %s: %w", kv, err)
			}
		}
	}

	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	say("building tmp/invited and tmp/bench-bare in %s", root)
	serverBin := filepath.Join(root, "tmp", "invited")
	bareBin := filepath.Join(root, "tmp", "bench-bare")
	if o.serverBin != "" {
		if serverBin, err = filepath.Abs(o.serverBin); err != nil {
			return err
		}
	} else if err := goBuild(ctx, root, "tmp/invited", "."); err != nil {
		return err
	}
	if err := goBuild(ctx, root, "tmp/bench-bare", "./bench/bare"); err != nil {
		return err
	}
	rep.machine = readMachineInfo()

	runner, err := newValidateRunner(o.tool, o.conns)
	if err != nil {
		return err
	}
	rep.tool = runner.describe(o.validateDuration)

	// 1. The ceiling, with nothing else running. It is measured again
	// after the signups, with the server idle, and the better of the two
	// counts, so that a neighbour's load during one of them cannot make
	// the signups look better than they are.
	ceiling := func() error {
		say("argon2id ceiling: one hash alone, then %d goroutines for %s", runtime.NumCPU(), o.hashDuration)
		h, err := measureHashing(ctx, o.hashDuration, 10, len(rep.hashes) == 0)
		if err != nil {
			return fmt.Errorf("argon2id ceiling: %w", err)
		}
		rep.hashes = append(rep.hashes, h)
		say("  %.1f hashes/s; one hash %s", h.perSecond, h.single.Round(10*time.Microsecond))
		return nil
	}
	signups := o.only == ""
	if signups {
		if err := ceiling(); err != nil {
			return err
		}
	}

	// 2. The server, in a data folder of its own.
	tmpDir, err := os.MkdirTemp("", "invited-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		say("keeping %s", tmpDir)
	} else {
		defer os.RemoveAll(tmpDir)
	}
	var procs []*proc
	defer func() {
		for _, p := range procs {
			if serr := p.stop(20 * time.Second); serr != nil {
				fmt.Fprintln(progress, "load:", serr)
			}
		}
	}()

	apiKey := randomHex(24)
	server, base, err := startInvited(ctx, serverBin, tmpDir, apiKey, "warn", "server.log", o.serverEnv, o.profileDir != "")
	if err != nil {
		return err
	}
	procs = append(procs, server)
	say("invited is up at %s (pid %d)", base, server.pid())
	if o.profileDir != "" {
		if err := os.MkdirAll(o.profileDir, 0o755); err != nil {
			return fmt.Errorf("-profile: %w", err)
		}
		if rep.debugBase, err = server.waitForLine(ctx, debugAddrRE, 5*time.Second); err != nil {
			return fmt.Errorf("-profile: the server named no debug listener (a build older than INVITED_DEBUG_LISTEN?): %w", err)
		}
		say("profiles from %s", rep.debugBase)
	}

	api := &apiClient{base: base, apiKey: apiKey, http: newHTTPClient(o.clients + 2)}
	signupLink, err := api.createLink(ctx, "bench signups")
	if err != nil {
		return err
	}
	validateLink, err := api.createLink(ctx, "bench validate")
	if err != nil {
		return err
	}

	rep.rssIdle, _ = memoryKiB(server.pid(), "VmRSS")

	// 3. Signups, logins, the ceiling again, and the flood on a server of
	// its own.
	if signups {
		if err := runSignupPhase(ctx, o, rep, api, server, signupLink, say); err != nil {
			return err
		}
		if o.profileDir != "" {
			analyseProfiles(ctx, o, rep, serverBin, say)
		}
		if o.loginDuration > 0 {
			if err := runLoginPhase(ctx, o, rep, api, server, say); err != nil {
				return err
			}
		}
		if err := ceiling(); err != nil {
			return err
		}
		if o.floodDuration > 0 {
			if err := runFloodPhase(ctx, o, rep, serverBin, tmpDir, say); err != nil {
				return err
			}
		}
	}

	bare, err := startProc("bench-bare", bareBin, nil, cleanEnv(), tmpDir, filepath.Join(tmpDir, "bare.log"))
	if err != nil {
		return err
	}
	procs = append(procs, bare)
	bareAddr, err := bare.waitForLine(ctx, regexp.MustCompile(`(?m)^(127\.0\.0\.1:\d+)$`), 10*time.Second)
	if err != nil {
		return err
	}
	bareURL := "http://" + bareAddr + "/invite/" + validateLink + "/validate"

	// -only oidc: the token and userinfo endpoints beside the bare
	// handler, and nothing else.
	if o.only == "oidc" {
		if err := runOIDCPhase(ctx, o, rep, api, runner, server, bare, base, "http://"+bareAddr, bareURL, say); err != nil {
			return err
		}
		return finish(stdout, progress, rep, procs)
	}

	// 4. The gate targets against the bare baseline, alternating: bare,
	// then each target, round after round. A later target (the
	// forward-auth endpoint) is one more entry here.
	fwdTarget, err := api.gateTargetFor(ctx, validateShareTarget)
	if err != nil {
		return err
	}
	rep.targets = []gateTarget{
		{label: "validate, fresh link", path: "/invite/" + validateLink + "/validate", goal: validateShareTarget},
		fwdTarget,
	}
	rep.invited = make([][]validateResult, len(rep.targets))
	for round := 1; round <= o.rounds; round++ {
		say("gate round %d/%d: bare, then %d target(s) on invited (%s)", round, o.rounds, len(rep.targets), runner.tool)
		b, err := runner.run(ctx, "bare httprouter", bareURL, nil, o.validateDuration, bare.pid())
		if err != nil {
			return err
		}
		rep.bare = append(rep.bare, b)
		bg, err := runner.run(ctx, "bare httprouter, the gate's request headers", bareURL, fwdTarget.headers, o.validateDuration, bare.pid())
		if err != nil {
			return err
		}
		rep.bareGate = append(rep.bareGate, bg)
		for i, t := range rep.targets {
			v, err := runner.run(ctx, "invited: "+t.label, base+t.path, t.headers, o.validateDuration, server.pid())
			if err != nil {
				return err
			}
			rep.invited[i] = append(rep.invited[i], v)
			say("  bare %.0f req/s, %s %.0f req/s (%.0f%%)", b.perSecond, t.label, v.perSecond, 100*v.perSecond/b.perSecond)
		}
	}
	if err := bare.stop(10 * time.Second); err != nil {
		return err
	}

	// The link that took every signup has a use count and users.
	if signups {
		for _, s := range rep.signups {
			rep.users += s.total
		}
		say("validate on the link with %d users", rep.users)
		crowded, err := runner.run(ctx, fmt.Sprintf("invited: validate, link with %d users", rep.users),
			base+"/invite/"+signupLink+"/validate", nil, o.validateDuration, server.pid())
		if err != nil {
			return err
		}
		rep.crowded = &crowded
	}

	// 5. Once more with the access log on (level info), written to a file.
	if o.accessLog {
		if err := server.stop(20 * time.Second); err != nil {
			return err
		}
		logged, base2, err := startInvited(ctx, serverBin, tmpDir, apiKey, "info", "server-info.log", o.serverEnv, false)
		if err != nil {
			return err
		}
		procs = append(procs, logged)
		say("validate with the access log on (pid %d)", logged.pid())
		before := fileSize(logged.logPath)
		v, err := runner.run(ctx, "invited: validate, access log on", base2+"/invite/"+validateLink+"/validate", nil, o.validateDuration, logged.pid())
		if err != nil {
			return err
		}
		rep.logged = &v
		rep.logBytes = fileSize(logged.logPath) - before
	}

	return finish(stdout, progress, rep, procs)
}

// finish names what the servers logged at warn or above, stops every
// process and writes the report.
func finish(stdout, progress io.Writer, rep *report, procs []*proc) error {
	say := func(format string, args ...any) { fmt.Fprintf(progress, "load: "+format+"\n", args...) }
	for _, p := range procs {
		if strings.HasPrefix(p.name, "invited") {
			if data, err := os.ReadFile(p.logPath); err == nil {
				for line := range strings.SplitSeq(string(data), "\n") {
					if strings.Contains(line, "level=ERROR") || (strings.Contains(line, "level=WARN") && !strings.Contains(line, "no API keys") && !strings.Contains(line, "debug listener is on")) {
						say("server log: %s", line)
					}
				}
			}
		}
	}

	for _, p := range procs {
		if err := p.stop(20 * time.Second); err != nil {
			return err
		}
	}
	writeReport(stdout, rep)
	return nil
}

// startInvited starts the server binary on a free loopback port with the
// benchmark's settings, and returns it with its base URL. With debug, its
// debug listener is on too (on another free loopback port, named in its
// log).
func startInvited(ctx context.Context, bin, dataDir, apiKey, logLevel, logName string, extraEnv []string, debug bool) (*proc, string, error) {
	env := append(cleanEnv(),
		"INVITED_STORAGE_DATA_DIR="+dataDir,
		"INVITED_SERVER_LISTEN=127.0.0.1:0",
		"INVITED_AUTH_INIT_ADMIN_API_TOKENS="+apiKey,
		fmt.Sprintf("INVITED_AUTH_ARGON2_MEMORY_KIB=%d", argonMemoryKiB),
		fmt.Sprintf("INVITED_AUTH_ARGON2_ITERATIONS=%d", argonIterations),
		fmt.Sprintf("INVITED_AUTH_ARGON2_PARALLELISM=%d", argonParallelism),
		"INVITED_LIMITS_PUBLIC_PER_MINUTE=0",
		"INVITED_LIMITS_AUTH_PER_MINUTE=0",
		"INVITED_LOG_LEVEL="+logLevel,
		"INVITED_LOG_FORMAT=text",
	)
	if debug {
		env = append(env, "INVITED_DEBUG_LISTEN=127.0.0.1:0")
	}
	env = append(env, extraEnv...)
	p, err := startProc("invited", bin, []string{"serve"}, env, dataDir, filepath.Join(dataDir, logName))
	if err != nil {
		return nil, "", err
	}
	// invited names its address in an info line; at level warn that line
	// is not written, and the address is read from /proc instead.
	addr, err := p.waitFor(ctx, 15*time.Second, func(output []byte) (string, bool) {
		if m := listeningRE.FindSubmatch(output); m != nil {
			return string(m[1]), true
		}
		// The debug listener is named in the log before the main one
		// listens; it is the socket that is not the main listener.
		skip := ""
		if debug {
			m := debugAddrRE.FindSubmatch(output)
			if m == nil {
				return "", false
			}
			skip = strings.TrimPrefix(string(m[1]), "http://")
		}
		return listeningAddr(p.pid(), skip)
	})
	if err != nil {
		_ = p.stop(5 * time.Second)
		return nil, "", err
	}
	return p, "http://" + addr, nil
}

var listeningRE = regexp.MustCompile(`msg="invited is listening" addr=http://(127\.0\.0\.1:\d+)`)

// cleanEnv is this process's environment without any INVITED_ variable, so
// that the caller's settings do not leak into the server under test.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "INVITED_") {
			env = append(env, kv)
		}
	}
	return env
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

type machineInfo struct {
	nproc     string
	numCPU    int
	cpuModel  string
	goVersion string
	kernel    string
	memTotal  string
	nice      string
}

func readMachineInfo() machineInfo {
	m := machineInfo{numCPU: runtime.NumCPU(), goVersion: runtime.Version(), cpuModel: "unknown", nproc: "?", kernel: "?", memTotal: "?",
		nice: niceness(os.Getpid())}
	if out, err := exec.Command("nproc").Output(); err == nil {
		m.nproc = strings.TrimSpace(string(out))
	}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpuModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(data))
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		if line, _, ok := strings.Cut(string(data), "\n"); ok {
			if _, v, ok := strings.Cut(line, ":"); ok {
				var kib int64
				if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kib); err == nil {
					m.memTotal = fmt.Sprintf("%.1f GiB", float64(kib)/(1<<20))
				}
			}
		}
	}
	return m
}

// analyseProfiles sorts the profiles of the first signup run into the
// parts of a signup. A failure here is reported, not fatal: the figures
// stand without it.
func analyseProfiles(ctx context.Context, o options, rep *report, serverBin string, say func(string, ...any)) {
	cpuFile, allocFile := filepath.Join(o.profileDir, "cpu.pprof"), filepath.Join(o.profileDir, "allocs.pprof")
	cpu, err := analyseProfile(ctx, serverBin, cpuFile, "")
	if err != nil {
		rep.profileErr = err.Error()
		return
	}
	alloc, err := analyseProfile(ctx, serverBin, allocFile, "alloc_space")
	if err != nil {
		rep.profileErr = err.Error()
		return
	}
	rep.profiles = []profileShares{cpu, alloc}
	rep.profileTop = topOutsideArgon2(ctx, serverBin, cpuFile, 25)
	first := rep.signups[0]
	secs := max(int(o.signupDuration.Seconds())-1, 1)
	rep.signupsProfiled = first.perSecond * float64(secs)
	rep.signupsAll = first.total
	say("profiles in %s: %s of server CPU, %.0f%% of it argon2's computation", o.profileDir,
		time.Duration(cpu.total*float64(time.Millisecond)).Round(10*time.Millisecond), 100*cpu.byPart[profileParts[1].name]/cpu.total)
}
