package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestE2EStartBuildsNoDictionaries: every command, `invited version`
// included, starts without building the password-strength dictionaries
// (they load on the first password check). Go's GODEBUG=inittrace=1 makes
// the binary report what each package's initialisation allocated; all of
// them together must stay small. Building zxcvbn's lists at start cost
// 18 MB here.
func TestE2EStartBuildsNoDictionaries(t *testing.T) {
	env := append(os.Environ(), "GODEBUG=inittrace=1")
	_, stderr, code := runBinary(t, 30*time.Second, env, "version")
	if code != 0 {
		t.Fatalf("invited version exited %d; stderr:\n%s", code, stderr)
	}
	type pkgInit struct {
		name  string
		bytes int64
	}
	var inits []pkgInit
	var total int64
	for line := range strings.SplitSeq(stderr, "\n") {
		// init internal/bytealg @0.008 ms, 0 ms clock, 0 bytes, 0 allocs
		var p pkgInit
		var at, clock float64
		var allocs int64
		if _, err := fmt.Sscanf(line, "init %s @%f ms, %f ms clock, %d bytes, %d allocs", &p.name, &at, &clock, &p.bytes, &allocs); err != nil {
			continue
		}
		inits = append(inits, p)
		total += p.bytes
	}
	if len(inits) < 10 {
		t.Fatalf("found %d init lines in the output of GODEBUG=inittrace=1 invited version; stderr:\n%s", len(inits), stderr)
	}
	slices.SortFunc(inits, func(a, b pkgInit) int { return int(b.bytes - a.bytes) })
	const limit = 2 << 20
	if total > limit {
		t.Errorf("package initialisation allocated %d bytes, more than %d; the largest: %+v", total, limit, inits[:3])
	}
	for _, p := range inits {
		if strings.Contains(p.name, "zxcvbn") && p.bytes > 64<<10 {
			t.Errorf("%s allocated %d bytes at start: its dictionaries must load on the first password check", p.name, p.bytes)
		}
	}
}
