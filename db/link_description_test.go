package db

import (
	"strings"
	"testing"
	"time"
)

// A link's description is public, optional, cleaned like its name, kept
// on disk and changed by an update. (The server's tests check that the
// API shows it.)
func TestSignupTokenDescription(t *testing.T) {
	s, clock := mustOpen(t)

	if plain := mustLink(t, s, clock, NewSignupToken{Name: "no intro"}); plain.Description != "" {
		t.Fatalf("description of a link without one: %q", plain.Description)
	}

	tok := mustLink(t, s, clock, NewSignupToken{Name: "interns", Description: "  Welcome, interns!  "})
	if tok.Description != "Welcome, interns!" {
		t.Errorf("description %q, want it trimmed", tok.Description)
	}
	got, err := s.FindSignupToken(SystemActor, tok.Secret)
	if err != nil || got.Description != "Welcome, interns!" {
		t.Fatalf("stored description %q, %v", got.Description, err)
	}

	for _, bad := range []struct{ name, value, msg string }{
		{"line break", "a\nb", "control"},
		{"too long", strings.Repeat("d", MaxNameLength+1), "too long"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			_, err := s.CreateSignupToken(admin, NewSignupToken{Name: "x", Description: bad.value, ExpiresAt: clock.now().Add(time.Hour)})
			wantLinkFieldError(t, err, "description", bad.msg)
			_, err = s.UpdateSignupToken(admin, tok.Secret, SignupTokenUpdate{Description: &bad.value})
			wantLinkFieldError(t, err, "description", bad.msg)
		})
	}

	// An update may change the description alone, or remove it.
	next := "Welcome to the autumn cohort."
	up, err := s.UpdateSignupToken(admin, tok.Secret, SignupTokenUpdate{Description: &next})
	if err != nil || up.Description != next || up.Name != "interns" {
		t.Fatalf("update: %+v, %v", up, err)
	}
	empty := ""
	if up, err = s.UpdateSignupToken(admin, tok.Secret, SignupTokenUpdate{Description: &empty}); err != nil || up.Description != "" {
		t.Fatalf("remove: %+v, %v", up, err)
	}
	if _, err := s.UpdateSignupToken(admin, tok.Secret, SignupTokenUpdate{}); !strings.Contains(ErrorMessage(err), "description") {
		t.Errorf("empty update: %v, want a message that lists description", err)
	}
}

// wantLinkFieldError checks that err is EINVALID naming path with msg in its words.
func wantLinkFieldError(tb testing.TB, err error, path, msg string) {
	tb.Helper()
	wantCode(tb, err, EINVALID)
	e := err.(*Error)
	for _, d := range e.Details {
		if d.Path == path && strings.Contains(d.Message, msg) {
			return
		}
	}
	tb.Errorf("error %v: no detail %s about %q", err, path, msg)
}
