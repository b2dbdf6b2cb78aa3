package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// envDebugListen names the address of the debug listener, a benchmark aid:
// when it is set, `invited serve` also serves Go's profiles
// (net/http/pprof under /debug/pprof/) on that address. It is off when
// unset and is never a configuration key, so that a config file cannot
// turn it on by accident. bench/load sets it to 127.0.0.1:0 for -profile.
const envDebugListen = "INVITED_DEBUG_LISTEN"

// checkDebugListen refuses a debug address that is not a literal loopback
// IP with a port: the profiles show the process's memory layout and
// stacks, and a profile costs CPU, so only this machine may ask for them.
func checkDebugListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s=%q: give host:port, e.g. 127.0.0.1:0 (%v)", envDebugListen, addr, err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%s=%q: the debug listener serves profiles of the process and must listen on a loopback IP such as 127.0.0.1 or [::1]; unset it to turn it off", envDebugListen, addr)
	}
	if _, err := net.LookupPort("tcp", port); err != nil || port == "" {
		return fmt.Errorf("%s=%q: %q is not a port number; use 0 for any free port", envDebugListen, addr, port)
	}
	return nil
}

// debugHandler serves the profiles of net/http/pprof, on a mux of its own
// (never http.DefaultServeMux).
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// startDebugListener starts the debug listener when environ sets
// INVITED_DEBUG_LISTEN, and logs its address at warn level (so that it
// shows at every log level and a benchmark can read it). The returned
// function stops it; it is a no-op when the listener is off.
func startDebugListener(environ []string, log *slog.Logger) (stop func(), err error) {
	addr := lookupEnv(environ, envDebugListen)
	if addr == "" {
		return func() {}, nil
	}
	if err := checkDebugListen(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w", envDebugListen, addr, err)
	}
	srv := &http.Server{Handler: debugHandler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() { _ = srv.Serve(ln) }()
	log.Warn("debug listener is on: profiles of this process under /debug/pprof/; a benchmark aid, unset "+envDebugListen+" in production",
		"debug_addr", "http://"+ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}
