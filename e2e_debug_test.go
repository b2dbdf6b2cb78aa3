package main

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"invited/internal/testutil"
)

// TestCheckDebugListen: the debug listener takes a literal loopback IP and
// a port, and refuses everything else with a message naming the variable.
func TestCheckDebugListen(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "127.0.0.1:6060", "[::1]:0", "127.3.4.5:1"} {
		if err := checkDebugListen(addr); err != nil {
			t.Errorf("checkDebugListen(%q) = %v, want nil", addr, err)
		}
	}
	for _, addr := range []string{
		"", ":0", "0.0.0.0:0", "[::]:0", "192.168.1.2:6060", "localhost:0", "example.com:0",
		"127.0.0.1", "127.0.0.1:", "127.0.0.1:notaport", "127.0.0.1:99999", "127.0.0.1:-1",
		"[::1]", "::1:0", "127.0.0.1:0\x00", "127.0.0.1:0/x", " 127.0.0.1:0", "[fe80::1%lo]:0",
		strings.Repeat("1", 5000) + ":0",
	} {
		err := checkDebugListen(addr)
		if err == nil {
			t.Errorf("checkDebugListen(%q) = nil, want an error", addr)
			continue
		}
		if !strings.Contains(err.Error(), envDebugListen) {
			t.Errorf("checkDebugListen(%q) = %q: does not name %s", addr, err, envDebugListen)
		}
	}
}

var debugAddrRE = regexp.MustCompile(`debug_addr=(http://127\.0\.0\.1:\d+)`)

// TestE2EDebugListener: off by default; with INVITED_DEBUG_LISTEN on
// loopback the server names the address in its log (at warn, so at any
// level) and serves the profiles there, not on its main listener; a
// non-loopback address stops the start with an error that says why.
func TestE2EDebugListener(t *testing.T) {
	off := startServer(t, t.TempDir())
	if resp, err := e2eClient.Get(off.URL + "/debug/pprof/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("GET /debug/pprof/ on the main listener: 200, want no profiles there")
		}
	}
	if strings.Contains(off.log.String(), "debug listener") {
		t.Errorf("the debug listener started without %s:\n%s", envDebugListen, off.log.String())
	}
	off.Stop()

	on := startServer(t, t.TempDir(), envDebugListen+"=127.0.0.1:0")
	var base string
	testutil.Eventually(t, 10*time.Second, "the debug listener's address in the log", func() error {
		m := debugAddrRE.FindStringSubmatch(on.log.String())
		if m == nil {
			return fmt.Errorf("no debug_addr in the log yet")
		}
		base = m[1]
		return nil
	})
	if strings.Contains(on.log.String(), "unknown environment variable") {
		t.Errorf("%s was reported as unknown:\n%s", envDebugListen, on.log.String())
	}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/allocs"} {
		resp, err := e2eClient.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("GET %s: %d with %d bytes, want 200 with a profile", path, resp.StatusCode, len(body))
		}
	}
	on.Stop()

	_, stderr, code := runBinary(t, 30*time.Second, serverEnv(t.TempDir(), envDebugListen+"=0.0.0.0:0"), "serve")
	if code == 0 || !strings.Contains(stderr, "loopback") || !strings.Contains(stderr, envDebugListen) {
		t.Errorf("serve with %s=0.0.0.0:0: exit %d, stderr:\n%s\nwant a failure that names the variable and asks for loopback", envDebugListen, code, stderr)
	}
}
