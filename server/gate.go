package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/julienschmidt/httprouter"

	"invited/db"
)

// The forward-auth gate (DESIGN §9): a reverse proxy asks it about every
// request to an app's domain and passes the browser on, sends it to log
// in, or refuses it. The endpoints and their answers are Authelia's, so
// the proxy snippets people have work unchanged.
//
// The X-Forwarded-* and X-Original-* headers are the proxy's word about
// the original request. They are read as given: the gate is meant to be
// reachable only from the proxy (README, "The gate"). They are checked
// strictly, and anything missing or malformed is refused (403): the gate
// denies by default.

// maxGateURL bounds the original URL the gate takes; longer ones are
// refused rather than echoed into a login link.
const maxGateURL = 8 << 10

// The answer headers of an admitted request. All five are always set,
// empty when there is nothing to say: Caddy 2.6 copies a missing header
// as a literal placeholder.
const (
	hdrRemoteUser   = "Remote-User"
	hdrRemoteEmail  = "Remote-Email"
	hdrRemoteName   = "Remote-Name"
	hdrRemoteGroups = "Remote-Groups"
	hdrRemoteRole   = "Remote-Role"
)

// gateRequest is the original request as the proxy describes it.
type gateRequest struct {
	method string
	// host is the original host, with its port if it had one.
	host string
	// raw is the original URL as it goes into the login link's rd.
	raw string
}

// handleForwardAuth answers Caddy's forward_auth and Traefik's
// ForwardAuth (GET /api/authz/forward-auth).
func (s *Server) handleForwardAuth(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	orig, err := forwardedRequest(r.Header)
	s.gate(w, r, orig, err, false)
}

// handleAuthRequest answers nginx's auth_request
// (GET /api/authz/auth-request).
func (s *Server) handleAuthRequest(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	orig, err := originalRequest(r.Header)
	s.gate(w, r, orig, err, true)
}

// gate decides about one original request. The order matters: a request
// the proxy did not describe well, or for a host no app covers, is
// refused before anyone is sent to log in, so the gate never builds a
// login link towards a host it does not know.
func (s *Server) gate(w http.ResponseWriter, r *http.Request, orig gateRequest, err error, authRequest bool) {
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	app, ok, err := s.store.AppForHost(orig.host)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !ok {
		s.writeError(w, r, db.Errorf(db.EFORBIDDEN, "No app covers this host. An Admin adds the host to an app's domains (Apps) to let people through."))
		return
	}
	var (
		u        db.User
		signedIn bool
	)
	if c, cerr := r.Cookie(sessionCookie); cerr == nil && c.Value != "" {
		u, err = s.store.AuthenticateSession(c.Value)
		if err != nil && db.ErrorCode(err) != db.EUNAUTHORIZED {
			s.writeError(w, r, err)
			return
		}
		signedIn = err == nil
	}
	if !signedIn {
		s.gateLogin(w, r, orig, authRequest)
		return
	}
	info(r).actor = userActor(u).String()
	if !app.Admits(u) {
		s.writeError(w, r, db.Errorf(db.EFORBIDDEN, "You may not open %s: it is for members of its groups. Ask an Admin to add you to one of them.", app.Name))
		return
	}
	h := w.Header()
	user := u.Username
	if user == "" {
		user = u.Email
	}
	h.Set(hdrRemoteUser, user)
	h.Set(hdrRemoteEmail, u.Email)
	h.Set(hdrRemoteName, u.Name)
	h.Set(hdrRemoteGroups, strings.Join(u.Groups, ","))
	h.Set(hdrRemoteRole, u.RootRole.Name())
	w.WriteHeader(http.StatusOK)
}

