package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"invited/db"
)

// withTOTP turns TOTP on for u at the store's clock and returns the secret
// and the recovery codes.
func withTOTP(t *testing.T, ts *testServer, clock *testClock, u db.User) (string, []string) {
	t.Helper()
	setup, err := ts.store.BeginTOTP(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(setup.Secret, clock.now())
	codes, err := ts.store.ConfirmTOTP(db.UserActor(u), u.ID, code)
	if err != nil {
		t.Fatal(err)
	}
	clock.add(30 * time.Second) // the confirming code is spent
	return setup.Secret, codes
}

// passwordStep logs u in with the password and wants the 401 that asks
// for the second factor; it returns the continuation.
func passwordStep(t *testing.T, ts *testServer, u db.User, methods string) string {
	t.Helper()
	resp, body := ts.call(t, "POST", "/auth/simple/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, u.Email, testPassword))
	if resp.StatusCode != 401 || body["name"] != "SecondFactorRequired" {
		t.Fatalf("password step: %d %v", resp.StatusCode, body)
	}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			t.Fatal("the password step set a session cookie")
		}
	}
	if got := fmt.Sprint(body["methods"]); got != methods {
		t.Errorf("methods %s, want %s", got, methods)
	}
	return body["continuation"].(string)
}

func secondStep(t *testing.T, ts *testServer, continuation, code string) (*http.Response, map[string]any) {
	t.Helper()
	return ts.call(t, "POST", "/auth/simple/login/second-factor", "", fmt.Sprintf(`{"continuation":%q,"code":%q}`, continuation, code))
}

func TestJSONLoginSecondFactor(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	ts := mustServerOnClock(t, clock)
	u := ts.mustUser(t, db.RoleEditor)
	secret, codes := withTOTP(t, ts, clock, u)

	c := passwordStep(t, ts, u, "[totp recovery]")
	code, _ := totp.GenerateCode(secret, clock.now())
	resp, body := secondStep(t, ts, c, code)
	if resp.StatusCode != 200 || body["email"] != u.Email {
		t.Fatalf("second step: %d %v", resp.StatusCode, body)
	}
	var cookie string
	for _, k := range resp.Cookies() {
		if k.Name == sessionCookie {
			cookie = sessionCookie + "=" + k.Value
		}
	}
	if r, _ := ts.callAs(t, cookie, "GET", "/api/admin/user", ""); r.StatusCode != 200 {
		t.Fatalf("the second step's session: %d", r.StatusCode)
	}
	if _, ok := body["recoveryCodes"]; ok {
		t.Error("a plain second step shows recovery codes")
	}

	t.Run("continuation is single use", func(t *testing.T) {
		clock.add(30 * time.Second)
		code, _ := totp.GenerateCode(secret, clock.now())
		if resp, body := secondStep(t, ts, c, code); resp.StatusCode != 401 || body["name"] != "AuthenticationRequired" {
			t.Fatalf("a used continuation: %d %v", resp.StatusCode, body)
		}
	})

	t.Run("continuation expires", func(t *testing.T) {
		ts.store.UnlockUser(db.SystemActor, u.ID)
		c := passwordStep(t, ts, u, "[totp recovery]")
		clock.add(db.SecondFactorTTL + time.Second)
		code, _ := totp.GenerateCode(secret, clock.now())
		if resp, _ := secondStep(t, ts, c, code); resp.StatusCode != 401 {
			t.Fatalf("an expired continuation: %d", resp.StatusCode)
		}
	})

	t.Run("recovery code once", func(t *testing.T) {
		ts.store.UnlockUser(db.SystemActor, u.ID)
		c := passwordStep(t, ts, u, "[totp recovery]")
		if resp, body := secondStep(t, ts, c, codes[3]); resp.StatusCode != 200 {
			t.Fatalf("recovery code: %d %v", resp.StatusCode, body)
		}
		c = passwordStep(t, ts, u, "[totp recovery]")
		if resp, _ := secondStep(t, ts, c, codes[3]); resp.StatusCode != 401 {
			t.Fatalf("a used recovery code: %d", resp.StatusCode)
		}
	})

	t.Run("hostile input", func(t *testing.T) {
		ts.store.UnlockUser(db.SystemActor, u.ID)
		c := passwordStep(t, ts, u, "[totp recovery]")
		for _, tc := range []struct {
			body string
			want int
		}{
			{`{"continuation":` + fmt.Sprintf("%q", c) + `,"code":123456}`, 400},
			{`{"continuation":["x"],"code":"123456"}`, 400},
			{`{"continuation":` + fmt.Sprintf("%q", c) + `}`, 400},
			{`{"continuation":` + fmt.Sprintf("%q", c) + `,"code":"1","extra":1}`, 400},
			{`{"Continuation":` + fmt.Sprintf("%q", c) + `,"code":"123456"}`, 400},
			{`{"continuation":` + fmt.Sprintf("%q", c) + `,"code":"` + strings.Repeat("9", 100000) + `"}`, 401},
			{`{"continuation":"` + strings.Repeat("a", 100000) + `","code":"123456"}`, 401},
			{`not json`, 400},
		} {
			resp, body := ts.call(t, "POST", "/auth/simple/login/second-factor", "", tc.body)
			if resp.StatusCode != tc.want {
				t.Errorf("%.60s: %d %v, want %d", tc.body, resp.StatusCode, body, tc.want)
			}
		}
		if resp, _ := ts.call(t, "POST", "/auth/simple/login/second-factor", "", `{"continuation":"x","code":"`+strings.Repeat("9", MaxBodyBytes)+`"}`); resp.StatusCode != 413 {
			t.Errorf("a body over the cap: %d", resp.StatusCode)
		}
	})

	t.Run("someone else's continuation", func(t *testing.T) {
		// Mallory knows her own password and code, and holds Ada's
		// continuation: her code does not finish Ada's login.
		mallory := ts.mustUser(t, db.RoleViewer)
		mSecret, _ := withTOTP(t, ts, clock, mallory)
		ts.store.UnlockUser(db.SystemActor, u.ID)
		adaCont := passwordStep(t, ts, u, "[totp recovery]")
		mCode, _ := totp.GenerateCode(mSecret, clock.now())
		if resp, _ := secondStep(t, ts, adaCont, mCode); resp.StatusCode != 401 {
			t.Fatalf("another user's code on Ada's continuation: %d", resp.StatusCode)
		}
		mCont := passwordStep(t, ts, mallory, "[totp recovery]")
		resp, body := secondStep(t, ts, mCont, mCode)
		if resp.StatusCode != 200 || body["email"] != mallory.Email {
			t.Fatalf("mallory's own login: %d %v", resp.StatusCode, body)
		}
	})

	t.Run("wrong codes throttle the account", func(t *testing.T) {
		ts.store.UnlockUser(db.SystemActor, u.ID)
		for i := 0; i < 3; i++ { // MaxLoginAttempts is 3
			c := passwordStep(t, ts, u, "[totp recovery]")
			if resp, _ := secondStep(t, ts, c, "000000"); resp.StatusCode != 401 {
				t.Fatalf("wrong code %d: %d", i, resp.StatusCode)
			}
		}
		// Waiting now: the password step itself reads like a wrong one.
		resp, body := ts.call(t, "POST", "/auth/simple/login", "", fmt.Sprintf(`{"username":%q,"password":%q}`, u.Email, testPassword))
		if resp.StatusCode != 401 || body["name"] != "AuthenticationRequired" {
			t.Fatalf("during the wait: %d %v", resp.StatusCode, body)
		}
	})
}

