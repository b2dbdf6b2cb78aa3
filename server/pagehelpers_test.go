package server

// Requests as a browser sends them for the HTML pages, for the tests here
// that look at pages beside the JSON API (the pages' own tests are in
// package web).

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"invited/db"
)

// pageResponse is a page as a browser-less client sees it.
type pageResponse struct {
	*http.Response
	body string
}

// page sends a request as a browser would for a page: form-encoded when
// form is not nil, with the cookie and extra headers given, and without
// following redirects.
func (ts *testServer) page(tb testing.TB, method, path, cookie string, form url.Values, headers ...string) pageResponse {
	tb.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		tb.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := *ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return pageResponse{resp, string(raw)}
}

// mustLink creates a signup link through the store.
func (ts *testServer) mustLink(tb testing.TB, in db.NewSignupToken) db.SignupToken {
	tb.Helper()
	if in.Name == "" {
		in.Name = "Team link"
	}
	if in.ExpiresAt.IsZero() {
		in.ExpiresAt = farFuture
	}
	t, err := ts.store.CreateSignupToken(db.Actor{Kind: "apikey", Name: "t", Role: db.RoleAdmin}, in)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func signupValues(email, password, again string) url.Values {
	return url.Values{"email": {email}, "name": {"Ada Lovelace"}, "username": {"ada"},
		"password": {password}, "password2": {again}}
}