// gateLogin answers a caller who is not signed in: the login page with
// the original URL as rd. forward-auth redirects a browser there (302
// for GET and HEAD, 303 otherwise, so a form post becomes a GET of the
// login page) and answers 401 to anything that does not take HTML;
// auth-request always answers 401 with the login URL in Location, since
// nginx cannot pass a redirect on.
func (s *Server) gateLogin(w http.ResponseWriter, r *http.Request, orig gateRequest, authRequest bool) {
	login := s.baseURL + "/login?rd=" + url.QueryEscape(orig.raw)
	if !authRequest && acceptsHTML(r.Header) {
		status := http.StatusSeeOther
		if orig.method == http.MethodGet || orig.method == http.MethodHead {
			status = http.StatusFound
		}
		w.Header().Set("Location", login)
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Location", login)
	s.writeError(w, r, db.Errorf(db.EUNAUTHORIZED, "Log in first, then try again: %s", login))
}

// acceptsHTML says whether the original request takes an HTML page (a
// browser), which forward-auth then redirects to the login page.
func acceptsHTML(h http.Header) bool {
	for _, v := range h.Values("Accept") {
		if strings.Contains(strings.ToLower(v), "text/html") {
			return true
		}
	}
	return false
}

// forwardedRequest reads the original request from Caddy's and Traefik's
// X-Forwarded-Method, -Proto, -Host and -Uri.
func forwardedRequest(h http.Header) (gateRequest, error) {
	method, err := gateMethod(h.Get("X-Forwarded-Method"))
	if err != nil {
		return gateRequest{}, err
	}
	proto := strings.ToLower(h.Get("X-Forwarded-Proto"))
	if proto != "http" && proto != "https" {
		return gateRequest{}, gateRefusal("X-Forwarded-Proto must be http or https")
	}
	host := h.Get("X-Forwarded-Host")
	if !validGateHost(host) {
		return gateRequest{}, gateRefusal("X-Forwarded-Host must be a host name, with a port or not")
	}
	uri := h.Get("X-Forwarded-Uri")
	if !strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "//") || !cleanGateText(uri) {
		return gateRequest{}, gateRefusal("X-Forwarded-Uri must be the original path and query, starting with /")
	}
	// The host is checked and the URI is a clean path and query, so the
	// URL they make parses unless an escape in the path is broken: that
	// is all url.Parse would find, and this path runs on every request.
	if !validPathEscapes(uri) {
		return gateRequest{}, gateRefusal("X-Forwarded-Host and X-Forwarded-Uri must make a valid URL")
	}
	return gateRequest{method: method, host: host, raw: proto + "://" + host + uri}, nil
}

// validPathEscapes reports whether every % in uri's path and fragment
// starts a two-hex-digit escape, as url.Parse requires (it leaves the
// query as it is).
func validPathEscapes(uri string) bool {
	rest, fragment, _ := strings.Cut(uri, "#")
	path, _, _ := strings.Cut(rest, "?")
	return validEscapes(path) && validEscapes(fragment)
}

func validEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !isHexDigit(rune(s[i+1])) || !isHexDigit(rune(s[i+2])) {
				return false
			}
			i += 2
		}
	}
	return true
}

// originalRequest reads the original request from nginx's X-Original-URL
// and X-Original-Method.
func originalRequest(h http.Header) (gateRequest, error) {
	method, err := gateMethod(h.Get("X-Original-Method"))
	if err != nil {
		return gateRequest{}, err
	}
	raw := h.Get("X-Original-URL")
	if !cleanGateText(raw) {
		return gateRequest{}, gateRefusal("X-Original-URL must be the original absolute http or https URL")
	}
	return parseGateURL(method, raw, "X-Original-URL must be the original absolute http or https URL")
}

// parseGateURL checks an original URL: absolute http or https, a host
// name (and maybe a port), no user info.
func parseGateURL(method, raw, problem string) (gateRequest, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Opaque != "" || !validGateHost(u.Host) {
		return gateRequest{}, gateRefusal(problem)
	}
	return gateRequest{method: method, host: u.Host, raw: raw}, nil
}

// gateMethod reads the original method; a proxy that does not say is
// taken to mean GET (it only picks 302 or 303).
func gateMethod(m string) (string, error) {
	if m == "" {
		return http.MethodGet, nil
	}
	if len(m) > 20 {
		return "", gateRefusal("the original method is not an HTTP method")
	}
	for _, c := range m {
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return "", gateRefusal("the original method is not an HTTP method")
		}
	}
	return strings.ToUpper(m), nil
}

// validGateHost accepts a DNS name or an IP address, with an optional
// port: letters, digits, dots and hyphens (or a bracketed IPv6 address),
// nothing else, so nothing odd reaches the app lookup or the login link.
func validGateHost(host string) bool {
	if host == "" || len(host) > 261 {
		return false
	}
	name, port := host, ""
	if strings.HasPrefix(host, "[") {
		end := strings.IndexByte(host, ']')
		if end < 0 {
			return false
		}
		name, port = host[1:end], host[end+1:]
		for _, c := range name {
			if !(c == ':' || c == '.' || isHexDigit(c)) {
				return false
			}
		}
		if name == "" {
			return false
		}
	} else if i := strings.IndexByte(host, ':'); i >= 0 {
		name, port = host[:i], host[i:]
	}
	if port != "" {
		if len(port) < 2 || len(port) > 6 || port[0] != ':' {
			return false
		}
		for _, c := range port[1:] {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	if strings.HasPrefix(host, "[") {
		return true
	}
	if name == "" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "-") {
		return false
	}
	for _, c := range name {
		if !(c == '.' || c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			return false
		}
	}
	return true
}

func isHexDigit(c rune) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// cleanGateText refuses what no proxy sends: control characters, spaces,
// backslashes and anything over maxGateURL bytes.
func cleanGateText(s string) bool {
	if s == "" || len(s) > maxGateURL {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// gateRefusal is the 403 for a request the proxy did not describe well.
// It names the header to fix, never what was sent.
func gateRefusal(problem string) error {
	return db.Errorf(db.EFORBIDDEN, "The gate refuses this request: %s. Call it only from the reverse proxy, which sets these headers.", problem)
}
