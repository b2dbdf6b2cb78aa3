package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"invited/db"
)

const batchPath = "/api/admin/invitation-batches"

// batchResults reads the results of a 200 batch answer.
func batchResults(tb testing.TB, raw string) []map[string]any {
	tb.Helper()
	var body struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal([]byte(raw), &body); err != nil {
		tb.Fatalf("batch answer %q: %v", raw, err)
	}
	return body.Results
}

// invitationCount is how many invitations the store holds, in any state.
func (ts *testServer) invitationCount(tb testing.TB) int {
	tb.Helper()
	counts, err := ts.store.CountInvitations()
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

func TestInvitationBatchHTTP(t *testing.T) {
	ts := mustServer(t)
	key := "key:Bearer " + testKey
	member := ts.mustUser(t, db.RoleViewer)
	ts.mustInvitation(t) // invitee<n>@example.com, pending
	pending, _, err := ts.store.ListInvitations(db.SystemActor, db.InvitationPending, 0, 1)
	if err != nil || len(pending) != 1 {
		t.Fatal(pending, err)
	}
	body := fmt.Sprintf(`{"inviter":"Ada","ttl":"3600s","invitations":[
		{"email":"grace@example.com","roleId":"Editor","organizationId":"default"},
		{"email":%q},
		{"email":%q},
		{"email":"not-an-address"},
		{"email":"GRACE@example.com"},
		{"email":"kay@example.com","roleId":{"id":1}},
		{"email":"lin@example.com","roleId":7},
		{"email":"mo@example.com","groups":["nope"]},
		{},
		{"email":%q},
		{"email":"last@example.com","roleId":3}
	]}`, strings.ToUpper(member.Email), pending[0].Email, strings.Repeat("a", 5000)+"@example.com")
	before := ts.invitationCount(t)
	resp, raw := ts.callAs(t, key, "POST", batchPath, body)
	if resp.StatusCode != 200 {
		t.Fatalf("batch: %d %s", resp.StatusCode, raw)
	}
	results := batchResults(t, raw)
	want := []struct{ status, says string }{
		{db.BatchInvited, ""},
		{db.BatchHasAccount, "has an account"},
		{db.BatchAlreadyInvited, "pending invitation"},
		{db.BatchInvalid, "email"},
		{db.BatchAlreadyInvited, "more than once"},
		{db.BatchInvalid, "roleId"},
		{db.BatchInvalid, "roleId"},
		{db.BatchInvalid, "not a group"},
		{db.BatchInvalid, "email"},
		{db.BatchInvalid, "email"},
		{db.BatchInvited, ""},
	}
	if len(results) != len(want) {
		t.Fatalf("%d results for %d rows: %s", len(results), len(want), raw)
	}
	for i, w := range want {
		r := results[i]
		if r["status"] != w.status {
			t.Errorf("row %d: %v, want %s", i+1, r, w.status)
			continue
		}
		if w.status == db.BatchInvited {
			inv, _ := r["invitation"].(map[string]any)
			if inv == nil || inv["invitationToken"] == "" || inv["state"] != "PENDING" || r["error"] != nil {
				t.Errorf("row %d: invited without the invitation a single create answers: %v", i+1, r)
			}
			continue
		}
		msg, _ := r["error"].(string)
		if r["invitation"] != nil || !strings.Contains(msg, w.says) {
			t.Errorf("row %d: %v, want an error that says %q", i+1, r, w.says)
		}
		if len(r["email"].(string)) > 2*db.MaxEmailLength+4 {
			t.Errorf("row %d echoes %d bytes of address", i+1, len(r["email"].(string)))
		}
	}
	if inv := results[0]["invitation"].(map[string]any); fmt.Sprint(inv["roleId"]) != "2" || inv["ttl"] != "3600s" || inv["inviter"] != "Ada" {
		t.Errorf("first invitation %v: want roleId 2, ttl 3600s, inviter Ada", inv)
	}
	if n := ts.invitationCount(t) - before; n != 2 {
		t.Fatalf("the batch made %d invitations, want 2", n)
	}
}

func TestInvitationBatchRefusedWhole(t *testing.T) {
	ts := mustServer(t)
	key := "key:Bearer " + testKey
	rows := make([]string, db.MaxBatchInvitations+1)
	for i := range rows {
		rows[i] = fmt.Sprintf(`{"email":"p%d@example.com"}`, i)
	}
	for _, tc := range []struct{ name, body, says string }{
		{"501 addresses", `{"inviter":"A","invitations":[` + strings.Join(rows, ",") + `]}`, "at most 500"},
		{"no addresses", `{"inviter":"A","invitations":[]}`, "at least one"},
		{"no list", `{"inviter":"A"}`, "at least one"},
		{"null list", `{"inviter":"A","invitations":null}`, "at least one"},
		{"a key names no inviter", `{"invitations":[{"email":"a@example.com"}]}`, "inviter"},
		{"bad ttl", `{"inviter":"A","ttl":"soon","invitations":[{"email":"a@example.com"}]}`, "ttl"},
		{"zero ttl", `{"inviter":"A","ttl":"0s","invitations":[{"email":"a@example.com"}]}`, "ttl"},
		{"zero ttl, every row unreadable", `{"inviter":"A","ttl":"0s","invitations":[{"email":"a@example.com","roleId":99}]}`, "ttl"},
		{"huge inviter", `{"inviter":"` + strings.Repeat("x", 100000) + `","invitations":[{"email":"a@example.com"}]}`, "inviter"},
		{"list of the wrong type", `{"inviter":"A","invitations":{"email":"a@example.com"}}`, "invitations"},
		{"email of the wrong type", `{"inviter":"A","invitations":[{"email":42}]}`, "email"},
		{"groups of the wrong type", `{"inviter":"A","invitations":[{"email":"a@example.com","groups":"ops"}]}`, "groups"},
		{"unknown field in a row", `{"inviter":"A","invitations":[{"email":"a@example.com","invitedEmail":"b@example.com"}]}`, "invitedEmail"},
		{"unknown field", `{"inviter":"A","labels":[],"invitations":[{"email":"a@example.com"}]}`, "labels"},
		{"an unknown app", `{"inviter":"A","appId":"grafana","invitations":[{"email":"a@example.com"}]}`, "appId"},
		{"not JSON", `{"inviter":"A","invitations":[`, "JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, raw := ts.callAs(t, key, "POST", batchPath, tc.body)
			if resp.StatusCode != 400 || !strings.Contains(raw, tc.says) || !strings.Contains(raw, "ValidationError") {
				t.Fatalf("%d %s, want a 400 that says %q", resp.StatusCode, clip(raw, 300), tc.says)
			}
			if n := ts.invitationCount(t); n != 0 {
				t.Fatalf("a refused batch made %d invitations", n)
			}
		})
	}
	// 500 is allowed.
	resp, raw := ts.callAs(t, key, "POST", batchPath, `{"inviter":"A","disableInvitationEmail":true,"invitations":[`+strings.Join(rows[:500], ",")+`]}`)
	if resp.StatusCode != 200 || len(batchResults(t, raw)) != 500 {
		t.Fatalf("500 addresses: %d %s", resp.StatusCode, clip(raw, 300))
	}
	if n := ts.invitationCount(t); n != 500 {
		t.Fatalf("500 addresses made %d invitations", n)
	}
}

