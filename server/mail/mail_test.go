package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"invited/db"
	"invited/internal/testutil"
	"invited/server/smtptest"
)

// ---- helpers: a recording SMTP server, a store, a running worker ----

// closedMailAddr returns a loopback address where nothing listens.
func closedMailAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func mustSMTPSender(tb testing.TB, addr, user, pass, tlsMode string) Sender {
	tb.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		tb.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	s, err := NewSender(SenderOptions{
		Driver: "smtp", Host: host, Port: p, Username: user, Password: pass,
		From: "invited <invited@example.com>", TLS: tlsMode, Timeout: 2 * time.Second,
	}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func mustMailStore(tb testing.TB) *db.Store {
	tb.Helper()
	store, err := db.Open(filepath.Join(tb.TempDir(), "x.db"), db.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	return store
}

// testSite is the configuration the tests' workers render emails with.
var testSite = Site{Name: "Acme Team", BaseURL: "https://invited.example.com/"}

// runOutbox starts a worker that stops (and is waited for) when the test
// ends, before the store closes.
func runOutbox(tb testing.TB, store *db.Store, sender Sender, opts OutboxOptions) *Outbox {
	tb.Helper()
	o := NewOutbox(store, sender, testSite, nil, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { o.Run(ctx); close(done) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			tb.Error("the outbox worker did not stop")
		}
	})
	return o
}

// onlyEmail returns the one email of the outbox.
func onlyEmail(tb testing.TB, store *db.Store) db.OutboxEmail {
	tb.Helper()
	list, total, err := store.ListOutbox(0, 10)
	if err != nil {
		tb.Fatal(err)
	}
	if total != 1 {
		tb.Fatalf("the outbox holds %d emails, want 1", total)
	}
	return list[0]
}

// waitForMail polls cond until it holds, failing after a few seconds.
func waitForMail(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	testutil.Eventually(tb, 5*time.Second, what, func() error {
		if !cond() {
			return errors.New("not yet")
		}
		return nil
	})
}

// stepClock is an outbox clock the test moves, and that counts how often
// the worker read it: a pass reads it once to look for due emails, and
// once more to know how long to sleep when an email is pending.
type stepClock struct {
	at    atomic.Int64 // Unix nanoseconds
	reads atomic.Int64
}

func newStepClock(at time.Time) *stepClock {
	c := &stepClock{}
	c.at.Store(at.UnixNano())
	return c
}

func (c *stepClock) now() time.Time {
	c.reads.Add(1)
	return time.Unix(0, c.at.Load()).UTC()
}

func (c *stepClock) set(at time.Time) { c.at.Store(at.UnixNano()) }

// mailSenderFunc adapts a function to Sender.
type mailSenderFunc func(context.Context, db.Email) error

func (f mailSenderFunc) Send(ctx context.Context, e db.Email) error { return f(ctx, e) }

// parseMail takes a received message apart; it must be
// multipart/alternative.
func parseMail(tb testing.TB, data []byte) smtptest.Parsed {
	tb.Helper()
	pm := smtptest.MustParse(tb, data)
	if pm.Type != "multipart/alternative" {
		tb.Fatalf("Content-Type %q, want multipart/alternative", pm.Header.Get("Content-Type"))
	}
	return pm
}

// mailLogBuffer is a bytes.Buffer safe for a logger and a test at once.
type mailLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *mailLogBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *mailLogBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// ---- rendering ----

func TestRenderInvitationEmail(t *testing.T) {
	expires := time.Date(2030, 3, 4, 15, 4, 0, 0, time.FixedZone("CET", 3600))
	const uri = "https://invited.example.com/invitations/0123abcd?a=1&b=2"
	base := InvitationMail{SiteName: "Acme Team", To: "bob@example.com", Inviter: "Ada Lovelace",
		URI: uri, ExpiresAt: expires, RoleName: "Viewer"}

	t.Run("content", func(t *testing.T) {
		e, err := RenderInvitationEmail(base)
		if err != nil {
			t.Fatal(err)
		}
		if e.To != "bob@example.com" {
			t.Errorf("To = %q", e.To)
		}
		if want := "Ada Lovelace invited you to join Acme Team"; e.Subject != want {
			t.Errorf("Subject = %q, want %q", e.Subject, want)
		}
		for _, want := range []string{"Ada Lovelace", "Acme Team", uri, "Monday, 4 March 2030 at 14:04 UTC", "Viewer", "ignore this email"} {
			if !strings.Contains(e.Text, want) {
				t.Errorf("text lacks %q:\n%s", want, e.Text)
			}
		}
		htmlURI := strings.ReplaceAll(uri, "&", "&amp;")
		for _, want := range []string{"Ada Lovelace", "Acme Team", `href="` + htmlURI + `"`, ">" + htmlURI + "</a>", "Monday, 4 March 2030 at 14:04 UTC", "ignore this email"} {
			if !strings.Contains(e.HTML, want) {
				t.Errorf("HTML lacks %q:\n%s", want, e.HTML)
			}
		}
	})

	t.Run("no inviter", func(t *testing.T) {
		m := base
		m.Inviter = ""
		e, err := RenderInvitationEmail(m)
		if err != nil {
			t.Fatal(err)
		}
		if want := "You are invited to join Acme Team"; e.Subject != want {
			t.Errorf("Subject = %q, want %q", e.Subject, want)
		}
		if !strings.Contains(e.Text, "You are invited to join Acme Team") || !strings.Contains(e.HTML, "You are invited to join <strong>Acme Team</strong>") {
			t.Errorf("text: %s\nHTML: %s", e.Text, e.HTML)
		}
	})

	t.Run("header injection", func(t *testing.T) {
		m := base
		m.Inviter = "Mallory\r\nBcc: evil@x"
		m.SiteName = "Acme\nX-Evil: 1\u2028"
		m.To = "bob@example.com\r\n"
		e, err := RenderInvitationEmail(m)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(e.Subject, "\r\n\u2028") || strings.ContainsAny(e.To, "\r\n") {
			t.Errorf("a header value holds a line break: Subject %q, To %q", e.Subject, e.To)
		}
		if want := "Mallory Bcc: evil@x invited you to join Acme X-Evil: 1"; e.Subject != want {
			t.Errorf("Subject = %q, want %q", e.Subject, want)
		}
	})

	t.Run("HTML escapes", func(t *testing.T) {
		m := base
		m.Inviter = "<script>alert(1)</script>"
		m.SiteName = `Acme "<b>"`
		e, err := RenderInvitationEmail(m)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(e.HTML, "<script>") || strings.Contains(e.HTML, "<b>") {
			t.Errorf("HTML holds unescaped markup:\n%s", e.HTML)
		}
		if !strings.Contains(e.HTML, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("HTML lacks the escaped inviter:\n%s", e.HTML)
		}
	})
}

func TestRenderWelcomeEmail(t *testing.T) {
	e, err := RenderWelcomeEmail(WelcomeMail{SiteName: "Acme Team", To: "ada@example.com",
		Name: "Ada <script>x</script>", LoginURL: "https://invited.example.com/login"})
	if err != nil {
		t.Fatal(err)
	}
	if e.Subject != "Welcome to Acme Team" || e.To != "ada@example.com" {
		t.Errorf("Subject %q, To %q", e.Subject, e.To)
	}
	for _, want := range []string{"Ada <script>x</script>", "Acme Team", "https://invited.example.com/login"} {
		if !strings.Contains(e.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, e.Text)
		}
	}
	if strings.Contains(e.HTML, "<script>") || !strings.Contains(e.HTML, "Ada &lt;script&gt;") {
		t.Errorf("HTML does not escape the name:\n%s", e.HTML)
	}
	if !strings.Contains(e.HTML, `href="https://invited.example.com/login"`) {
		t.Errorf("HTML lacks the login link:\n%s", e.HTML)
	}
}

// ---- senders ----

func TestNewSenderRejectsBadOptions(t *testing.T) {
	ok := SenderOptions{Driver: "smtp", Host: "smtp.example.com", From: "invited@example.com"}
	for name, edit := range map[string]func(*SenderOptions){
		"unknown driver": func(o *SenderOptions) { o.Driver = "sendmail" },
		"no host":        func(o *SenderOptions) { o.Host = "" },
		"bad TLS mode":   func(o *SenderOptions) { o.TLS = "ssl" },
		"bad from":       func(o *SenderOptions) { o.From = "not an address" },
		"bad port":       func(o *SenderOptions) { o.Port = 70000 },
	} {
		t.Run(name, func(t *testing.T) {
			o := ok
			edit(&o)
			if _, err := NewSender(o, nil); err == nil {
				t.Errorf("NewSender(%+v) succeeded", o)
			}
		})
	}
	if _, err := NewSender(ok, nil); err != nil {
		t.Errorf("good options refused: %v", err)
	}
}

func TestLogSenderWritesRecipientAndSubject(t *testing.T) {
	var buf mailLogBuffer
	s, err := NewSender(SenderOptions{Driver: "log"}, slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	e, err := RenderInvitationEmail(InvitationMail{SiteName: "Acme", To: "bob@example.com",
		URI: "https://invited.example.com/invitations/tok123"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"level=INFO", "to=bob@example.com", `subject="You are invited to join Acme"`, "https://invited.example.com/invitations/tok123"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestSMTPSenderWrongPassword(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{Username: "mailer", Password: "right-password"})
	err := mustSMTPSender(t, srv.Addr(), "mailer", "wrong-password", "none").
		Send(context.Background(), db.Email{To: "bob@example.com", Subject: "s", Text: "t"})
	if err == nil {
		t.Fatal("sent with a wrong password")
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("the error shows the password: %v", err)
	}
	if len(srv.Messages()) != 0 {
		t.Error("the server got a message")
	}
}

func TestSMTPSenderStartTLSRequired(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{})
	err := mustSMTPSender(t, srv.Addr(), "", "", "starttls").
		Send(context.Background(), db.Email{To: "bob@example.com", Subject: "s", Text: "t"})
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("sending without STARTTLS in starttls mode: err = %v", err)
	}
	if len(srv.Messages()) != 0 {
		t.Error("the server got a message in clear")
	}
}

// ---- the outbox ----

func TestOutboxDeliversOverSMTP(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Config{Username: "mailer", Password: "s3cret"})
	store := mustMailStore(t)
	const uri = "https://invited.example.com/invitations/0123abcd?a=1&b=2"
	e, err := RenderInvitationEmail(InvitationMail{SiteName: "Acme Team", To: "bob@example.com",
		Inviter: "Mallory\r\nBcc: evil@x", URI: uri, ExpiresAt: time.Now().Add(time.Hour), RoleName: "Viewer"})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.EnqueueEmail(db.EmailInvitation, e); err != nil {
		t.Fatal(err)
	}
	o := runOutbox(t, store, mustSMTPSender(t, srv.Addr(), "mailer", "s3cret", "none"), OutboxOptions{})
	o.Poke()
	waitForMail(t, "the email to be sent", func() bool { return onlyEmail(t, store).State == db.EmailSent })

	msgs := srv.Messages()
	if len(msgs) != 1 {
		t.Fatalf("the server got %d messages, want 1", len(msgs))
	}
	got := msgs[0]
	if got.User != "mailer" || got.Pass != "s3cret" {
		t.Errorf("AUTH as %q/%q", got.User, got.Pass)
	}
	if got.From != "invited@example.com" || len(got.To) != 1 || got.To[0] != "bob@example.com" {
		t.Errorf("MAIL FROM %q, RCPT TO %q", got.From, got.To)
	}
	head, _, _ := bytes.Cut(got.Data, []byte("\r\n\r\n"))
	for _, line := range strings.Split(string(head), "\r\n") {
		if strings.HasPrefix(strings.ToLower(line), "bcc:") {
			t.Errorf("the inviter's name injected a header line: %q", line)
		}
	}
	pm := parseMail(t, got.Data)
	if want := "Mallory Bcc: evil@x invited you to join Acme Team"; pm.Subject != want {
		t.Errorf("Subject %q, want %q", pm.Subject, want)
	}
	if pm.Header.Get("Date") == "" || !strings.HasSuffix(pm.Header.Get("Message-ID"), "@example.com>") {
		t.Errorf("Date %q, Message-ID %q", pm.Header.Get("Date"), pm.Header.Get("Message-ID"))
	}
	if pm.Header.Get("To") != "<bob@example.com>" || !strings.Contains(pm.Header.Get("From"), "invited@example.com") {
		t.Errorf("From %q, To %q", pm.Header.Get("From"), pm.Header.Get("To"))
	}
	if len(pm.Parts) != 2 || pm.Parts[0] != "text/plain" || pm.Parts[1] != "text/html" {
		t.Errorf("parts %q, want text/plain then text/html", pm.Parts)
	}
	if !strings.Contains(pm.Text, uri) || !strings.Contains(pm.HTML, strings.ReplaceAll(uri, "&", "&amp;")) {
		t.Errorf("the link is missing from a part:\ntext: %s\nhtml: %s", pm.Text, pm.HTML)
	}

	rec := onlyEmail(t, store)
	if rec.Attempts != 1 || rec.LastError != "" || rec.SentAt == nil || rec.Text != "" || rec.HTML != "" {
		t.Errorf("record after sending: %+v", rec)
	}
	if o.Sent() != 1 || o.Failed() != 0 {
		t.Errorf("Sent %d, Failed %d", o.Sent(), o.Failed())
	}
}

func TestOutboxWelcomeSetsEmailSent(t *testing.T) {
	store, err := db.Open(filepath.Join(t.TempDir(), "x.db"), db.Options{WelcomeEmails: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	link, err := store.CreateSignupToken(db.SystemActor, db.NewSignupToken{Name: "team", ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	u, err := store.RedeemSignupToken(link.Secret, db.NewUser{Email: "ada@example.com", Name: "Ada", PasswordHash: "not-a-real-hash"})
	if err != nil {
		t.Fatal(err)
	}
	if u.EmailSent {
		t.Fatal("emailSent is true before the welcome email went out")
	}
	srv := smtptest.Start(t, smtptest.Config{})
	runOutbox(t, store, mustSMTPSender(t, srv.Addr(), "", "", "none"), OutboxOptions{})
	waitForMail(t, "the welcome email to be sent", func() bool { return onlyEmail(t, store).State == db.EmailSent })
	got, err := store.FindUserByID(u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.EmailSent {
		t.Error("emailSent is still false after the welcome email was sent")
	}
	if msgs := srv.Messages(); len(msgs) != 1 || msgs[0].To[0] != "ada@example.com" || parseMail(t, msgs[0].Data).Subject != "Welcome to Acme Team" {
		t.Errorf("received %+v", msgs)
	}
}

func TestOutboxRetriesUntilServerAnswers(t *testing.T) {
	addr := closedMailAddr(t)
	store := mustMailStore(t)
	if err := store.EnqueueEmail(db.EmailInvitation, db.Email{To: "bob@example.com", Subject: "hi", Text: "link"}); err != nil {
		t.Fatal(err)
	}
	runOutbox(t, store, mustSMTPSender(t, addr, "", "", "none"),
		OutboxOptions{BaseDelay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond, MaxAttempts: 1000})
	waitForMail(t, "two failed attempts", func() bool { return onlyEmail(t, store).Attempts >= 2 })
	rec := onlyEmail(t, store)
	if rec.State != db.EmailPending || rec.LastError == "" {
		t.Errorf("after failures: state %q, lastError %q", rec.State, rec.LastError)
	}

	srv := smtptest.Start(t, smtptest.Config{Addr: addr})
	waitForMail(t, "the email to be sent", func() bool { return onlyEmail(t, store).State == db.EmailSent })
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("the server got %d messages, want 1", n)
	}
	if rec := onlyEmail(t, store); rec.Attempts < 3 || rec.LastError != "" {
		t.Errorf("after delivery: attempts %d, lastError %q", rec.Attempts, rec.LastError)
	}
}

func TestOutboxGivesUpAfterMaxAttempts(t *testing.T) {
	smtpSender := mustSMTPSender(t, closedMailAddr(t), "", "", "none")
	var calls atomic.Int64 // to bob, whose server is down
	sender := mailSenderFunc(func(ctx context.Context, e db.Email) error {
		if e.To == "marker@example.com" {
			return nil
		}
		calls.Add(1)
		return smtpSender.Send(ctx, e)
	})
	store := mustMailStore(t)
	if err := store.EnqueueEmail(db.EmailWelcome, db.Email{To: "bob@example.com", Subject: "hi", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	// The worker's clock runs with the real one until the email failed.
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	o := runOutbox(t, store, sender, OutboxOptions{MaxAttempts: 2, BaseDelay: 10 * time.Millisecond, MaxDelay: time.Second, Poll: 20 * time.Millisecond, Now: now})
	waitForMail(t, "the email to fail", func() bool { return onlyEmail(t, store).State == db.EmailFailed })
	failed := onlyEmail(t, store)

	// Then it jumps a day, past any retry a backoff could ask for, and
	// a second email is queued. Once that one went out, the worker has
	// looked at the outbox after the jump: the failed email, older and
	// so first in line, would have been tried then if it were still due.
	skew.Store(int64(24 * time.Hour))
	if err := store.EnqueueEmail(db.EmailWelcome, db.Email{To: "marker@example.com", Subject: "hi", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	o.Poke()
	waitForMail(t, "the marker email to be sent", func() bool { return o.Sent() == 1 })
	list, _, err := store.ListOutbox(0, 10)
	if err != nil || len(list) != 2 {
		t.Fatalf("outbox %+v, %v", list, err)
	}
	if rec := list[1]; rec.ID != failed.ID || rec.State != db.EmailFailed || rec.Attempts != 2 || rec.LastError == "" || rec.Text != "" {
		t.Errorf("failed record: %+v", rec)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("Send called %d times for the failed email, want 2", n)
	}
	if o.Failed() != 1 || o.Sent() != 1 {
		t.Errorf("Sent %d, Failed %d", o.Sent(), o.Failed())
	}
}

// TestOutboxPokeWakesWorker: an email that becomes due while the worker
// sleeps (for an hour) goes out on a Poke. The worker's first pass sees
// it, but not yet due; only after that pass ended does the worker's
// clock reach it, so only a Poke can make the next pass.
func TestOutboxPokeWakesWorker(t *testing.T) {
	queued := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	store, err := db.Open(filepath.Join(t.TempDir(), "x.db"), db.Options{Now: func() time.Time { return queued }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.EnqueueEmail(db.EmailInvitation, db.Email{To: "bob@example.com", Subject: "hi", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	clock := newStepClock(queued.Add(-2 * time.Hour))
	var calls atomic.Int64
	o := runOutbox(t, store, mailSenderFunc(func(context.Context, db.Email) error { calls.Add(1); return nil }),
		OutboxOptions{Poll: time.Hour, Now: clock.now})
	// The first pass reads the clock twice: nothing due yet, and the
	// next email two hours off, so it sleeps a Poll (an hour).
	waitForMail(t, "the first pass to end", func() bool { return clock.reads.Load() >= 2 })
	if calls.Load() != 0 {
		t.Fatal("the first pass sent an email that was not due")
	}
	clock.set(queued)
	o.Poke()
	o.Poke() // never blocks
	waitForMail(t, "the poked email to be sent", func() bool { return onlyEmail(t, store).State == db.EmailSent })
	if calls.Load() != 1 {
		t.Errorf("Send called %d times", calls.Load())
	}
}

func TestOutboxRunStopsWhenCancelled(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		store := mustMailStore(t)
		clock := newStepClock(time.Now())
		o := NewOutbox(store, mailSenderFunc(func(context.Context, db.Email) error { return nil }), testSite, nil, OutboxOptions{Now: clock.now})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { o.Run(ctx); close(done) }()
		waitForMail(t, "the first pass", func() bool { return clock.reads.Load() >= 1 })
		cancel()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	})

	t.Run("email in flight", func(t *testing.T) {
		store := mustMailStore(t)
		if err := store.EnqueueEmail(db.EmailInvitation, db.Email{To: "bob@example.com", Subject: "hi", Text: "t"}); err != nil {
			t.Fatal(err)
		}
		sending := make(chan struct{})
		sender := mailSenderFunc(func(ctx context.Context, _ db.Email) error {
			close(sending)
			<-ctx.Done() // a send that only ends with its context
			return ctx.Err()
		})
		o := NewOutbox(store, sender, testSite, nil, OutboxOptions{})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { o.Run(ctx); close(done) }()
		select {
		case <-sending:
		case <-time.After(2 * time.Second):
			t.Fatal("the email was not picked up")
		}
		cancel()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
		// The abandoned attempt is not counted: the email is due at the next start.
		if rec := onlyEmail(t, store); rec.State != db.EmailPending || rec.Attempts != 0 {
			t.Errorf("after an abandoned attempt: %+v", rec)
		}
	})
}

func TestOutboxBackoff(t *testing.T) {
	o := NewOutbox(nil, nil, Site{}, nil, OutboxOptions{BaseDelay: 10 * time.Second, MaxDelay: time.Hour})
	for _, tc := range []struct {
		attempts int
		min      time.Duration
	}{
		{0, 10 * time.Second},
		{1, 20 * time.Second},
		{3, 80 * time.Second},
		{9, time.Hour},
		{1000, time.Hour},
	} {
		for range 20 {
			d := o.backoff(tc.attempts)
			if d < tc.min || d > tc.min+tc.min/10 {
				t.Errorf("backoff(%d) = %v, want %v plus at most 10%%", tc.attempts, d, tc.min)
			}
		}
	}
}

// A Sender's errors reach the store as they are; check a sender error is
// recorded verbatim (and so must be free of secrets, see the SMTP test).
func TestOutboxRecordsSenderError(t *testing.T) {
	store := mustMailStore(t)
	if err := store.EnqueueEmail(db.EmailInvitation, db.Email{To: "bob@example.com", Subject: "hi", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	runOutbox(t, store, mailSenderFunc(func(context.Context, db.Email) error {
		return errors.New("421 try later")
	}), OutboxOptions{BaseDelay: time.Hour})
	waitForMail(t, "a failed attempt", func() bool { return onlyEmail(t, store).Attempts == 1 })
	rec := onlyEmail(t, store)
	if rec.LastError != "421 try later" || rec.State != db.EmailPending {
		t.Errorf("record: %+v", rec)
	}
	if wait := time.Until(rec.NextAttemptAt); wait < 50*time.Minute {
		t.Errorf("next attempt in %v, want about an hour", wait)
	}
}

// clockSender sends through a real SMTP sender and moves the outbox's
// clock on by step for every email, as a slow mail server would.
type clockSender struct {
	Sender
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *clockSender) Send(ctx context.Context, e db.Email) error {
	c.mu.Lock()
	c.now = c.now.Add(c.step)
	c.mu.Unlock()
	return c.Sender.Send(ctx, e)
}

func (c *clockSender) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// TestOutboxRecordsRunsOfEmails: a pass records what it sent in one write
// per recordEvery emails when sending is quick, and at least every
// recordWithin when it is slow; every email goes out once and ends sent.
func TestOutboxRecordsRunsOfEmails(t *testing.T) {
	for _, tc := range []struct {
		name   string
		emails int
		step   time.Duration
		writes uint64
	}{
		// 40 quick sends: recorded after 16, 32, and at the end.
		{"quick", 40, 0, 3},
		// 100 ms a send: the first is 250 ms old when the fourth has
		// gone, so 10 sends are recorded after 4, 8 and at the end.
		{"slow", 10, 100 * time.Millisecond, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Config{})
			store := mustMailStore(t)
			for i := range tc.emails {
				if err := store.EnqueueEmail(db.EmailInvitation, db.Email{To: fmt.Sprintf("p%d@example.com", i), Subject: "s", Text: "t", HTML: "<p>h</p>"}); err != nil {
					t.Fatal(err)
				}
			}
			sender := &clockSender{Sender: mustSMTPSender(t, srv.Addr(), "", "", "none"), now: time.Now(), step: tc.step}
			o := NewOutbox(store, sender, testSite, nil, OutboxOptions{Now: sender.Now})
			writes := store.Writes()
			o.pass(context.Background())
			if n := store.Writes() - writes; n != tc.writes {
				t.Errorf("%d emails were recorded in %d writes, want %d", tc.emails, n, tc.writes)
			}
			if got := len(srv.Messages()); got != tc.emails {
				t.Errorf("the server got %d messages, want %d", got, tc.emails)
			}
			list, total, err := store.ListOutbox(0, tc.emails)
			if err != nil || total != tc.emails {
				t.Fatalf("outbox: %d emails, %v", total, err)
			}
			for _, e := range list {
				if e.State != db.EmailSent || e.Attempts != 1 {
					t.Errorf("email %d: %s after %d attempts, want sent after 1", e.ID, e.State, e.Attempts)
				}
			}
			// Nothing is due, so the next pass sends and writes nothing.
			writes = store.Writes()
			o.pass(context.Background())
			if n := store.Writes() - writes; n != 0 || len(srv.Messages()) != tc.emails {
				t.Errorf("a second pass wrote %d times and the server has %d messages", n, len(srv.Messages()))
			}
		})
	}
}
