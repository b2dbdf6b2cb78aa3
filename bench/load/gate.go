package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// The forward-auth target: a proxy app whose group the bench user is in,
// and that user's session cookie, so that every request is the whole
// allowed path (headers checked, the app looked up by host, the session
// read, Admits, the five Remote-* headers).
const (
	gateBenchHost = "app.bench.example"
	gateBenchUser = "gatebench"
)

// gateTargetFor sets up the app and the signed-in user on the server and
// returns the forward-auth target as Caddy would call it.
func (c *apiClient) gateTargetFor(ctx context.Context, goal float64) (gateTarget, error) {
	steps := []struct {
		what, method, path string
		body               any
		want               int
	}{
		{"create the bench group", "POST", "/api/admin/groups", map[string]any{"id": "bench", "name": "Bench"}, http.StatusCreated},
		{"create the bench app", "POST", "/api/admin/apps", map[string]any{"id": "bench", "name": "Bench",
			"url": "https://" + gateBenchHost + "/", "groups": []string{"bench"}, "domains": []string{gateBenchHost}}, http.StatusCreated},
	}
	for _, s := range steps {
		if _, _, err := c.do(ctx, s.method, s.path, s.body, true, s.want); err != nil {
			return gateTarget{}, fmt.Errorf("%s: %w", s.what, err)
		}
	}
	secret, err := c.createLink(ctx, "bench gate")
	if err != nil {
		return gateTarget{}, err
	}
	data, _, err := c.do(ctx, "POST", "/invite/"+secret+"/signup", map[string]any{
		"email": gateBenchUser + "@example.com", "username": gateBenchUser, "name": "Gate Bench", "password": benchPassword}, false, http.StatusOK)
	if err != nil {
		return gateTarget{}, fmt.Errorf("sign the bench user up: %w", err)
	}
	var u struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(data, &u); err != nil {
		return gateTarget{}, fmt.Errorf("sign the bench user up: %s", data)
	}
	if _, _, err := c.do(ctx, "PUT", fmt.Sprintf("/api/admin/user-admin/%d", u.ID), map[string]any{"groups": []string{"bench"}}, true, http.StatusOK); err != nil {
		return gateTarget{}, fmt.Errorf("put the bench user in its group: %w", err)
	}
	_, h, err := c.do(ctx, "POST", "/auth/simple/login", map[string]any{"username": gateBenchUser, "password": benchPassword}, false, http.StatusOK)
	if err != nil {
		return gateTarget{}, fmt.Errorf("log the bench user in: %w", err)
	}
	var cookie string
	for _, ck := range (&http.Response{Header: h}).Cookies() {
		if ck.Name == "invited_session" {
			cookie = ck.Name + "=" + ck.Value
		}
	}
	if cookie == "" {
		return gateTarget{}, fmt.Errorf("log the bench user in: no session cookie")
	}
	return gateTarget{label: "forward-auth, allowed", path: "/api/authz/forward-auth", goal: goal, p99Goal: 2 * time.Millisecond, headers: []string{
		"Cookie: " + cookie, "X-Forwarded-Method: GET", "X-Forwarded-Proto: https",
		"X-Forwarded-Host: " + gateBenchHost, "X-Forwarded-Uri: /dashboard?id=1", "Accept: text/html",
	}}, nil
}

// do sends one JSON request (with the API key when admin) and wants the
// status; it returns the body and the header.
func (c *apiClient) do(ctx context.Context, method, path string, body any, admin bool, want int) ([]byte, http.Header, error) {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if admin {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != want {
		return nil, nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, data)
	}
	return data, resp.Header, nil
}
