package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"invited/db"
)

// BenchmarkForwardAuthHandler is an allowed GET /api/authz/forward-auth
// (a grouped app, a member's session) through the whole handler, without
// the network, at the benchmark's log level (warn). Profile it with
//
//	go test -run '^$' -bench ForwardAuthHandler -cpuprofile /tmp/cpu.out ./server/
//
// bench/load measures the same request over loopback ("forward-auth,
// allowed").
func BenchmarkForwardAuthHandler(b *testing.B) {
	ts := mustServerWith(b, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&syncBuffer{}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	actor := db.Actor{Kind: "apikey", Name: "t", Role: db.RoleAdmin}
	if _, err := ts.store.CreateGroup(actor, db.NewGroup{ID: "bench", Name: "Bench"}); err != nil {
		b.Fatal(err)
	}
	if _, _, err := ts.store.CreateApp(actor, db.NewApp{ID: "bench", Name: "Bench", URL: "https://app.bench.example/",
		Groups: []string{"bench"}, Domains: []string{"app.bench.example"}}); err != nil {
		b.Fatal(err)
	}
	u := ts.mustUser(b, db.RoleViewer)
	groups := []string{"bench"}
	if _, err := ts.store.UpdateUser(actor, u.ID, db.UserUpdate{Groups: &groups}); err != nil {
		b.Fatal(err)
	}
	cookie := ts.login(b, u.Email, testPassword)
	req := httptest.NewRequest("GET", "/api/authz/forward-auth", nil)
	req.RemoteAddr = "127.0.0.1:40000"
	for k, v := range map[string]string{"Cookie": cookie, "X-Forwarded-Method": "GET", "X-Forwarded-Proto": "https",
		"X-Forwarded-Host": "app.bench.example", "X-Forwarded-Uri": "/dashboard?id=1", "Accept": "text/html"} {
		req.Header.Set(k, v)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			w.status = 0
			ts.srv.ServeHTTP(w, req)
			if w.status != http.StatusOK {
				b.Fatalf("forward-auth answered %d", w.status)
			}
		}
	})
}
