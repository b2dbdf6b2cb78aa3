package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// moduleRoot returns the folder that holds invited's go.mod, whatever the
// current directory inside the module is.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside a Go module: run this from the invited repository (go run ./bench/load)")
	}
	return filepath.Dir(gomod), nil
}

// goBuild runs `go build -o out pkg` in root.
func goBuild(ctx context.Context, root, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build -o %s %s: %w\n%s", out, pkg, err, msg)
	}
	return nil
}

// proc is a child process started by the benchmark. Its stdout and stderr
// go to one file, so that a chatty child never blocks on a full pipe and
// its log stays readable after the run.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error
}

// startProc starts path with args and env, its output going to logPath.
func startProc(name, path string, args, env []string, dir, logPath string) (*proc, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process (by its pid) and waits for it to exit;
// after grace it is killed.
func (p *proc) stop(grace time.Duration) error {
	if p.exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop %s (pid %d): %w", p.name, p.pid(), err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("%s (pid %d) ignored SIGTERM for %s and was killed", p.name, p.pid(), grace)
}

// waitForLine polls the process's output until a line matches re and
// returns the first submatch. It gives up after timeout, or as soon as the
// process exits.
func (p *proc) waitForLine(ctx context.Context, re *regexp.Regexp, timeout time.Duration) (string, error) {
	return p.waitFor(ctx, timeout, func(output []byte) (string, bool) {
		if m := re.FindSubmatch(output); m != nil {
			return string(m[1]), true
		}
		return "", false
	})
}

// waitFor polls ready, which is given the process's output so far, every
// 20 ms until it answers true. It gives up after timeout, or as soon as
// the process exits.
func (p *proc) waitFor(ctx context.Context, timeout time.Duration, ready func(output []byte) (string, bool)) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		data, err := os.ReadFile(p.logPath)
		if err != nil {
			return "", err
		}
		if v, ok := ready(data); ok {
			return v, nil
		}
		if p.exited() {
			return "", fmt.Errorf("%s exited before it was ready (%v); its output:\n%s", p.name, p.waitErr, tail(data, 2000))
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s did not become ready within %s; its output:\n%s", p.name, timeout, tail(data, 2000))
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// listeningAddr finds the IPv4 TCP socket that process pid listens on,
// other than skip ("" or host:port), from /proc: its open socket inodes
// against the LISTEN entries of /proc/<pid>/net/tcp.
func listeningAddr(pid int, skip string) (string, bool) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return "", false
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(target, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
		}
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/tcp", pid))
	if err != nil {
		return "", false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		f := strings.Fields(line)
		if len(f) < 10 || f[3] != "0A" || !inodes[f[9]] {
			continue
		}
		hexIP, hexPort, ok := strings.Cut(f[1], ":")
		ip, err1 := strconv.ParseUint(hexIP, 16, 32)
		port, err2 := strconv.ParseUint(hexPort, 16, 16)
		if !ok || err1 != nil || err2 != nil {
			continue
		}
		// The address is the kernel's 32-bit word, printed in host
		// (little-endian) order.
		addr := fmt.Sprintf("%d.%d.%d.%d:%d", byte(ip), byte(ip>>8), byte(ip>>16), byte(ip>>24), port)
		if addr != skip {
			return addr, true
		}
	}
	return "", false
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// niceness returns the nice value of process pid (field 19 of its stat).
func niceness(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "?"
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 17 {
		return "?"
	}
	return f[16]
}

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat.
// It is 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuTime returns the user+system CPU time the process has used so far.
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces; the fields
	// after it start with the state (field 3); utime and stime are
	// fields 14 and 15.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// memoryKiB returns a field of /proc/<pid>/status given in kB, such as
// VmHWM (peak resident set) or VmRSS.
func memoryKiB(pid int, field string) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/status %s: %w", pid, field, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

// selfCPU returns the user+system CPU time of this process so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU returns, from /proc/stat, the CPU time all CPUs have spent
// running processes (user, nice, system), idle (idle, iowait) and stolen
// by the hypervisor. Interrupt time is in none of them: the kernel does
// not charge it to the process it serves, and loopback traffic makes
// plenty of it.
func machineCPU() (busy, idle, steal time.Duration) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, 0
	}
	tick := func(i int) time.Duration {
		n, _ := strconv.ParseInt(f[i], 10, 64)
		return time.Duration(n) * time.Second / clockTicks
	}
	return tick(1) + tick(2) + tick(3), tick(4) + tick(5), tick(8)
}

// cpuMeter measures, over one phase, the CPU time of the machine and of the
// processes the phase is about, so that the report can tell how much of the
// machine something else used meanwhile.
type cpuMeter struct {
	start             time.Time
	busy, idle, steal time.Duration
	self              time.Duration
	pids              []int
	pidCPU            []time.Duration
}

func startCPUMeter(pids ...int) *cpuMeter {
	m := &cpuMeter{start: time.Now(), pids: pids, self: selfCPU()}
	for _, pid := range pids {
		d, _ := cpuTime(pid)
		m.pidCPU = append(m.pidCPU, d)
	}
	m.busy, m.idle, m.steal = machineCPU()
	return m
}

// phaseCPU is what a cpuMeter saw, in cores (CPU seconds per second).
type phaseCPU struct {
	wall    time.Duration
	machine float64 // every process and the kernel
	self    float64 // this process
	procs   float64 // the pids given to startCPUMeter together
	idle    float64
	steal   float64
}

func (m *cpuMeter) stop() phaseCPU {
	busy, idle, steal := machineCPU()
	p := phaseCPU{wall: time.Since(m.start)}
	secs := p.wall.Seconds()
	p.machine = (busy - m.busy).Seconds() / secs
	p.idle = (idle - m.idle).Seconds() / secs
	p.steal = (steal - m.steal).Seconds() / secs
	p.self = (selfCPU() - m.self).Seconds() / secs
	for i, pid := range m.pids {
		d, _ := cpuTime(pid)
		p.procs += (d - m.pidCPU[i]).Seconds() / secs
	}
	return p
}

// others is the CPU the machine spent on anything but this process and the
// measured ones (other people's processes, kernel threads), in cores.
func (p phaseCPU) others(extra float64) float64 {
	return max(p.machine-p.self-p.procs-extra, 0)
}
