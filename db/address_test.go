package db

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// wantFieldError checks that err is an EINVALID naming field, with a
// message holding each of parts.
func wantFieldError(tb testing.TB, err error, field string, parts ...string) {
	tb.Helper()
	e, ok := err.(*Error)
	if !ok || e.Code != EINVALID || len(e.Details) != 1 || e.Details[0].Path != field {
		tb.Fatalf("error %#v, want one EINVALID detail about %s", err, field)
	}
	for _, p := range parts {
		if !strings.Contains(e.Message, p) {
			tb.Errorf("message %q lacks %q", e.Message, p)
		}
	}
}

func TestNormalizeEmailSpellings(t *testing.T) {
	ok := []struct{ name, in, want string }{
		{"kelvin sign", "\u212aim@example.com", "Kim@example.com"},
		{"long s in the domain", "x@\u017fample.com", "x@sample.com"},
		{"fullwidth letters and at sign", "ｋｉｍ＠ｅｘａｍｐｌｅ.ｃｏｍ", "kim@example.com"},
		{"upper-case domain, local case kept", "Ada@EXAMPLE.COM", "Ada@example.com"},
		{"IDN domain", "ada@bücher.example", "ada@xn--bcher-kva.example"},
		{"IDN domain upper case", "ada@BÜCHER.Example", "ada@xn--bcher-kva.example"},
		{"IDN domain as punycode", "ada@XN--BCHER-KVA.example", "ada@xn--bcher-kva.example"},
		{"mathematical bold letters", "\U0001d424\U0001d422\U0001d426@example.com", "kim@example.com"},
		{"Latin with accents", "josé.núñez@example.com", "josé.núñez@example.com"},
		{"decomposed accent composed", "jose\u0301@example.com", "jos\u00e9@example.com"},
		{"Japanese scripts together", "山田たろう@example.jp", "山田たろう@example.jp"},
		{"Cyrillic address and domain", "иван@пример.рф", "иван@xn--e1afmkfd.xn--p1ai"},
		{"spaces around", "  ada@example.com\t", "ada@example.com"},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			got, err := NormalizeEmail("email", c.in)
			if err != nil || got != c.want {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
			// The form is stable: normalising it again changes nothing.
			if again, err := NormalizeEmail("email", got); err != nil || again != got {
				t.Fatalf("normalising %q again gave %q, %v", got, again, err)
			}
		})
	}
	refused := []struct{ name, in, want string }{
		{"Cyrillic a among Latin letters", "p\u0430ypal@example.com", "mixes letters or digits of different scripts"},
		{"Greek omicron among Latin letters", "g\u03bfogle@example.com", "different scripts"},
		{"zero-width joiner", "ki\u200dm@example.com", "U+200D"},
		{"zero-width space", "kim\u200b@example.com", "U+200B"},
		{"right-to-left override", "kim\u202e@example.com", "U+202E"},
		{"no-break space", "ki\u00a0m@example.com", "U+00A0"},
		{"Hangul filler", "kim\u3164@example.com", "U+3164"},
		{"variation selector", "kim\ufe0f@example.com", "U+FE0F"},
		{"all Cyrillic that reads as Latin", "\u0430\u0441\u0435@example.com", `look like the Latin "ace"`},
		{"modifier apostrophe", "o\u02bcbrien@example.com", "U+02BC"},
		{"Unicode hyphen", "mary\u2010ann@example.com", "U+2010"},
		{"mixed-script domain", "ada@p\u0430ypal.com", "look-alike domain"},
		{"mixed-script domain as punycode", "ada@xn--pypal-4ve.com", "look-alike domain"},
		{"all-Cyrillic domain that reads as Latin", "ada@\u0430\u0440\u0440\u04cf\u0435.com", `look like the Latin "apple"`},
		{"underscore in the domain", "ada@exa_mple.com", "no valid domain"},
		{"bare host", "ada@localhost", "no valid domain"},
		{"label too long", "ada@" + strings.Repeat("a", 64) + ".com", "no valid domain"},
		{"display name", "Ada <ada@example.com>", "not a plain email"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			got, err := NormalizeEmail("email", c.in)
			if err == nil {
				t.Fatalf("NormalizeEmail(%q) = %q, want an error", c.in, got)
			}
			wantFieldError(t, err, "email", c.want)
		})
	}
}