func TestJSONLoginSecondFactorSetup(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	ts := mustServerOnClock(t, clock)
	ts.srv.accounts.RequireSecondFactor = []db.Role{db.RoleAdmin}
	admin := ts.mustUser(t, db.RoleAdmin)
	viewer := ts.mustUser(t, db.RoleViewer)
	ts.login(t, viewer.Email, testPassword) // a role not in the list

	c := passwordStep(t, ts, admin, "[totp-setup]")
	if resp, _ := secondStep(t, ts, c, "123456"); resp.StatusCode != 401 {
		t.Fatalf("a code before the setup: %d", resp.StatusCode)
	}
	resp, setup := ts.call(t, "POST", "/auth/simple/login/second-factor/setup", "", fmt.Sprintf(`{"continuation":%q}`, c))
	if resp.StatusCode != 200 || !strings.HasPrefix(setup["otpauthUrl"].(string), "otpauth://totp/") {
		t.Fatalf("setup: %d %v", resp.StatusCode, setup)
	}
	code, _ := totp.GenerateCode(setup["secret"].(string), clock.now())
	resp, body := secondStep(t, ts, c, code)
	if resp.StatusCode != 200 || len(body["recoveryCodes"].([]any)) != db.RecoveryCodeCount {
		t.Fatalf("finishing the setup: %d %v", resp.StatusCode, body)
	}
	clock.add(30 * time.Second)
	passwordStep(t, ts, admin, "[totp recovery]")
}

func TestClearSecondFactorsAPI(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	ts := mustServerOnClock(t, clock)
	admin := ts.mustUser(t, db.RoleAdmin)
	withTOTP(t, ts, clock, admin)
	_, editorKey, err := ts.store.CreateAPIKey(db.SystemActor, "editor-key", db.RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/admin/user-admin/%d/second-factors", admin.ID)
	// An Editor (key or session) never reaches it: no MANAGE_USERS.
	if resp, _ := ts.callAs(t, "key:"+editorKey, "DELETE", path, ""); resp.StatusCode != 403 {
		t.Fatalf("an Editor key clearing an Admin's factors: %d", resp.StatusCode)
	}
	if st, _ := ts.store.SecondFactors(admin.ID); !st.TOTP {
		t.Fatal("the refused call changed something")
	}
	// The store's ceiling holds behind the permission too.
	if _, err := ts.store.ClearSecondFactors(db.Actor{Kind: "user", ID: 999, Role: db.RoleEditor}, admin.ID); db.ErrorCode(err) != db.EFORBIDDEN {
		t.Fatalf("an Editor actor: %v", err)
	}
	for _, bad := range []string{"/api/admin/user-admin/abc/second-factors", "/api/admin/user-admin/99999/second-factors", "/api/admin/user-admin/-1/second-factors"} {
		if resp, _ := ts.callAs(t, "key:Bearer "+testKey, "DELETE", bad, ""); resp.StatusCode != 404 {
			t.Errorf("%s: %d", bad, resp.StatusCode)
		}
	}
	if resp, _ := ts.callAs(t, "key:Bearer "+testKey, "DELETE", path, `{"x":1}`); resp.StatusCode != 400 {
		t.Errorf("a body with fields: %d", resp.StatusCode)
	}
	if resp, raw := ts.callAs(t, "key:Bearer "+testKey, "DELETE", path, ""); resp.StatusCode != 200 {
		t.Fatalf("clear: %d %s", resp.StatusCode, raw)
	}
	ts.login(t, admin.Email, testPassword)
	events, _, _ := ts.store.ListEvents(db.EventSecondFactorsCleared, 0, 10)
	if len(events) != 1 || events[0].CreatedBy == "" {
		t.Fatalf("events %+v", events)
	}
}
