package server

import (
	"context"
	"encoding/hex"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/julienschmidt/httprouter"

	"invited/db"
)

type ctxKey int

const (
	keyRequest ctxKey = iota
	keyActor
)

// requestInfo travels with a request so that the access log can name the
// route and the caller that the inner handlers found.
type requestInfo struct {
	id    string
	route string
	actor string
	// metrics are the matched route's; nil outside the route table.
	metrics *routeMetrics
}

func info(r *http.Request) *requestInfo {
	if c, ok := r.Context().(*infoContext); ok {
		return &c.state.info
	}
	if ri, ok := r.Context().Value(keyRequest).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

// infoContext is the request's context with its requestInfo: what
// context.WithValue would make, without an allocation of its own.
type infoContext struct {
	context.Context
	state *requestState
}

// Value returns the requestInfo for keyRequest, else asks the parent.
func (c *infoContext) Value(key any) any {
	if key == keyRequest {
		return &c.state.info
	}
	return c.Context.Value(key)
}

// requestState is everything logRequests keeps for one request, in one
// allocation: the status recorder, the request's info, its context, and
// the X-Request-Id header value.
type requestState struct {
	rec      statusRecorder
	info     requestInfo
	ctx      infoContext
	idHeader [1]string
}

func requestID(r *http.Request) string { return info(r).id }

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (sr *statusRecorder) WriteHeader(code int) {
	if sr.status == 0 {
		sr.status = code
	}
	sr.ResponseWriter.WriteHeader(code)
}

func (sr *statusRecorder) Write(b []byte) (int, error) {
	if sr.status == 0 {
		sr.status = http.StatusOK
	}
	return sr.ResponseWriter.Write(b)
}

func (sr *statusRecorder) Unwrap() http.ResponseWriter { return sr.ResponseWriter }

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// logRequests gives each request an id (kept from X-Request-Id when it is
// sane), answers with it, and logs one line per request with the route, not
// the raw path, so that secrets in paths stay out of the log.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		st := &requestState{}
		st.rec.ResponseWriter = w
		st.ctx = infoContext{Context: r.Context(), state: st}
		ri, rec := &st.info, &st.rec
		ri.id = r.Header.Get("X-Request-Id")
		if ri.id == "" || !validRequestID.MatchString(ri.id) {
			ri.id = newRequestID()
		}
		// The key is canonical already; setting it directly skips
		// canonicalising it and a slice allocation on every request.
		st.idHeader[0] = ri.id
		w.Header()["X-Request-Id"] = st.idHeader[:]
		next.ServeHTTP(rec, r.WithContext(&st.ctx))
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		elapsed := time.Since(start)
		// Metric labels come only from the route table: a matched route's
		// method is the one it was registered with (httprouter matches
		// methods exactly). Anything else, an unknown path, a method no
		// route takes, a refused cross-origin request, is one "other"
		// series, so no client can add series.
		route, method := ri.route, r.Method
		if ri.metrics == nil {
			s.metrics.other.observe(rec.status, elapsed)
			route, method = redactPath(r.URL.Path), clip(r.Method, maxLoggedMethod)
		} else {
			ri.metrics.observe(rec.status, elapsed)
		}
		if !s.log.Enabled(r.Context(), slog.LevelInfo) {
			return
		}
		attrs := []any{"request_id", ri.id, "method", method, "route", route, "status", rec.status,
			"duration_ms", float64(elapsed.Microseconds()) / 1000}
		if ri.actor != "" {
			attrs = append(attrs, "actor", ri.actor)
		}
		s.log.InfoContext(r.Context(), "request", attrs...)
	})
}

// newRequestID makes a request id: 16 hex digits. Request ids name a
// request in logs and answers and need not be secret, so they come from
// the runtime's fast per-thread generator rather than crypto/rand.
func newRequestID() string {
	var b [8]byte
	v := rand.Uint64()
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return hex.EncodeToString(b[:])
}

// otherLabel is the one metric label for requests outside the route table.
const otherLabel = "other"

// maxLoggedMethod bounds a method name that no route takes, as it is
// logged and echoed in an error message.
const maxLoggedMethod = 32

// clip cuts s to at most n bytes (on a character boundary), marking the
// cut with "…", so that a value taken from a client cannot make a log line
// or a message arbitrarily long.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

var secretish = regexp.MustCompile(`[A-Za-z0-9_-]{16,}`)

// redactPath hides anything in a path that could be a secret (a long run
// of token characters) and bounds its length.
func redactPath(p string) string {
	p = secretish.ReplaceAllStringFunc(p, func(m string) string { return m[:4] + "…" })
	if len(p) > 200 {
		p = p[:200] + "…"
	}
	return p
}

// requirePermission authenticates the caller and checks that its role has
// perm before running h.
func (s *Server) requirePermission(perm permission, h authedHandle, writeErr func(http.ResponseWriter, *http.Request, error)) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		actor, err := s.authenticate(r)
		if err != nil {
			writeErr(w, r, err)
			return
		}
		info(r).actor = actor.String()
		if !allowed(actor.Role, perm) {
			writeErr(w, r, db.Errorf(db.EFORBIDDEN, "You need the %q permission for this, and your role (%s) does not have it; ask an admin.", perm, actor.Role.Name()))
			return
		}
		h(w, r, ps, actor)
	}
}

// errSessionEnded answers a session cookie of an ended or unknown session.
var errSessionEnded = db.Errorf(db.EUNAUTHORIZED, "Your session has ended or is not valid; log in again at /auth/simple/login.")

// authenticate finds the caller: an API key in the Authorization header,
// bare or as "Bearer KEY", or else the session cookie of a logged-in user.
func (s *Server) authenticate(r *http.Request) (db.Actor, error) {
	header := strings.TrimSpace(r.Header.Get("Authorization"))
	if header == "" {
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			u, err := s.store.AuthenticateSession(c.Value)
			if db.ErrorCode(err) == db.EUNAUTHORIZED {
				// The store says the session is over; where to log in
				// again is the API's to say.
				return db.Actor{}, errSessionEnded
			} else if err != nil {
				return db.Actor{}, err
			}
			return userActor(u), nil
		}
		return db.Actor{}, db.Errorf(db.EUNAUTHORIZED, "You must authenticate to use this API. Your request had no Authorization header: send an API key as `Authorization: Bearer KEY` (create one with `invited apikey create`), or log in at /auth/simple/login.")
	}
	if len(header) > 7 && strings.EqualFold(header[:7], "bearer ") {
		header = strings.TrimSpace(header[7:])
	}
	key, err := s.store.AuthenticateAPIKey(header)
	if err != nil {
		return db.Actor{}, err
	}
	return db.Actor{Kind: "apikey", ID: key.ID, Name: key.Name, Role: key.Role}, nil
}
