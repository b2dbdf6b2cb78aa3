package server

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"invited/db"
)

func TestMetrics(t *testing.T) {
	ts := mustServer(t)
	ts.mustUser(t, db.RoleViewer)
	ts.mustInvitation(t)
	ts.call(t, "GET", "/no/such/path", "", "")
	// A method no route takes, on a known path and on an unknown one,
	// folds into the one "other" series of its status.
	ts.call(t, "BREW", "/health", "", "")
	ts.call(t, "BREW", "/no/such/path", "", "")
	ts.call(t, "CHURN", "/no/such/path", "", "")
	resp, err := ts.Client().Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	text := string(raw)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("metrics: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`invited_http_requests_total{method="POST",route="/invite/:token/signup",status="200"} 1`,
		`invited_http_requests_total{method="other",route="other",status="404"} 3`,
		`invited_http_requests_total{method="other",route="other",status="405"} 1`,
		"# TYPE invited_http_requests_total counter",
		"# TYPE invited_http_request_duration_seconds histogram",
		"# TYPE invited_invitations gauge",
		"# TYPE invited_users gauge",
		`invited_http_request_duration_seconds_bucket{method="POST",route="/invite/:token/signup",le="+Inf"} 1`,
		`invited_signups_total{via="link"} 1`,
		`invited_users 1`,
		`invited_invitations{state="PENDING"} 1`,
		`invited_outbox_emails{state="pending"} 1`, // the invitation's email: no worker runs here
		`invited_password_hash_slots 1`,
		`invited_password_hash_wait_seconds_count`,
		`invited_bolt_write_tx_total`,
		`invited_bolt_file_bytes`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Paths are never labels: an unknown path must not add a series.
	if strings.Contains(text, "/no/such/path") {
		t.Error("an unmatched path became a label")
	}
	for _, method := range []string{"BREW", "CHURN"} {
		if strings.Contains(text, method) {
			t.Errorf("the unknown method %s became a label", method)
		}
	}
	// Prometheus refuses a family typed twice.
	if n := strings.Count(text, "# TYPE invited_invitations gauge\n"); n != 1 {
		t.Errorf("the invited_invitations family is typed %d times, want once", n)
	}
}

func TestHealth(t *testing.T) {
	ts := mustServer(t)
	resp, body := ts.call(t, "GET", "/health", "", "")
	if resp.StatusCode != 200 || body["health"] != "GOOD" {
		t.Fatalf("health: %d %v", resp.StatusCode, body)
	}
	// A database that cannot be read makes the server unhealthy.
	ts.store.Close()
	resp, body = ts.call(t, "GET", "/health", "", "")
	if resp.StatusCode != 503 || body["health"] != "BAD" {
		t.Fatalf("health with the database closed: %d %v, want 503", resp.StatusCode, body)
	}
}

func TestCrossOriginRefusedInEachShape(t *testing.T) {
	ts := mustServer(t)
	for path, wantKey := range map[string]string{doitInvitePath: "error", "/api/admin/invite-link/tokens": "name"} {
		req, _ := http.NewRequest("POST", ts.URL+path, strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 403 || body[wantKey] == nil {
			t.Errorf("cross-site POST %s: %d %v, want 403 with %q", path, resp.StatusCode, body, wantKey)
		}
	}
}