func TestNormalizeDomainAsEmails(t *testing.T) {
	for in, want := range map[string]string{
		"\u017fample.com":                    "sample.com",
		"@Bücher.Example":                    "xn--bcher-kva.example",
		"ＥＸＡＭＰＬＥ.com":                        "example.com",
		" Example.COM ":                      "example.com",
		"xn--bcher-kva.example":              "xn--bcher-kva.example",
		"\u212aelvin.example":                "kelvin.example",
		"пример.рф":                          "xn--e1afmkfd.xn--p1ai",
		"sub.\u017fample.com":                "sub.sample.com",
		"ex\u0430mple.com.evil.test":         "", // mixed scripts: refused
		"\u0430\u0440\u0440\u04cf\u0435.com": "",
		"exa mple.com":                       "",
		"ex\u200bample.com":                  "",
	} {
		got, err := NormalizeDomain("allowedDomains[0]", in)
		if want == "" {
			if err == nil {
				t.Errorf("NormalizeDomain(%q) = %q, want an error", in, got)
			} else {
				wantFieldError(t, err, "allowedDomains[0]")
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestOneAccountPerMailbox(t *testing.T) {
	s, clock := mustOpen(t)
	tok := mustLink(t, s, clock, NewSignupToken{})
	// The Kelvin sign comes first: it must not squat kim@ under a
	// spelling of its own, but be stored as the plain address.
	first, err := s.RedeemSignupToken(tok.Secret, newUser("\u212aim@example.com", ""))
	if err != nil {
		t.Fatal(err)
	}
	if first.Email != "Kim@example.com" {
		t.Fatalf("stored email %q, want Kim@example.com", first.Email)
	}
	for _, spelling := range []string{"kim@example.com", "ｋｉｍ@example.com", "KIM@EXAMPLE.COM", "\U0001d424im@ｅxample.com", "k\u0131m@example.com"} {
		t.Run(spelling, func(t *testing.T) {
			_, err := s.RedeemSignupToken(tok.Secret, newUser(spelling, ""))
			wantCode(t, err, ECONFLICT)
			u, err := s.FindUserByLogin(spelling)
			if err != nil || u.ID != first.ID {
				t.Fatalf("login %q: %+v, %v; want user %d", spelling, u, err, first.ID)
			}
			if _, _, err := s.LoginCandidate(spelling); err != nil {
				t.Fatalf("login candidate %q: %v", spelling, err)
			}
			_, err = s.CreateInvitation(admin, NewInvitation{Email: spelling, DefaultTTL: time.Hour})
			wantCode(t, err, ECONFLICT)
		})
	}
	if n, _ := s.CountUsers(); n != 1 {
		t.Fatalf("%d users, want 1", n)
	}
	// Changing another user's email to a spelling of kim@ is refused too.
	other, err := s.RedeemSignupToken(tok.Secret, newUser("other@example.com", ""))
	if err != nil {
		t.Fatal(err)
	}
	email := "ｋｉｍ@example.com"
	_, err = s.UpdateUser(admin, other.ID, UserUpdate{Email: &email})
	wantCode(t, err, ECONFLICT)
	// An invitation is one per mailbox as well.
	inv, err := s.CreateInvitation(admin, NewInvitation{Email: "GRACE@Ｅxample.org", DefaultTTL: time.Hour})
	if err != nil || inv.Email != "GRACE@example.org" {
		t.Fatalf("invitation %+v, %v", inv, err)
	}
	_, err = s.CreateInvitation(admin, NewInvitation{Email: "grace@example.org", DefaultTTL: time.Hour})
	wantCode(t, err, ECONFLICT)
}

func TestAllowedDomainsNormalised(t *testing.T) {
	s, clock := mustOpen(t)
	// Decision: NFKC makes x@ſample.com the mailbox x@sample.com, so it may
	// sign up through a sample.com link, stored in the plain form, and it
	// is the same account as x@sample.com.
	tok := mustLink(t, s, clock, NewSignupToken{AllowedDomains: []string{"sample.com"}})
	u, err := s.RedeemSignupToken(tok.Secret, newUser("x@\u017fample.com", ""))
	if err != nil || u.Email != "x@sample.com" {
		t.Fatalf("long-s signup: %+v, %v; want x@sample.com", u, err)
	}
	_, err = s.RedeemSignupToken(tok.Secret, newUser("x@sample.com", ""))
	wantCode(t, err, ECONFLICT)
	// A look-alike of the domain is not the domain.
	for _, email := range []string{"y@\u0455ample.com", "y@xn--ample-9uf.com", "y@sample.com.evil.test"} {
		err := s.CheckSignupToken(tok.Secret, email)
		wantCode(t, err, EINVALID)
	}

	// Allowed domains are stored normalised, and addresses in any
	// spelling of them match.
	idn := mustLink(t, s, clock, NewSignupToken{AllowedDomains: []string{"Bücher.Example", "\u017fample.com", "sample.com"}})
	if got := strings.Join(idn.AllowedDomains, ","); got != "xn--bcher-kva.example,sample.com" {
		t.Fatalf("allowedDomains %q", got)
	}
	u, err = s.RedeemSignupToken(idn.Secret, newUser("ada@BÜCHER.example", ""))
	if err != nil || u.Email != "ada@xn--bcher-kva.example" {
		t.Fatalf("IDN signup: %+v, %v", u, err)
	}
	_, err = s.CreateSignupToken(admin, NewSignupToken{Name: "x", ExpiresAt: clock.now().Add(time.Hour),
		AllowedDomains: []string{"ok.example", "\u0430\u0440\u0440\u04cf\u0435.com"}})
	wantFieldError(t, err, "allowedDomains[1]", "look-alike")
}

// TestMigrationNormalisesAddresses opens a file written by schema 1, whose
// addresses were stored as given with only the domain lower-cased.
func TestMigrationNormalisesAddresses(t *testing.T) {
	if schemaVersion() != SchemaVersion {
		t.Fatalf("SchemaVersion %d, but the migrations reach %d", SchemaVersion, schemaVersion())
	}
	path := filepath.Join(t.TempDir(), "v1.db")
	created := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	secret := strings.Repeat("ab", 16)
	old, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = old.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketMeta).Put(keySchemaVersion, []byte("1")); err != nil {
			return err
		}
		// Schema 1 indexed strings.ToLower(email).
		for id, email := range map[uint64]string{
			1: "kim@example.com",
			2: "ｋｉｍ@example.com", // the same mailbox as user 1
			3: "ada@bücher.example",
			4: "x@\u017fample.com",
			5: "p\u0430ypal@example.com", // now refused
		} {
			rec := userRecord{V: 1, ID: id, Name: "User", Email: email, PasswordHash: "$argon2id$fake", RootRole: RoleViewer, CreatedAt: created}
			if err := putJSON(tx.Bucket(bucketUsers), itob(id), rec); err != nil {
				return err
			}
			if err := tx.Bucket(bucketUsersByEmail).Put([]byte(strings.ToLower(email)), itob(id)); err != nil {
				return err
			}
			if _, err := tx.Bucket(bucketUsers).NextSequence(); err != nil {
				return err
			}
		}
		for id, email := range map[uint64]string{
			1: "grace@ｅxample.org",        // pending: normalised
			2: "\u212aim@example.com",     // pending, for user 1's mailbox
			3: "ｌｉｎ@example.com",          // accepted long ago: normalised
			4: "m\u0430llory@example.com", // pending, now refused
		} {
			state := InvitationPending
			if id == 3 {
				state = InvitationAccepted
			}
			rec := invitationRecord{V: 1, ID: id, Email: email, ExpiresAt: created.Add(24 * time.Hour), CreatedAt: created, UpdatedAt: created,
				TTL: 24 * time.Hour, Role: RoleViewer, OrgID: DefaultOrganization, State: state}
			if err := putJSON(tx.Bucket(bucketInvitations), itob(id), rec); err != nil {
				return err
			}
			if state == InvitationPending {
				if err := tx.Bucket(bucketInvitesByEmail).Put([]byte(strings.ToLower(email)), itob(id)); err != nil {
					return err
				}
			}
		}
		link := linkRecord{V: 1, ID: 1, Secret: secret, Name: "team", Enabled: true, ExpiresAt: created.Add(24 * time.Hour),
			CreatedAt: created, Role: RoleViewer, AllowedDomains: []string{"bücher.example", "\u017fample.com", "sample.com", "ex\u0430mple.com"}}
		if err := putJSON(tx.Bucket(bucketLinks), itob(1), link); err != nil {
			return err
		}
		return tx.Bucket(bucketLinksBySecret).Put([]byte(secret), itob(1))
	})
	if err != nil {
		t.Fatal(err)
	}
	old.Close()

	clock := &testClock{t: created.Add(time.Hour)}
	s, err := Open(path, Options{Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := s.Migration
	if m.From != 1 || m.To != 2 || m.Backup == "" {
		t.Fatalf("migration report %+v", m)
	}
	if v, _ := s.SchemaVersionOnDisk(); v != 2 {
		t.Fatalf("schema %d after migration", v)
	}
	warnings := strings.Join(m.Warnings, "\n")
	t.Logf("warnings:\n%s", warnings)
	for _, want := range []string{
		`user 1 ("kim@example.com") and user 2 ("ｋｉｍ@example.com") are one mailbox`,
		"user 5 has the email \"p\u0430ypal@example.com\"",
		"userInvitations/2 (\"\u212aim@example.com\") is for the mailbox of user 1",
		"userInvitations/4 is for \"m\u0430llory@example.com\"",
		"signup link 1 (\"team\") allows the domain \"ex\u0430mple.com\"",
	} {
		if !strings.Contains(warnings, want) {
			t.Errorf("warnings lack %q", want)
		}
	}
	if len(m.Warnings) != 5 {
		t.Errorf("%d warnings, want 5", len(m.Warnings))
	}

	// Nothing merged, nothing dropped; the colliding and refused records
	// are exactly as they were.
	if n, _ := s.CountUsers(); n != 5 {
		t.Fatalf("%d users after the migration, want 5", n)
	}
	for id, want := range map[uint64]string{1: "kim@example.com", 2: "ｋｉｍ@example.com", 3: "ada@xn--bcher-kva.example", 4: "x@sample.com", 5: "p\u0430ypal@example.com"} {
		if u, err := s.FindUserByID(id); err != nil || u.Email != want {
			t.Errorf("user %d: email %q, %v; want %q", id, u.Email, err, want)
		}
	}
	// The indexes use the new keys: every spelling reaches one account.
	for login, want := range map[string]uint64{
		"KIM@example.com": 1, "ｋｉｍ@example.com": 1, "ada@Bücher.example": 3, "ada@xn--bcher-kva.example": 3,
		"x@sample.com": 4, "p\u0430ypal@example.com": 5,
	} {
		if u, err := s.FindUserByLogin(login); err != nil || u.ID != want {
			t.Errorf("login %q: user %d, %v; want %d", login, u.ID, err, want)
		}
	}
	for id, want := range map[uint64]string{1: "grace@example.org", 2: "\u212aim@example.com", 3: "lin@example.com", 4: "m\u0430llory@example.com"} {
		if inv, err := s.GetInvitation(SystemActor, id); err != nil || inv.Email != want {
			t.Errorf("invitation %d: email %q, %v; want %q", id, inv.Email, err, want)
		}
	}
	_, err = s.CreateInvitation(admin, NewInvitation{Email: "Grace@example.org", DefaultTTL: time.Hour})
	wantCode(t, err, ECONFLICT)
	link, err := s.FindSignupToken(SystemActor, secret)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(link.AllowedDomains, ","); got != "xn--bcher-kva.example,sample.com,ex\u0430mple.com" {
		t.Errorf("allowedDomains %q", got)
	}
	events, total, err := s.ListEvents(EventSchemaMigrated, 0, 10)
	if err != nil || total != 1 {
		t.Fatalf("schema-migrated events %+v, %v", events, err)
	}
	if w, _ := events[0].Data["warnings"].([]any); len(w) != 5 {
		t.Errorf("schema-migrated event data %+v, want the 5 warnings", events[0].Data)
	}

	// Deleting the account that lost the index entry leaves the other's.
	if err := s.DeleteUser(admin, 2); err != nil {
		t.Fatal(err)
	}
	if u, err := s.FindUserByLogin("kim@example.com"); err != nil || u.ID != 1 {
		t.Fatalf("after deleting user 2, login kim@: user %d, %v", u.ID, err)
	}
}
