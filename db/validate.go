package db

import (
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on free-text fields, in characters (runes).
const (
	MaxNameLength     = 100
	MaxEmailLength    = 254
	MaxUsernameLength = 64
	MinUsernameLength = 2
	MaxDomains        = 50
)

// fieldErrors collects every problem of one request so that the answer can
// name them all at once.
type fieldErrors []FieldError

func (fe *fieldErrors) add(path, msg string) { *fe = append(*fe, FieldError{Path: path, Message: msg}) }

func (fe *fieldErrors) addErr(err error) {
	if e, ok := err.(*Error); ok && len(e.Details) > 0 {
		*fe = append(*fe, e.Details...)
		return
	}
	if err != nil {
		*fe = append(*fe, FieldError{Message: err.Error()})
	}
}

// err returns nil when nothing was added, or one EINVALID *Error listing
// every problem.
func (fe fieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	parts := make([]string, len(fe))
	for i, f := range fe {
		parts[i] = f.Path + ": " + f.Message
	}
	return &Error{Code: EINVALID, Message: strings.Join(parts, "; "), Details: fe}
}

// hasControl reports whether s holds a control or format character, which
// would let a value hide or fake text in logs, emails and the TUI.
func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return true
		}
	}
	return false
}

// CleanText trims s and checks that it is valid UTF-8 without control
// characters, not empty when required, and at most max characters. The
// error names field.
func CleanText(field, s string, required bool, max int) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case !utf8.ValidString(s):
		return "", FieldErrorf(field, "is not valid UTF-8 text")
	case required && s == "":
		return "", FieldErrorf(field, "is required and may not be empty")
	case hasControl(s):
		return "", FieldErrorf(field, "may not contain control characters such as line breaks or tabs")
	case utf8.RuneCountInString(s) > max:
		return "", FieldErrorf(field, "is too long: at most %d characters", max)
	}
	return s, nil
}

// NormalizeEmail checks that s is one plain email address (no display name)
// with a domain that has a dot, and returns it trimmed with the domain in
// lower case. The error names field.
func NormalizeEmail(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", FieldErrorf(field, "is required: give an email address such as ada@example.com")
	}
	if !utf8.ValidString(s) || hasControl(s) {
		return "", FieldErrorf(field, "may not contain control characters or invalid text")
	}
	if len(s) > MaxEmailLength {
		return "", FieldErrorf(field, "is too long: at most %d characters", MaxEmailLength)
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return "", FieldErrorf(field, "%q is not a plain email address; give one such as ada@example.com", s)
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], strings.ToLower(s[at+1:])
	if !validDomain(domain) {
		return "", FieldErrorf(field, "%q has no valid domain: it needs one such as example.com after the @", s)
	}
	return local + "@" + domain, nil
}

// validDomain accepts a DNS name of at least two labels made of letters,
// digits and hyphens (international names in their Unicode form too).
func validDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
				return false
			}
		}
	}
	return true
}

// NormalizeDomain checks a domain for allowedDomains and returns it in
// lower case, without a leading "@".
func NormalizeDomain(field, s string) (string, error) {
	d := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "@"))
	if !validDomain(d) {
		return "", FieldErrorf(field, "%q is not a domain name; give one such as example.com", s)
	}
	return d, nil
}

// NormalizeUsername checks an optional username: 2 to 64 letters, digits,
// dots, hyphens and underscores, starting with a letter or digit. It may
// not contain "@", so that a login name is never both a username and an
// email. An empty username is allowed and returned as "".
func NormalizeUsername(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	n := utf8.RuneCountInString(s)
	if n < MinUsernameLength || n > MaxUsernameLength {
		return "", FieldErrorf(field, "must be %d to %d characters long", MinUsernameLength, MaxUsernameLength)
	}
	for i, r := range s {
		ok := unicode.IsLetter(r) || unicode.IsDigit(r) || (i > 0 && (r == '.' || r == '-' || r == '_'))
		if !ok {
			return "", FieldErrorf(field, "may contain only letters, digits, '.', '-' and '_', and must start with a letter or digit")
		}
	}
	return s, nil
}

// CheckTime is the one rule for every time a person or a client gives, and
// every expiry computed from one: after conversion to UTC it must fall in
// the years 1 to 9999, the range RFC 3339 and the stored records can
// hold. The EINVALID error names field.
func CheckTime(field string, t time.Time) error {
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return FieldErrorf(field, "is outside the years 1 to 9999 once converted to UTC; give a time such as 2030-01-31T12:00:00Z")
	}
	return nil
}

// FormatTime renders t in UTC as RFC 3339 with milliseconds, as the seeds
// show ("2023-04-12T11:13:31.960Z"), and with more digits only when t has
// them, so no instant is ever rounded.
func FormatTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		return t.Format(time.RFC3339Nano)
	}
	return t.Format("2006-01-02T15:04:05.000Z07:00")
}

// UserInput is what a person types to create an account.
type UserInput struct {
	Email    string
	Name     string
	Username string
	Password string
}

// ValidateUserInput normalises in and checks every field, the password
// against the policy with the person's own details counted as guessable.
// The EINVALID error lists every bad field.
func (p PasswordPolicy) ValidateUserInput(in UserInput) (UserInput, error) {
	var errs fieldErrors
	email, err := NormalizeEmail("email", in.Email)
	errs.addErr(err)
	name, err := CleanText("name", in.Name, true, MaxNameLength)
	errs.addErr(err)
	username, err := NormalizeUsername("username", in.Username)
	errs.addErr(err)
	errs.addErr(p.Check("password", in.Password, in.Email, in.Name, in.Username))
	return UserInput{Email: email, Name: name, Username: username, Password: in.Password}, errs.err()
}
