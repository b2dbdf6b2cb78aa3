package server

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"invited/db"
)

// ipLimiter is a token bucket per client IP: perMinute requests a minute
// with bursts of the same size. Idle buckets are dropped, and the table is
// capped so a flood of addresses cannot grow it without bound.
type ipLimiter struct {
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

func newIPLimiter(perMinute int) *ipLimiter {
	if perMinute <= 0 {
		return nil
	}
	return &ipLimiter{perMinute: perMinute, buckets: map[netip.Addr]*bucket{}, now: time.Now, max: maxBuckets}
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

// allow takes a token for ip, or returns how long to wait for one.
func (l *ipLimiter) allow(ip netip.Addr) (bool, time.Duration) {
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
func (l *ipLimiter) sweep(now time.Time) {
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

// clientIP is the peer's address, or, when the peer is a trusted proxy,
// the right-most address in X-Forwarded-For that is not a trusted proxy.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		ip = ip.Unmap()
		if !isTrusted(ip, trusted) {
			return ip
		}
		peer = ip
	}
	return peer
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies reads IPs and CIDRs into prefixes.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return nil, db.Errorf(db.EINVALID, "server.trusted_proxies: %q is not an IP address or CIDR", s)
		}
		out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
	}
	return out, nil
}

// overLimit takes a request from r's address out of l. Over the limit it
// sets Retry-After and returns the ETOOMANY error to answer with.
func (s *Server) overLimit(l *ipLimiter, w http.ResponseWriter, r *http.Request) error {
	ok, wait := l.allow(clientIP(r, s.trusted))
	if ok {
		return nil
	}
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return db.Errorf(db.ETOOMANY, "Too many requests from your address; wait %d seconds and try again.", secs)
}
