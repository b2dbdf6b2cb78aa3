package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"invited/internal/testutil"
)

// TestE2EGracefulShutdown sends SIGTERM while a signup is hashing its
// password: the signup must finish with 200, the process exit 0, and the
// user be there after a restart.
func TestE2EGracefulShutdown(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A deliberately slow hash keeps the request in flight.
	slow := []string{"INVITED_AUTH_ARGON2_MEMORY_KIB=65536", "INVITED_AUTH_ARGON2_ITERATIONS=12"}
	p := startServer(t, dir, slow...)
	secret := createLink(t, p, map[string]any{"name": "shutdown", "expiresAt": e2eFuture})["secret"].(string)

	type answer struct {
		status int
		err    error
	}
	got := make(chan answer, 1)
	go func() {
		status, _, _, err := send("POST", signupURL(p, secret), "", "application/json",
			mustJSON(t, signupJSON("inflight@example.com", "", "In Flight")))
		got <- answer{status, err}
	}()
	// Wait (bounded) until the request is being handled: the hash queue
	// shows it on /metrics.
	testutil.Eventually(t, 5*time.Second, "the signup to start hashing", func() error {
		if _, _, body := do(t, "GET", p.URL+"/metrics", "", nil); !strings.Contains(string(body), "invited_password_hashes_running 1") {
			return errors.New("/metrics shows no hash running")
		}
		return nil
	})
	start := time.Now()
	p.Stop()
	a := <-got
	if a.err != nil || a.status != 200 {
		t.Fatalf("in-flight signup during shutdown: status %d, %v; want 200", a.status, a.err)
	}
	if err := p.ExitErr(); err != nil {
		t.Fatalf("exit after SIGTERM: %v, want status 0", err)
	}
	if !strings.Contains(p.log.String(), "invited stopped") {
		t.Errorf("log does not say it stopped:\n%s", p.log.String())
	}
	t.Logf("shutdown took %v", time.Since(start))
	if _, err := os.Stat(filepath.Join(dir, "admin.sock")); !os.IsNotExist(err) {
		t.Errorf("admin socket left behind: %v", err)
	}
	if _, _, _, err := send("GET", p.URL+"/health", "", "", nil); err == nil {
		t.Error("the stopped server still answers")
	}
	p2 := startServer(t, dir)
	if users := emailsOf(t, getLink(t, p2, secret)); len(users) != 1 || users[0] != "inflight@example.com" {
		t.Fatalf("after restart the link lists %v, want the in-flight signup", users)
	}
}

// TestE2ETLSAndJSONLogs serves HTTPS from a certificate made here and logs
// JSON lines with a request id.
func TestE2ETLSAndJSONLogs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, pool := makeCert(t, dir)
	p := startServer(t, dir, "INVITED_SERVER_TLS_CERT="+certFile, "INVITED_SERVER_TLS_KEY="+keyFile,
		"INVITED_LOG_FORMAT=json", "INVITED_SERVER_BASE_URL=https://invite.example.test")
	if !strings.HasPrefix(p.URL, "https://") {
		t.Fatalf("listening on %s, want https", p.URL)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("GET", p.URL+"/health", nil)
	req.Header.Set("X-Request-Id", "tls-check-1")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("health over TLS: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	// The request is logged as one JSON object with its id and route.
	var found map[string]any
	testutil.Eventually(t, 5*time.Second, "a JSON log line for the request", func() error {
		for _, line := range strings.Split(p.log.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["request_id"] == "tls-check-1" {
				found = m
				return nil
			}
		}
		return fmt.Errorf("the log holds:\n%s", p.log.String())
	})
	if found["route"] != "/health" || found["status"] != 200.0 || found["msg"] != "request" {
		t.Fatalf("request log line %v", found)
	}
	// Plain HTTP on the TLS port is refused.
	if resp, err := e2eClient.Get(strings.Replace(p.URL, "https://", "http://", 1) + "/health"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP answered 200 on the TLS port")
		}
	}
	// With only one of the two files the server refuses to start.
	_, stderr, code := runBinary(t, 20*time.Second, serverEnv(t.TempDir(), "INVITED_SERVER_TLS_CERT="+certFile), "serve")
	if code == 0 || !strings.Contains(stderr, "tls_key") {
		t.Errorf("cert without key: exit %d, %q", code, stderr)
	}
}

// makeCert writes a self-signed certificate for 127.0.0.1 and returns the
// files and a pool that trusts it.
func makeCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "invited test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestE2EBackupWhileServing copies the database through the running
// server's socket, and from the file once it is stopped; both copies open
// and hold the data.
func TestE2EBackupWhileServing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := startServer(t, dir)
	secret := createLink(t, p, map[string]any{"name": "backed up", "expiresAt": e2eFuture})["secret"].(string)
	env := serverEnv(dir)
	hot := filepath.Join(t.TempDir(), "hot.db")
	stdout, stderr, code := runBinary(t, 20*time.Second, env, "backup", hot)
	if code != 0 || !strings.Contains(stdout, "from the running server") {
		t.Fatalf("backup while serving: exit %d, %q %q", code, stdout, stderr)
	}
	p.Stop()
	cold := filepath.Join(t.TempDir(), "cold.db")
	if stdout, stderr, code = runBinary(t, 20*time.Second, env, "backup", cold); code != 0 || !strings.Contains(stdout, "from the file") {
		t.Fatalf("backup of a stopped server: exit %d, %q %q", code, stdout, stderr)
	}
	for _, copyPath := range []string{hot, cold} {
		if fi, err := os.Stat(copyPath); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("copy %s: %v %v, want mode 0600", copyPath, fi, err)
		}
		// Serve the copy: it must hold the link.
		restored := t.TempDir()
		data, _ := os.ReadFile(copyPath)
		if err := os.WriteFile(filepath.Join(restored, "invited.db"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		p2 := startServer(t, restored)
		if got := getLink(t, p2, secret)["name"]; got != "backed up" {
			t.Fatalf("restored from %s: link name %v", copyPath, got)
		}
		p2.Stop()
	}
	// version names the build.
	stdout, _, code = runBinary(t, 10*time.Second, env, "version")
	if code != 0 || !strings.HasPrefix(stdout, "invited ") || !strings.Contains(stdout, "go1.") {
		t.Errorf("version: exit %d, %q", code, stdout)
	}
}
