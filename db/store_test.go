package db

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// testClock is a settable clock for tests.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var admin = Actor{Kind: "apikey", ID: 1, Name: "test-admin", Role: RoleAdmin}

func mustOpen(tb testing.TB) (*Store, *testClock) {
	tb.Helper()
	clock := &testClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s, err := Open(filepath.Join(tb.TempDir(), "test.db"), Options{Now: clock.now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, clock
}

func mustLink(tb testing.TB, s *Store, clock *testClock, in NewSignupToken) SignupToken {
	tb.Helper()
	if in.Name == "" {
		in.Name = "team"
	}
	if in.ExpiresAt.IsZero() {
		in.ExpiresAt = clock.now().Add(24 * time.Hour)
	}
	tok, err := s.CreateSignupToken(admin, in)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func wantCode(tb testing.TB, err error, code Code) {
	tb.Helper()
	if ErrorCode(err) != code {
		tb.Fatalf("error %v: code %q, want %q", err, ErrorCode(err), code)
	}
}

func newUser(email, username string) NewUser {
	return NewUser{Email: email, Name: "Some One", Username: username, PasswordHash: "$argon2id$fake"}
}

func TestOpenSetsSchemaAndRefusesNewer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.SchemaVersionOnDisk(); err != nil || v != SchemaVersion {
		t.Fatalf("schema version %d, %v; want %d", v, err, SchemaVersion)
	}
	// A file from a newer build must be refused, not damaged.
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, []byte("99"))
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "schema version 99") {
		t.Fatalf("open newer file: %v", err)
	}
}

func TestOpenLockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = Open(path, Options{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
}

func TestCreateSignupToken(t *testing.T) {
	s, clock := mustOpen(t)
	tok := mustLink(t, s, clock, NewSignupToken{Name: "  Friends  ", MaxUses: new(3), AllowedDomains: []string{"Example.COM", "@example.com", "b.org"}})
	if !ValidSecret(tok.Secret) {
		t.Errorf("secret %q is not 32 lowercase hex", tok.Secret)
	}
	if tok.Name != "Friends" || tok.Role != RoleViewer || !tok.Enabled || tok.CreatedBy != "test-admin" {
		t.Errorf("token %+v", tok)
	}
	if got := strings.Join(tok.AllowedDomains, ","); got != "example.com,b.org" {
		t.Errorf("domains %q, want normalised and deduplicated", got)
	}
	got, err := s.FindSignupToken(admin, tok.Secret)
	if err != nil || got.Name != "Friends" || got.MaxUses != 3 {
		t.Fatalf("find: %+v, %v", got, err)
	}
	events, _, _ := s.ListEvents(EventLinkCreated, 0, 10)
	if len(events) != 1 || events[0].CreatedBy != "apikey:test-admin" {
		t.Fatalf("events %+v", events)
	}
	raw, _ := json.Marshal(events)
	if strings.Contains(string(raw), tok.Secret) {
		t.Errorf("audit event holds the secret: %s", raw)
	}
}

func TestCreateSignupTokenValidation(t *testing.T) {
	s, clock := mustOpen(t)
	editor := Actor{Kind: "apikey", Name: "ed", Role: RoleEditor}
	future := clock.now().Add(time.Hour)
	cases := []struct {
		name  string
		actor Actor
		in    NewSignupToken
		path  string
	}{
		{"missing name", admin, NewSignupToken{ExpiresAt: future}, "name"},
		{"name with newline", admin, NewSignupToken{Name: "a\nb", ExpiresAt: future}, "name"},
		{"name too long", admin, NewSignupToken{Name: strings.Repeat("x", 101), ExpiresAt: future}, "name"},
		{"no expiry", admin, NewSignupToken{Name: "x"}, "expiresAt"},
		{"past expiry", admin, NewSignupToken{Name: "x", ExpiresAt: clock.now()}, "expiresAt"},
		{"unknown role", admin, NewSignupToken{Name: "x", ExpiresAt: future, Role: 7}, "role"},
		{"role above actor", editor, NewSignupToken{Name: "x", ExpiresAt: future, Role: RoleAdmin}, "role"},
		{"negative max uses", admin, NewSignupToken{Name: "x", ExpiresAt: future, MaxUses: new(-1)}, "maxUses"},
		{"bad domain", admin, NewSignupToken{Name: "x", ExpiresAt: future, AllowedDomains: []string{"not a domain"}}, "allowedDomains[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateSignupToken(tc.actor, tc.in)
			wantCode(t, err, EINVALID)
			var e *Error
			if !errors.As(err, &e) || len(e.Details) == 0 || e.Details[0].Path != tc.path {
				t.Fatalf("error %v: want details naming %q", err, tc.path)
			}
		})
	}
	if tokens, err := s.ListSignupTokens(admin); err != nil || len(tokens) != 0 {
		t.Fatalf("refused creates stored %d links, %v", len(tokens), err)
	}
	// An editor may create an Editor link.
	if _, err := s.CreateSignupToken(editor, NewSignupToken{Name: "x", ExpiresAt: future, Role: RoleEditor}); err != nil {
		t.Fatal(err)
	}
}

