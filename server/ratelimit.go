package server

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"invited/db"
	"invited/server/ratelimit"
)

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
func (s *Server) overLimit(l *ratelimit.PerIP, w http.ResponseWriter, r *http.Request) error {
	ok, wait := l.Allow(clientIP(r, s.trusted))
	if ok {
		return nil
	}
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	return db.Errorf(db.ETOOMANY, "Too many requests from your address; wait %d seconds and try again.", secs)
}
