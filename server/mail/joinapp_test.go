package mail

import (
	"strings"
	"testing"
	"time"

	"invited/db"
)

// An invitation into an app names the app and its url, escaped in the
// HTML part; one without an app says nothing of apps. The verification
// email of a signup through a link into an app names it too.
func TestEmailsNameTheApp(t *testing.T) {
	store := mustStoreAt(t, db.Options{WelcomeEmails: true, VerifyEmail: db.VerifyEmailAlways})
	if _, _, err := store.CreateApp(db.SystemActor, db.NewApp{ID: "board", Name: "Board <b> & co", URL: "https://board.example.com/?a=1&b=2",
		Domains: []string{"board.example.com"}}); err != nil {
		t.Fatal(err)
	}
	site := Site{Name: "Night Desk", BaseURL: "https://team.example.com/"}
	inv, err := store.CreateInvitation(db.SystemActor, db.NewInvitation{Email: "grace@example.com", DefaultTTL: time.Hour, Inviter: "Ada", AppID: "board"})
	if err != nil {
		t.Fatal(err)
	}
	plain := mustInvite(t, store, "plain@example.com", "Ada")
	for _, due := range dueEmails(t, store) {
		e, err := Render(store, site, due)
		if err != nil {
			t.Fatal(err)
		}
		switch due.InvitationID {
		case inv.ID:
			if !strings.Contains(e.Text, "You are invited into Board <b> & co (https://board.example.com/?a=1&b=2)") {
				t.Errorf("the text does not name the app:\n%s", e.Text)
			}
			if !strings.Contains(e.HTML, "<strong>Board &lt;b&gt; &amp; co</strong>") || strings.Contains(e.HTML, "Board <b>") ||
				!strings.Contains(e.HTML, `href="https://board.example.com/?a=1&amp;b=2"`) {
				t.Errorf("the HTML does not name the app, escaped:\n%s", e.HTML)
			}
		case plain.ID:
			if strings.Contains(e.Text+e.HTML, "invited into") || strings.Contains(e.Text, "Board") {
				t.Errorf("an invitation without an app names one:\n%s", e.Text)
			}
		}
	}

	link, err := store.CreateSignupToken(db.SystemActor, db.NewSignupToken{Name: "team", ExpiresAt: time.Now().Add(time.Hour), AppID: "board"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := store.RedeemSignupToken(link.Secret, db.NewUser{Email: "kay@example.com", Name: "Kay", PasswordHash: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, due := range dueEmails(t, store) {
		if due.Kind != db.EmailVerify || due.UserID != u.ID {
			continue
		}
		e, err := Render(store, site, due)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(e.Text, "open Board <b> & co at https://board.example.com/?a=1&b=2") {
			t.Errorf("the verification email does not name the app:\n%s", e.Text)
		}
		return
	}
	t.Fatal("no verification email was queued")
}