// TestInvitationBatchEditorCeilings: an Editor's batch is held, row by
// row, to what the Editor may hand out.
func TestInvitationBatchEditorCeilings(t *testing.T) {
	ts := mustServer(t)
	for _, g := range []string{"Ops", "Finance"} {
		if _, err := ts.store.CreateGroup(db.SystemActor, db.NewGroup{Name: g}); err != nil {
			t.Fatal(err)
		}
	}
	link, err := ts.store.CreateSignupToken(db.SystemActor, db.NewSignupToken{Name: "eds", ExpiresAt: farFuture, Role: db.RoleEditor, Groups: []string{"ops"}})
	if err != nil {
		t.Fatal(err)
	}
	resp, body := ts.call(t, "POST", "/invite/"+link.Secret+"/signup", "", fmt.Sprintf(`{"email":"ed@example.com","name":"Ed","password":%q}`, testPassword))
	if resp.StatusCode != 200 {
		t.Fatalf("signup: %d %v", resp.StatusCode, body)
	}
	cookie := ts.login(t, "ed@example.com", testPassword)
	resp, raw := ts.callAs(t, cookie, "POST", batchPath, `{"invitations":[
		{"email":"a@example.com","roleId":"Editor","groups":["ops"]},
		{"email":"b@example.com","roleId":"Admin"},
		{"email":"c@example.com","groups":["finance"]},
		{"email":"d@example.com","groups":["ops","finance"]},
		{"email":"e@example.com"}
	]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("batch: %d %s", resp.StatusCode, raw)
	}
	results := batchResults(t, raw)
	want := []struct{ status, says string }{
		{db.BatchInvited, ""},
		{db.BatchInvalid, "may not be above your own role"},
		{db.BatchInvalid, "not one of your groups"},
		{db.BatchInvalid, "not one of your groups"},
		{db.BatchInvited, ""},
	}
	for i, w := range want {
		if results[i]["status"] != w.status || !strings.Contains(fmt.Sprint(results[i]["error"]), w.says) {
			t.Errorf("row %d: %v, want %s saying %q", i+1, results[i], w.status, w.says)
		}
	}
	// The invitations name Ed as their inviter, as a single one would.
	if inv := results[0]["invitation"].(map[string]any); inv["inviter"] != "Ed" {
		t.Errorf("inviter %v, want Ed", inv["inviter"])
	}
	// A Viewer may not send a batch at all.
	viewer := ts.mustUser(t, db.RoleViewer)
	if resp, raw := ts.callAs(t, ts.login(t, viewer.Email, testPassword), "POST", batchPath, `{"invitations":[{"email":"v@example.com"}]}`); resp.StatusCode != 403 {
		t.Fatalf("a Viewer's batch: %d %s", resp.StatusCode, raw)
	}
}

// A batch naming an app sends every invitee on to it, as a single
// invitation does.
func TestInvitationBatchIntoAnApp(t *testing.T) {
	ts := mustServer(t)
	if _, _, err := ts.store.CreateApp(db.SystemActor, db.NewApp{ID: "grafana", Name: "Grafana", URL: "https://grafana.example.com/",
		Domains: []string{"grafana.example.com"}}); err != nil {
		t.Fatal(err)
	}
	resp, raw := ts.callAs(t, "key:Bearer "+testKey, "POST", batchPath,
		`{"inviter":"Ada","appId":"grafana","invitations":[{"email":"one@example.com"},{"email":"two@example.com"}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("batch into an app: %d %s", resp.StatusCode, raw)
	}
	for _, r := range batchResults(t, raw) {
		inv, _ := r["invitation"].(map[string]any)
		if r["status"] != "invited" || inv["appId"] != "grafana" {
			t.Errorf("result %v, want invited with appId grafana", r)
		}
	}
	invs, _, err := ts.store.ListInvitations(db.SystemActor, db.InvitationPending, 0, 10)
	if err != nil || len(invs) != 2 || invs[0].AppID != "grafana" || invs[1].AppID != "grafana" {
		t.Fatalf("stored: %+v, %v", invs, err)
	}
}
