package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is the cheapest ResponseWriter, so that a benchmark
// measures the server's own work, not a recorder's.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(code int)        { d.status = code }

// BenchmarkValidateHandler is GET /invite/:token/validate through the
// whole handler (middleware, router, limiter off, store), without the
// network, at the benchmark's log level (warn). Profile it with
//
//	go test -run '^$' -bench ValidateHandler -cpuprofile /tmp/cpu.out ./server/
//
// bench/load measures the same request over loopback, from another process.
func BenchmarkValidateHandler(b *testing.B) {
	ts := mustServerWith(b, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&syncBuffer{}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	secret := ts.link(b)
	req := httptest.NewRequest("GET", "/invite/"+secret+"/validate", nil)
	req.RemoteAddr = "127.0.0.1:40000"
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			w.status = 0
			ts.srv.ServeHTTP(w, req)
			if w.status != http.StatusOK {
				b.Fatalf("validate answered %d", w.status)
			}
		}
	})
}
