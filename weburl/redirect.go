package weburl

import (
	"net"
	"net/url"
	"strings"
)

// MaxRedirectLength is the longest rd SafeRedirect accepts, in bytes. A
// real address is far shorter; a longer one is refused, never cut.
const MaxRedirectLength = 2048

// SafeRedirect decides where a browser may be sent after logging in when
// it asked for rd (the rd parameter of /login). It returns the address to
// send it to and true, or "" and false when rd must be ignored.
//
// Two forms are accepted, nothing else:
//   - a path on this server: it starts with exactly one "/" (never "//"
//     nor "/\", which browsers read as another host), such as "/account"
//     or "/some/app?x=1";
//   - an absolute http or https URL without user info whose scheme and
//     host (lower case, default port dropped) allowed admits. The answer
//     is rebuilt from what was checked, so the browser is sent to exactly
//     that host.
//
// Anything with a control character, a space, a backslash or a byte
// outside ASCII is refused outright: browsers drop or reinterpret those
// (a tab inside "java\tscript:", a "\" read as "/"), so the text a
// browser would follow could differ from the text checked here.
func SafeRedirect(rd string, allowed func(scheme, host string) bool) (string, bool) {
	if rd == "" || len(rd) > MaxRedirectLength {
		return "", false
	}
	for i := 0; i < len(rd); i++ {
		if c := rd[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return "", false
		}
	}
	u, err := url.Parse(rd)
	if err != nil || u.Opaque != "" || u.User != nil {
		return "", false
	}
	if rd[0] == '/' {
		// Even decoded ("/%2F/evil.example"), the path must not look like
		// the start of another host to whatever reads it next.
		if len(rd) > 1 && rd[1] == '/' || u.Scheme != "" || u.Host != "" ||
			strings.HasPrefix(u.Path, "//") || strings.HasPrefix(u.Path, "/\\") {
			return "", false
		}
		return rd, true
	}
	if u.Scheme != "http" && u.Scheme != "https" || !strings.HasPrefix(strings.ToLower(rd), u.Scheme+"://") {
		return "", false
	}
	// The authority as written must be a plain host[:port]: no user info
	// (an "@" anywhere in it) and no escapes that a parser might decode
	// into one.
	authority := rd[len(u.Scheme)+3:]
	if i := strings.IndexAny(authority, "/?#"); i >= 0 {
		authority = authority[:i]
	}
	if strings.ContainsAny(authority, "@%") {
		return "", false
	}
	host, ok := canonicalHost(u.Scheme, u.Hostname(), u.Port())
	if !ok || allowed == nil || !allowed(u.Scheme, host) {
		return "", false
	}
	out := url.URL{Scheme: u.Scheme, Host: host, Path: u.Path, RawPath: u.RawPath,
		RawQuery: u.RawQuery, Fragment: u.Fragment, RawFragment: u.RawFragment}
	return out.String(), true
}

// canonicalHost is host[:port] in the one form origins are compared in:
// lower case, the scheme's default port dropped, IPv6 in brackets.
func canonicalHost(scheme, hostname, port string) (string, bool) {
	hostname = strings.ToLower(hostname)
	if hostname == "" {
		return "", false
	}
	if scheme == "http" && port == "80" || scheme == "https" && port == "443" {
		port = ""
	}
	if port != "" {
		return net.JoinHostPort(hostname, port), true
	}
	if strings.Contains(hostname, ":") {
		return "[" + hostname + "]", true
	}
	return hostname, true
}

// Origin returns the scheme and canonical host (as SafeRedirect hands
// them to allowed) of an absolute http or https URL such as
// server.base_url, or false.
func Origin(rawURL string) (scheme, host string, ok bool) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || u.Scheme != "http" && u.Scheme != "https" {
		return "", "", false
	}
	host, ok = canonicalHost(u.Scheme, u.Hostname(), u.Port())
	return u.Scheme, host, ok
}

// SameOrigin returns an allowed function for SafeRedirect that admits
// exactly baseURL's scheme and host, and nothing when baseURL is not an
// absolute http or https URL.
func SameOrigin(baseURL string) func(scheme, host string) bool {
	wantScheme, wantHost, ok := Origin(baseURL)
	return func(scheme, host string) bool {
		return ok && scheme == wantScheme && host == wantHost
	}
}
