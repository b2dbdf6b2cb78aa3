package server

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/julienschmidt/httprouter"
)

// serverMetrics are the server's Prometheus metrics. Each route gets its
// routeMetrics when it is registered, so recording a request costs no
// string building and no lookup in a shared table: a read lock, a small
// map read and two atomic adds.
type serverMetrics struct {
	set      *metrics.Set
	other    *routeMetrics               // requests outside the route table
	signups  map[string]*metrics.Counter // via
	hashWait *metrics.PrometheusHistogram
}

func newServerMetrics() *serverMetrics {
	// Prometheus tools read a metric's type from its "# TYPE" line.
	metrics.ExposeMetadata(true)
	set := metrics.NewSet()
	m := &serverMetrics{
		set: set,
		signups: map[string]*metrics.Counter{
			"link":       set.NewCounter(`invited_signups_total{via="link"}`),
			"invitation": set.NewCounter(`invited_signups_total{via="invitation"}`),
		},
		hashWait: set.NewPrometheusHistogram("invited_password_hash_wait_seconds"),
	}
	m.other = m.route(otherLabel, otherLabel)
	return m
}

// routeMetrics are the request metrics of one route (method and pattern).
// The series are created on a route's first request, as before there was
// one, so /metrics lists only routes that were called.
type routeMetrics struct {
	set           *metrics.Set
	method, route string

	mu       sync.RWMutex
	duration *metrics.PrometheusHistogram
	requests map[int]*metrics.Counter // by status
}

// route returns the metrics of a route; register calls it once a route.
func (m *serverMetrics) route(method, route string) *routeMetrics {
	return &routeMetrics{set: m.set, method: method, route: route, requests: map[int]*metrics.Counter{}}
}

// observe counts a finished request with its status and duration.
func (rm *routeMetrics) observe(status int, d time.Duration) {
	rm.mu.RLock()
	c, h := rm.requests[status], rm.duration
	rm.mu.RUnlock()
	if c == nil || h == nil {
		rm.mu.Lock()
		if c = rm.requests[status]; c == nil {
			c = rm.set.GetOrCreateCounter(fmt.Sprintf(`invited_http_requests_total{method=%q,route=%q,status="%d"}`, rm.method, rm.route, status))
			rm.requests[status] = c
		}
		if h = rm.duration; h == nil {
			h = rm.set.GetOrCreatePrometheusHistogram(fmt.Sprintf(`invited_http_request_duration_seconds{method=%q,route=%q}`, rm.method, rm.route))
			rm.duration = h
		}
		rm.mu.Unlock()
	}
	c.Inc()
	h.Update(d.Seconds())
}

func (m *serverMetrics) signup(via string) { m.signups[via].Inc() }

// handleMetrics writes every metric in the Prometheus text format: the
// request metrics, counts read from the database now, the hashing queue,
// the outbox worker, bbolt's statistics and the process's.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	s.metrics.set.WritePrometheus(w)
	s.writeStateMetrics(w)
	metrics.WriteProcessMetrics(w)
}

func (s *Server) writeStateMetrics(w io.Writer) {
	gauge := func(name string, v int) { metrics.WriteGaugeUint64(w, name, uint64(max(v, 0))) }
	// A family with labels gets its "# TYPE" line once, before its series
	// (a second one for the same family is an error to Prometheus).
	byState := func(family string, counts map[string]int) {
		metrics.WriteMetadataIfNeeded(w, family, "gauge")
		for _, state := range sortedKeys(counts) {
			fmt.Fprintf(w, "%s{state=%q} %d\n", family, state, max(counts[state], 0))
		}
	}
	if users, err := s.store.CountUsers(); err == nil {
		gauge("invited_users", users)
	}
	if counts, err := s.store.CountInvitations(); err == nil {
		byState("invited_invitations", counts)
	}
	if counts, err := s.store.OutboxStats(); err == nil {
		byState("invited_outbox_emails", counts)
	}
	if o, ok := s.outbox.(interface{ Sent() int64 }); ok {
		metrics.WriteCounterUint64(w, "invited_outbox_sent_total", uint64(o.Sent()))
	}
	if o, ok := s.outbox.(interface{ Failed() int64 }); ok {
		metrics.WriteCounterUint64(w, "invited_outbox_failed_total", uint64(o.Failed()))
	}
	gauge("invited_password_hashes_running", s.hasher.InUse())
	gauge("invited_password_hashes_waiting", s.hasher.Waiting())
	gauge("invited_password_hash_slots", s.hasher.Slots())
	st := s.store.Bolt().Stats()
	gauge("invited_bolt_read_tx_open", st.OpenTxN)
	metrics.WriteCounterUint64(w, "invited_bolt_read_tx_total", uint64(st.TxN))
	gauge("invited_bolt_free_pages", st.FreePageN)
	gauge("invited_bolt_pending_pages", st.PendingPageN)
	metrics.WriteCounterUint64(w, "invited_bolt_write_tx_total", uint64(st.TxStats.GetWrite()))
	metrics.WriteCounterFloat64(w, "invited_bolt_write_seconds_total", st.TxStats.GetWriteTime().Seconds())
	if size, err := s.store.FileSize(); err == nil {
		metrics.WriteGaugeUint64(w, "invited_bolt_file_bytes", uint64(size))
	}
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