func TestRedeemSignupToken(t *testing.T) {
	s, clock := mustOpen(t)
	tok := mustLink(t, s, clock, NewSignupToken{Role: RoleEditor, MaxUses: new(2), AllowedDomains: []string{"example.com"}})

	u, err := s.RedeemSignupToken(tok.Secret, newUser("Ada@example.com", "Ada"))
	if err != nil {
		t.Fatal(err)
	}
	if u.RootRole != RoleEditor || u.ID == 0 || u.LinkID != tok.ID {
		t.Fatalf("user %+v", u)
	}
	t.Run("email taken, any case", func(t *testing.T) {
		_, err := s.RedeemSignupToken(tok.Secret, newUser("ADA@EXAMPLE.COM", ""))
		wantCode(t, err, ECONFLICT)
	})
	t.Run("username taken, any case", func(t *testing.T) {
		_, err := s.RedeemSignupToken(tok.Secret, newUser("other@example.com", "aDA"))
		wantCode(t, err, ECONFLICT)
	})
	t.Run("domain not allowed", func(t *testing.T) {
		_, err := s.RedeemSignupToken(tok.Secret, newUser("eve@evil.com", ""))
		wantCode(t, err, EINVALID)
	})
	t.Run("unknown secret", func(t *testing.T) {
		_, err := s.RedeemSignupToken(strings.Repeat("0", 32), newUser("x@example.com", ""))
		wantCode(t, err, ENOTFOUND)
	})
	if _, err := s.RedeemSignupToken(tok.Secret, newUser("bob@example.com", "")); err != nil {
		t.Fatal(err)
	}
	t.Run("used up", func(t *testing.T) {
		_, err := s.RedeemSignupToken(tok.Secret, newUser("carol@example.com", ""))
		wantCode(t, err, EGONE)
		if !strings.Contains(err.Error(), "used") {
			t.Errorf("message %q does not say the link is used up", err)
		}
	})
	got, _ := s.FindSignupToken(admin, tok.Secret)
	if got.Uses != 2 || len(got.Users) != 2 || got.Users[0].Email != "Ada@example.com" {
		t.Fatalf("link after redeem: uses %d, users %+v", got.Uses, got.Users)
	}
	if n, _ := s.CountUsers(); n != 2 {
		t.Fatalf("%d users, want 2: refused signups must create nothing", n)
	}
	for _, login := range []string{"ada@EXAMPLE.com", "ADA"} {
		if u, err := s.FindUserByLogin(login); err != nil || u.Email != "Ada@example.com" {
			t.Errorf("login %q: %+v, %v", login, u, err)
		}
	}
	if _, total, _ := s.ListEvents(EventLinkUserAdded, 0, 10); total != 2 {
		t.Errorf("%d user-added events, want 2", total)
	}
}

func TestSignupTokenDisabledAndExpired(t *testing.T) {
	s, clock := mustOpen(t)
	tok := mustLink(t, s, clock, NewSignupToken{})
	off := false
	tok, err := s.UpdateSignupToken(admin, tok.Secret, SignupTokenUpdate{Enabled: &off})
	if err != nil || tok.Enabled {
		t.Fatalf("disable: %+v %v", tok, err)
	}
	err = s.CheckSignupToken(tok.Secret, "")
	wantCode(t, err, EGONE)
	if !strings.Contains(err.Error(), "disabled") {
		t.Errorf("message %q does not say disabled", err)
	}
	on := true
	if _, err := s.UpdateSignupToken(admin, tok.Secret, SignupTokenUpdate{Enabled: &on}); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSignupToken(tok.Secret, ""); err != nil {
		t.Fatal(err)
	}
	clock.add(25 * time.Hour)
	tok, _ = s.FindSignupToken(admin, tok.Secret)
	if tok.Enabled || !tok.Expired || !tok.Switched {
		t.Fatalf("expired link: enabled %v expired %v switched %v", tok.Enabled, tok.Expired, tok.Switched)
	}
	err = s.CheckSignupToken(tok.Secret, "")
	wantCode(t, err, EGONE)
	if !strings.Contains(err.Error(), "expired") {
		t.Errorf("message %q does not say expired", err)
	}
	// Any instant may be set on update, kept exactly.
	later := clock.now().Add(90*time.Minute + 123456789*time.Nanosecond)
	tok, err = s.UpdateSignupToken(admin, tok.Secret, SignupTokenUpdate{ExpiresAt: &later})
	if err != nil || !tok.ExpiresAt.Equal(later) || !tok.Enabled {
		t.Fatalf("extend: %+v %v", tok, err)
	}
	_, err = s.UpdateSignupToken(admin, tok.Secret, SignupTokenUpdate{})
	wantCode(t, err, EINVALID)
	_, err = s.UpdateSignupToken(admin, "nope", SignupTokenUpdate{Enabled: &on})
	wantCode(t, err, ENOTFOUND)
}

