package weburl

import (
	"net/url"
	"strings"
	"testing"
)

// TestSafeRedirect: every hostile rd is refused; paths on this server and
// absolute URLs on base_url's origin are allowed.
func TestSafeRedirect(t *testing.T) {
	const base = "https://invite.example.com"
	allowed := SameOrigin(base)
	hostile := []string{
		"//evil.example",
		"///evil.example",
		"////evil.example/x",
		"https://evil.example",
		"https://evil.example/account",
		"http://invite.example.com/account", // the right host, the wrong scheme
		"http://evil.example@invite.example.com",
		"https://evil.example@invite.example.com/",
		"https://invite.example.com.evil.example",
		"https://invite.example.com@evil.example",
		"https://invite.example.com:443@evil.example",
		"https://invite.example.com:@evil.example",
		"https://evil.example%2F@invite.example.com",
		"https://evil.example%40invite.example.com",
		"https://invite.example.com%2eevil.example/",
		"javascript:alert(1)",
		"JaVaScRiPt:alert(1)",
		"java\nscript:alert(1)",
		"java\tscript:alert(1)",
		"data:text/html,<script>alert(1)</script>",
		"vbscript:msgbox(1)",
		`\\evil.example`,
		`/\evil.example`,
		`\/evil.example`,
		`https:\\evil.example`,
		`https://invite.example.com\@evil.example`,
		"https:evil.example",
		"https:/evil.example",
		"https:invite.example.com/account",
		"%2F%2Fevil.example",
		"%252F%252Fevil.example",
		"/%2F/evil.example",
		"/%2f%2fevil.example",
		"/\t/evil.example",
		"/\n/evil.example",
		"/\r\n/evil.example",
		" /account",
		"/account ",
		"https://invite.example.com:8443/account", // another port is another origin
		"https://xn--nvite-9ua.example.com/",      // a punycode look-alike
		"https://іnvite.example.com/",             // Cyrillic і
		"https://invite.example.com./",
		"ftp://invite.example.com/",
		"evil.example",
		"account",
		"?next=/x",
		"#top",
		"/" + strings.Repeat("a", MaxRedirectLength),
		"",
	}
	for _, rd := range hostile {
		if got, ok := SafeRedirect(rd, allowed); ok || got != "" {
			t.Errorf("SafeRedirect(%q) = %q, %v; want refused", rd, got, ok)
		}
		// Whatever a double decoding makes of it is refused too, unless it
		// is a plain path on this server.
		if dec, err := url.QueryUnescape(rd); err == nil && dec != rd {
			if got, ok := SafeRedirect(dec, allowed); ok && !strings.HasPrefix(got, "/") {
				t.Errorf("decoded %q: %q allowed", dec, got)
			}
		}
	}

	good := map[string]string{
		"/":                                      "/",
		"/account":                               "/account",
		"/some/app?x=1":                          "/some/app?x=1",
		"/some/app?next=https://evil.example":    "/some/app?next=https://evil.example",
		"/a%20b#frag":                            "/a%20b#frag",
		"https://invite.example.com":             "https://invite.example.com",
		"https://invite.example.com/account":     "https://invite.example.com/account",
		"HTTPS://Invite.Example.COM:443/x?y=1#z": "https://invite.example.com/x?y=1#z",
	}
	for rd, want := range good {
		if got, ok := SafeRedirect(rd, allowed); !ok || got != want {
			t.Errorf("SafeRedirect(%q) = %q, %v; want %q", rd, got, ok, want)
		}
	}

	// The hook admits other hosts (later: the domains of proxy apps);
	// the rules on the text still hold for them.
	apps := func(scheme, host string) bool { return allowed(scheme, host) || host == "grafana.example.com" }
	if got, ok := SafeRedirect("https://grafana.example.com/d/1", apps); !ok || got != "https://grafana.example.com/d/1" {
		t.Errorf("an admitted app host: %q, %v", got, ok)
	}
	if _, ok := SafeRedirect("https://x@grafana.example.com/", apps); ok {
		t.Error("user info to an admitted app host was allowed")
	}
	if _, ok := SafeRedirect("https://invite.example.com/", nil); ok {
		t.Error("a nil allowed admitted a host")
	}
	// Default ports are one origin with none.
	if got, ok := SafeRedirect("http://localhost:80/x", SameOrigin("http://localhost")); !ok || got != "http://localhost/x" {
		t.Errorf("default port: %q, %v", got, ok)
	}
	if got, ok := SafeRedirect("http://localhost:4242/x", SameOrigin("http://localhost:4242/")); !ok || got != "http://localhost:4242/x" {
		t.Errorf("with a port: %q, %v", got, ok)
	}
}
