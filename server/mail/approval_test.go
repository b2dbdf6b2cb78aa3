package mail

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"invited/db"
)

// The email to the Admins names the user, the link and where to approve;
// hostile names neither add headers nor markup; it is not sent once the
// user was approved or rejected. The approved email says the address
// comes first while it is unverified.
func TestRenderApprovalEmails(t *testing.T) {
	store := mustStoreAt(t, db.Options{VerifyEmail: db.VerifyEmailNever})
	admins, err := store.CreateSignupToken(db.SystemActor, db.NewSignupToken{Name: "admins", Role: db.RoleAdmin, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.RedeemSignupToken(admins.Secret, db.NewUser{Email: "boss@example.com", Name: "Boss", PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	link, err := store.CreateSignupToken(db.SystemActor, db.NewSignupToken{Name: "Contractors <i>", RequireApproval: true,
		ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	u, err := store.RedeemSignupToken(link.Secret, db.NewUser{Email: "kay@example.org", Name: "Kay <b>", Username: "kay", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var ask db.OutboxEmail
	for _, e := range dueEmails(t, store) {
		if e.Kind == db.EmailApprovalRequest {
			ask = e
		}
	}
	if ask.To != "boss@example.com" || ask.UserID != u.ID {
		t.Fatalf("approval request %+v", ask)
	}
	site := Site{Name: "Night Desk", BaseURL: "https://team.example.com/"}
	m, err := Render(store, site, ask)
	if err != nil {
		t.Fatal(err)
	}
	if m.To != "boss@example.com" || m.Subject != "A new signup waits for your approval at Night Desk" || Subject(site, ask) != m.Subject {
		t.Errorf("To %q, Subject %q", m.To, m.Subject)
	}
	approve := "https://team.example.com/api/admin/user-admin/" + strconv.FormatUint(u.ID, 10) + "/approve"
	for _, want := range []string{"Kay <b>", "kay@example.org", "Contractors <i>", "invited admin", "press a", approve, "/reject"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.HTML, "<b>") || strings.Contains(m.HTML, "<i>") || !strings.Contains(m.HTML, approve) {
		t.Errorf("a hostile name got through:\n%s\n%s", m.Text, m.HTML)
	}

	if _, err := store.ApproveUser(db.SystemActor, u.ID); err != nil {
		t.Fatal(err)
	}
	var stale *StaleError
	if _, err := Render(store, site, ask); !errors.As(err, &stale) || !strings.Contains(stale.Reason, "approved") {
		t.Fatalf("request after approval: %v", err)
	}
	var ok db.OutboxEmail
	for _, e := range dueEmails(t, store) {
		if e.Kind == db.EmailApproved {
			ok = e
		}
	}
	m, err = Render(store, site, ok)
	if err != nil {
		t.Fatal(err)
	}
	if m.To != "kay@example.org" || m.Subject != "Your account at Night Desk is approved" || !strings.Contains(m.Text, "You can log in now") ||
		!strings.Contains(m.Text, "https://team.example.com/login") || strings.Contains(m.HTML, "Kay <b>") {
		t.Errorf("approved email %q:\n%s\n%s", m.Subject, m.Text, m.HTML)
	}
	if err := store.DeleteUser(db.SystemActor, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := Render(store, site, ok); !errors.As(err, &stale) || !strings.Contains(stale.Reason, "deleted") {
		t.Fatalf("approved email after deleting: %v", err)
	}

	// A rejected user's request is not sent; an unverified user's
	// approval email says the address comes first.
	u2, err := store.RedeemSignupToken(link.Secret, db.NewUser{Email: "lee@example.org", Name: "Lee", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.RejectUser(db.SystemActor, u2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := Render(store, site, db.OutboxEmail{Kind: db.EmailApprovalRequest, To: "boss@example.com", UserID: u2.ID}); !errors.As(err, &stale) || !strings.Contains(stale.Reason, "rejected") {
		t.Fatalf("request after rejection: %v", err)
	}
	m, err = RenderApprovedEmail(ApprovedMail{SiteName: "Night Desk", To: "lee@example.org", LoginURL: "https://team.example.com/login", Verify: true})
	if err != nil || !strings.Contains(m.Text, "verify your address") || strings.Contains(m.Text, "You can log in now") {
		t.Fatalf("approved, unverified: %v\n%s", err, m.Text)
	}
}