func TestRedeemConcurrentMaxUses(t *testing.T) {
	s, clock := mustOpen(t)
	tok := mustLink(t, s, clock, NewSignupToken{MaxUses: new(5)})
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := s.RedeemSignupToken(tok.Secret, newUser(strings.Repeat("a", i+1)+"@example.com", ""))
			if err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			} else if ErrorCode(err) != EGONE {
				t.Errorf("redeem: %v", err)
			}
		}(i)
	}
	wg.Wait()
	if ok != 5 {
		t.Fatalf("%d signups succeeded, want exactly 5", ok)
	}
}

func TestAPIKeys(t *testing.T) {
	s, _ := mustOpen(t)
	key, raw, err := s.CreateAPIKey(admin, "ci", RoleEditor)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw, APIKeyPrefix) || len(raw) != len(APIKeyPrefix)+48 {
		t.Fatalf("raw key %q", raw)
	}
	got, err := s.AuthenticateAPIKey(raw)
	if err != nil || got.ID != key.ID || got.Role != RoleEditor || got.LastUsedAt == nil {
		t.Fatalf("authenticate: %+v %v", got, err)
	}
	_, err = s.AuthenticateAPIKey(raw + "x")
	wantCode(t, err, EUNAUTHORIZED)
	_, _, err = s.CreateAPIKey(admin, "CI", RoleAdmin)
	wantCode(t, err, ECONFLICT)
	_, _, err = s.CreateAPIKey(admin, "viewer", RoleViewer)
	wantCode(t, err, EINVALID)
	_, _, err = s.CreateAPIKey(Actor{Kind: "apikey", Name: "ed", Role: RoleEditor}, "x", RoleAdmin)
	wantCode(t, err, EINVALID)

	// The stored record holds only a hash of the key.
	records := 0
	if err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketAPIKeys).ForEach(func(_, v []byte) error {
			records++
			if strings.Contains(string(v), raw) {
				t.Errorf("key stored in clear: %s", v)
			}
			return nil
		})
	}); err != nil || records == 0 {
		t.Fatalf("read %d key records, %v", records, err)
	}
	listed, _ := json.Marshal(key)
	if strings.Contains(string(listed), raw) {
		t.Errorf("key JSON shows the key: %s", listed)
	}

	created, err := s.EnsureAPIKey("init-1", "a-long-enough-init-token")
	if err != nil || !created {
		t.Fatalf("ensure: %v %v", created, err)
	}
	if created, err = s.EnsureAPIKey("init-1", "a-long-enough-init-token"); err != nil || created {
		t.Fatalf("ensure again: created %v, %v", created, err)
	}
	_, err = s.EnsureAPIKey("init-2", "short")
	wantCode(t, err, EINVALID)
	if k, err := s.AuthenticateAPIKey("a-long-enough-init-token"); err != nil || k.Role != RoleAdmin {
		t.Fatalf("init key: %+v %v", k, err)
	}
}

