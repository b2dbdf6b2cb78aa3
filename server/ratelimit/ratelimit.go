// Package ratelimit counts requests (or connections) per client IP
// address with a token bucket each: the HTTP server's rate limits and the
// SSH server's connection limit share it, so both count an IPv6 host by
// its /64 and keep their tables bounded in the same way.
package ratelimit

import (
	"net/netip"
	"sort"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// PerIP is a token bucket per client IP: perMinute requests a minute
// with bursts of the same size. Idle buckets are dropped, and the table is
// capped so a flood of addresses cannot grow it without bound.
type PerIP struct {
	perMinute int
	mu        sync.Mutex
	buckets   map[netip.Addr]*bucket
	lastSweep time.Time
	now       func() time.Time
	// max is the most buckets kept; past it, the idlest half is dropped.
	max int
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// maxBuckets bounds the table of each limiter.
const maxBuckets = 100_000

// New returns a limiter of perMinute a minute per address, or nil (no
// limit) when perMinute is 0 or less; a nil *PerIP allows everything.
func New(perMinute int) *PerIP {
	if perMinute <= 0 {
		return nil
	}
	return &PerIP{perMinute: perMinute, buckets: map[netip.Addr]*bucket{}, now: time.Now, max: maxBuckets}
}

// limitKey is the bucket an address counts against: itself for IPv4, its
// /64 network for IPv6, since one host usually holds a whole /64 and could
// otherwise make a fresh bucket (and escape its limit) with every request.
func limitKey(ip netip.Addr) netip.Addr {
	if ip.Is6() && !ip.Is4In6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return ip
}

// Allow takes a token for ip, or returns how long to wait for one.
func (l *PerIP) Allow(ip netip.Addr) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	ip = ip.Unmap()
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	key := limitKey(ip)
	b := l.buckets[key]
	// Sweep before adding, so the table never holds more than max.
	if now.Sub(l.lastSweep) > time.Minute || (b == nil && len(l.buckets) >= l.max) {
		l.sweep(now)
		b = l.buckets[key]
	}
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(rate.Limit(float64(l.perMinute)/60), l.perMinute)}
		l.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep drops buckets idle long enough to have refilled completely and,
// when the table is still full (a flood of addresses), the idlest half,
// whatever the clock says, so an address that keeps coming keeps its
// bucket.
func (l *PerIP) sweep(now time.Time) {
	l.lastSweep = now
	for ip, b := range l.buckets {
		if now.Sub(b.seen) > time.Minute+time.Second {
			delete(l.buckets, ip)
		}
	}
	if len(l.buckets) < l.max {
		return
	}
	seen := make([]time.Time, 0, len(l.buckets))
	for _, b := range l.buckets {
		seen = append(seen, b.seen)
	}
	sort.Slice(seen, func(i, j int) bool { return seen[i].Before(seen[j]) })
	cut := seen[len(seen)/2]
	drop := len(l.buckets) - l.max/2
	for ip, b := range l.buckets {
		if drop == 0 {
			break
		}
		if !b.seen.After(cut) {
			delete(l.buckets, ip)
			drop--
		}
	}
}
