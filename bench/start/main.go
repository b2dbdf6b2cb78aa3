// Command start measures what starting invited costs: how soon `invited
// serve` answers GET /health after the process is started, how much memory
// it holds once idle, and how long `invited version` takes. Run it from the
// repository with
//
//	go run ./bench/start            # builds tmp/invited first
//	go run ./bench/start -bin PATH  # measures a binary built elsewhere
//
// Each serve run starts the binary on a free 127.0.0.1 port with a data
// folder made by an unmeasured first run (so the figures are of a normal
// start, not of creating the database), polls /health every half
// millisecond, reads VmRSS from /proc/<pid>/status when /health first
// answers and again after -settle of idleness, then stops the process with
// SIGTERM (by its pid). It prints the median, minimum and maximum of each
// figure. It makes no other traffic and every wait is bounded.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("bin", "", "the invited binary to measure (default: build tmp/invited from this module)")
	runs := flag.Int("n", 20, "measured runs of each command")
	settle := flag.Duration("settle", 2*time.Second, "idle time after the first /health answer before the idle RSS is read")
	flag.Parse()
	if *runs < 1 || *settle < 0 {
		fmt.Fprintln(os.Stderr, "start: -n must be at least 1 and -settle not negative")
		os.Exit(2)
	}
	if err := run(*bin, *runs, *settle); err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(1)
	}
}

func run(bin string, runs int, settle time.Duration) error {
	if bin == "" {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			return fmt.Errorf("go env GOMOD: %w", err)
		}
		root := filepath.Dir(strings.TrimSpace(string(out)))
		bin = filepath.Join(root, "tmp", "invited")
		build := exec.Command("go", "build", "-o", bin, ".")
		build.Dir = root
		if msg, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %w\n%s", err, msg)
		}
	}
	dir, err := os.MkdirTemp("", "invited-start-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// The first run creates the database; it is not counted.
	if _, err := serveOnce(bin, dir, 0); err != nil {
		return fmt.Errorf("first run: %w", err)
	}
	var health, cpu, rssReady, rssIdle, hwm []float64
	for range runs {
		s, err := serveOnce(bin, dir, settle)
		if err != nil {
			return err
		}
		health = append(health, ms(s.health))
		cpu = append(cpu, ms(s.cpu))
		rssReady = append(rssReady, s.rssReady)
		rssIdle = append(rssIdle, s.rssIdle)
		hwm = append(hwm, s.hwm)
	}
	var version, versionCPU, versionRSS []float64
	for range runs {
		cmd := exec.Command(bin, "version")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("invited version: %w\n%s", err, out)
		}
		version = append(version, ms(time.Since(start)))
		versionCPU = append(versionCPU, ms(cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime()))
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			versionRSS = append(versionRSS, float64(ru.Maxrss)/1024) // KiB → MiB
		}
	}
	fmt.Printf("%d runs each; median (min–max)\n\n", runs)
	fmt.Println("| figure | value |")
	fmt.Println("|---|---|")
	fmt.Printf("| `serve`: start to first /health 200 | %s ms |\n", summary(health))
	fmt.Printf("| `serve`: CPU time (user + system) to the first /health | %s ms |\n", summary(cpu))
	fmt.Printf("| `serve`: VmRSS at the first /health | %s MiB |\n", summary(rssReady))
	fmt.Printf("| `serve`: VmRSS after %s idle | %s MiB |\n", settle, summary(rssIdle))
	fmt.Printf("| `serve`: VmHWM (peak) | %s MiB |\n", summary(hwm))
	fmt.Printf("| `version`: wall time | %s ms |\n", summary(version))
	fmt.Printf("| `version`: CPU time (user + system) | %s ms |\n", summary(versionCPU))
	fmt.Printf("| `version`: max RSS | %s MiB |\n", summary(versionRSS))
	return nil
}

type serveRun struct {
	health, cpu            time.Duration
	rssReady, rssIdle, hwm float64 // MiB
}

// serveOnce starts `invited serve` on dir, waits for /health, measures, and
// stops it.
func serveOnce(bin, dir string, settle time.Duration) (serveRun, error) {
	var r serveRun
	port, err := freePort()
	if err != nil {
		return r, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	logFile, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		return r, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"INVITED_SERVER_LISTEN=" + addr,
		"INVITED_STORAGE_DATA_DIR=" + filepath.Join(dir, "data"),
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	client := &http.Client{Timeout: time.Second}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return r, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	deadline := start.Add(15 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				r.health = time.Since(start)
				break
			}
		}
		select {
		case err := <-done:
			done <- err
			return r, fmt.Errorf("invited serve exited before /health answered (%v); see %s", err, logFile.Name())
		default:
		}
		if time.Now().After(deadline) {
			return r, errors.New("invited serve did not answer /health within 15s")
		}
		time.Sleep(500 * time.Microsecond)
	}
	pid := cmd.Process.Pid
	if r.cpu, err = cpuTime(pid); err != nil {
		return r, err
	}
	if r.rssReady, err = statusMiB(pid, "VmRSS"); err != nil {
		return r, err
	}
	if settle == 0 {
		return r, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), settle)
	<-ctx.Done()
	cancel()
	if r.rssIdle, err = statusMiB(pid, "VmRSS"); err != nil {
		return r, err
	}
	if r.hwm, err = statusMiB(pid, "VmHWM"); err != nil {
		return r, err
	}
	return r, nil
}

// cpuTime reads the user and system time process pid has used so far
// (fields 14 and 15 of /proc/<pid>/stat, in clock ticks of 10 ms: Linux's
// USER_HZ is 100 on every architecture Go runs on).
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(data)
	// The command name (field 2) may hold spaces; count from its ")".
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// statusMiB reads a "kB" field of /proc/<pid>/status, in MiB.
func statusMiB(pid int, field string) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 64)
		if err != nil {
			return 0, fmt.Errorf("%s in /proc/%d/status: %w", field, pid, err)
		}
		return kb / 1024, nil
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func summary(v []float64) string {
	if len(v) == 0 {
		return "–"
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return fmt.Sprintf("%.1f (%.1f–%.1f)", s[len(s)/2], s[0], s[len(s)-1])
}