func TestValidateUserInput(t *testing.T) {
	p := PasswordPolicy{MinLength: 8, MinScore: 2}
	good := UserInput{Email: " Ada@Example.COM ", Name: " Ada Lovelace ", Username: "ada.l", Password: "correct horse battery staple"}
	got, err := p.ValidateUserInput(good)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "Ada@example.com" || got.Name != "Ada Lovelace" || got.Username != "ada.l" {
		t.Fatalf("normalised %+v", got)
	}
	cases := []struct {
		name, path, says string
		edit             func(*UserInput)
	}{
		{"no email", "email", "required", func(u *UserInput) { u.Email = "" }},
		{"email without domain", "email", "not a plain email", func(u *UserInput) { u.Email = "ada" }},
		{"email with bare host", "email", "no valid domain", func(u *UserInput) { u.Email = "ada@localhost" }},
		{"display name email", "email", "not a plain email", func(u *UserInput) { u.Email = "Ada <ada@example.com>" }},
		{"email too long", "email", "too long", func(u *UserInput) { u.Email = strings.Repeat("a", 250) + "@example.com" }},
		{"no name", "name", "required", func(u *UserInput) { u.Name = " " }},
		{"name with NUL", "name", "control", func(u *UserInput) { u.Name = "a\x00b" }},
		{"username with @", "username", "only letters", func(u *UserInput) { u.Username = "a@b" }},
		{"username too short", "username", "2 to 64", func(u *UserInput) { u.Username = "a" }},
		{"short password", "password", "too short", func(u *UserInput) { u.Password = "Xy7!" }},
		{"long password", "password", "too long", func(u *UserInput) { u.Password = strings.Repeat("Zq9!", 300) }},
		{"common password", "password", "too easy to guess", func(u *UserInput) { u.Password = "password123" }},
		{"password is the email", "password", "too easy to guess", func(u *UserInput) { u.Email = "zorbulator@example.com"; u.Password = "zorbulator1" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := good
			tc.edit(&in)
			_, err := p.ValidateUserInput(in)
			var e *Error
			if !errors.As(err, &e) || e.Code != EINVALID || len(e.Details) != 1 || e.Details[0].Path != tc.path || !strings.Contains(e.Details[0].Message, tc.says) {
				t.Fatalf("got %v, want one %s error saying %q", err, tc.path, tc.says)
			}
		})
	}
	if err := (PasswordPolicy{MinLength: 8}).Check("password", "password"); err != nil {
		t.Errorf("score 0 must turn the guessability check off: %v", err)
	}
}

func TestHasherBoundsConcurrency(t *testing.T) {
	h, err := NewHasher(HashParams{MemoryKiB: 64, Iterations: 1, Parallelism: 1}, 1, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := h.Hash(context.Background(), "secret words here")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := h.Verify(context.Background(), "secret words here", hash); !ok || err != nil {
		t.Fatalf("verify: %v %v", ok, err)
	}
	if ok, _ := h.Verify(context.Background(), "other", hash); ok {
		t.Fatal("wrong password verified")
	}
	if ok, _ := h.Verify(context.Background(), "x", ""); ok {
		t.Fatal("empty hash verified")
	}
	// With the only slot taken, a caller waits its bound and gets ErrBusy.
	h.slots <- struct{}{}
	_, err = h.Hash(context.Background(), "x")
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("hash with no free slot: %v, want ErrBusy", err)
	}
	<-h.slots
}

func TestFormatTime(t *testing.T) {
	cases := map[string]time.Time{
		"2023-04-12T11:13:31.960Z":       time.Date(2023, 4, 12, 11, 13, 31, 960e6, time.UTC),
		"2023-04-12T11:13:31.000Z":       time.Date(2023, 4, 12, 11, 13, 31, 0, time.UTC),
		"2023-04-12T11:13:31.123456789Z": time.Date(2023, 4, 12, 11, 13, 31, 123456789, time.UTC),
		"2023-04-12T09:13:31.000Z":       time.Date(2023, 4, 12, 11, 13, 31, 0, time.FixedZone("x", 2*3600)),
	}
	for want, in := range cases {
		if got := FormatTime(in); got != want {
			t.Errorf("FormatTime(%v) = %s, want %s", in, got, want)
		}
	}
}

func TestMigrationTakesBackupFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateOrganization(SystemActor, "", "Before Upgrade"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// A build with one more migration opens the file.
	migrations = append(migrations, func(_ *Store, tx *bolt.Tx, _ *MigrationReport) error {
		return tx.Bucket(bucketMeta).Put([]byte("migrated"), []byte("yes"))
	})
	defer func() { migrations = migrations[:len(migrations)-1] }()
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := s.Migration
	if m.From != SchemaVersion || m.To != SchemaVersion+1 || m.Backup == "" {
		t.Fatalf("migration report %+v", m)
	}
	if v, _ := s.SchemaVersionOnDisk(); v != SchemaVersion+1 {
		t.Fatalf("schema %d after migration, want %d", v, SchemaVersion+1)
	}
	// The backup is the old file: the old schema, the data, no migration mark.
	old, err := bolt.Open(m.Backup, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	_ = old.View(func(tx *bolt.Tx) error {
		if v := string(tx.Bucket(bucketMeta).Get(keySchemaVersion)); v != fmt.Sprint(SchemaVersion) {
			t.Errorf("backup schema %q, want %d", v, SchemaVersion)
		}
		if tx.Bucket(bucketMeta).Get([]byte("migrated")) != nil {
			t.Error("backup was taken after the migration")
		}
		if tx.Bucket(bucketOrgs).Get([]byte("before-upgrade")) == nil {
			t.Error("backup lacks the data")
		}
		return nil
	})
}
