package server

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/julienschmidt/httprouter"
)

// serverMetrics are the server's Prometheus metrics. Request metrics are
// looked up once per route and status and kept, so recording one costs a
// map read and two atomic adds.
type serverMetrics struct {
	set       *metrics.Set
	mu        sync.RWMutex
	requests  map[string]*metrics.Counter             // route + " " + status
	durations map[string]*metrics.PrometheusHistogram // route
	signups   map[string]*metrics.Counter             // via
	hashWait  *metrics.PrometheusHistogram
}

func newServerMetrics() *serverMetrics {
	// Prometheus tools read a metric's type from its "# TYPE" line.
	metrics.ExposeMetadata(true)
	set := metrics.NewSet()
	return &serverMetrics{
		set:       set,
		requests:  map[string]*metrics.Counter{},
		durations: map[string]*metrics.PrometheusHistogram{},
		signups: map[string]*metrics.Counter{
			"link":       set.NewCounter(`invited_signups_total{via="link"}`),
			"invitation": set.NewCounter(`invited_signups_total{via="invitation"}`),
		},
		hashWait: set.NewPrometheusHistogram("invited_password_hash_wait_seconds"),
	}
}

// observeRequest counts a finished request of route with its status and
// duration.
func (m *serverMetrics) observeRequest(method, route string, status int, d time.Duration) {
	key := method + " " + route + " " + strconv.Itoa(status)
	m.mu.RLock()
	c, okC := m.requests[key]
	h, okH := m.durations[method+" "+route]
	m.mu.RUnlock()
	if !okC || !okH {
		m.mu.Lock()
		if c, okC = m.requests[key]; !okC {
			c = m.set.GetOrCreateCounter(fmt.Sprintf(`invited_http_requests_total{method=%q,route=%q,status="%d"}`, method, route, status))
			m.requests[key] = c
		}
		if h, okH = m.durations[method+" "+route]; !okH {
			h = m.set.GetOrCreatePrometheusHistogram(fmt.Sprintf(`invited_http_request_duration_seconds{method=%q,route=%q}`, method, route))
			m.durations[method+" "+route] = h
		}
		m.mu.Unlock()
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
