package db

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
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
// and returns it in the one form under which it is compared, indexed and
// stored, so that two spellings of one mailbox are one account:
//
//   - the whole address in Unicode NFKC, so that compatibility look-alikes
//     (the Kelvin sign, the long s, fullwidth and mathematical letters,
//     ligatures) become the letters they stand for;
//   - the domain lower-cased and in its IDNA ASCII (punycode) form
//     ("bücher.example" becomes "xn--bcher-kva.example"), refused when it
//     is not a valid internationalised domain name;
//   - the local part (before the @) kept in its case, and refused when it
//     holds an invisible or format character (zero-width joiner, bidi
//     controls, variation selectors), a non-ASCII symbol or punctuation
//     mark, letters or digits of more than one script (Latin "paypal" with
//     a Cyrillic "а"), or only letters of another script that read as
//     Latin ones (Cyrillic "асе" for "ace").
//
// An ASCII local part is always fine. Han, Hiragana, Katakana, Hangul and
// Bopomofo count as one script where Japanese, Korean or Chinese mix them,
// and may go with Latin letters (Unicode's "highly restrictive" level of
// UTS #39). The same script rules apply to each label of the domain. The
// EINVALID error names field and says what to change.
func NormalizeEmail(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", FieldErrorf(field, "is required: give an email address such as ada@example.com")
	}
	if !utf8.ValidString(s) {
		return "", FieldErrorf(field, "is not valid UTF-8 text; type the address again")
	}
	// Before and after NFKC: it maps some characters (a no-break space) to
	// others that are just as invisible (a space).
	if r, ok := firstInvisible(s); ok {
		return "", FieldErrorf(field, "holds an invisible character, a control character or an unusual space (%U); type the address again without it", r)
	}
	s = norm.NFKC.String(s)
	if r, ok := firstInvisible(s); ok {
		return "", FieldErrorf(field, "holds an invisible character, a control character or an unusual space (%U); type the address again without it", r)
	}
	if len(s) > MaxEmailLength {
		return "", FieldErrorf(field, "is too long: at most %d characters", MaxEmailLength)
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return "", FieldErrorf(field, "%q is not a plain email address; give one such as ada@example.com", s)
	}
	at := strings.LastIndexByte(s, '@')
	local := s[:at]
	domain, err := normalizeDomain(s[at+1:])
	if err != nil {
		if err == errBadDomain {
			return "", FieldErrorf(field, "%q has no valid domain: it needs one such as example.com after the @", s)
		}
		return "", FieldErrorf(field, "%q has a look-alike domain: %s", s, err.Error())
	}
	if msg := localPartProblem(local); msg != "" {
		return "", FieldErrorf(field, "%q %s", s, msg)
	}
	// The ASCII form of a domain can be longer than its Unicode form.
	if len(local)+1+len(domain) > MaxEmailLength {
		return "", FieldErrorf(field, "is too long: at most %d characters", MaxEmailLength)
	}
	return local + "@" + domain, nil
}

// domainProfile converts domains to their ASCII form the way a resolver
// looks them up (UTS #46 mapping, non-transitional, so "ß" stays a letter of
// its own), and refuses labels that break the IDNA rules: disallowed code
// points, misplaced hyphens or joiners, bad right-to-left text, labels
// longer than DNS allows.
var domainProfile = idna.New(
	idna.MapForLookup(), idna.BidiRule(), idna.VerifyDNSLength(true), idna.Transitional(false),
)

// errBadDomain is normalizeDomain's answer for a string that is no domain
// name at all; a look-alike domain gets a lookalikeError.
var errBadDomain = errors.New("not a domain name")

// lookalikeError says why a valid domain name is a look-alike.
type lookalikeError struct{ why string }

func (e lookalikeError) Error() string { return e.why }

// normalizeDomain returns d lower-cased in its IDNA ASCII form. It fails
// with errBadDomain or a lookalikeError.
func normalizeDomain(d string) (string, error) {
	ascii, err := domainProfile.ToASCII(strings.ToLower(norm.NFKC.String(d)))
	ascii = strings.ToLower(ascii)
	if err != nil || !validDomain(ascii) {
		return "", errBadDomain
	}
	// Look at the Unicode form too, so that a label given as punycode
	// ("xn--…") is held to the same script rules as one typed in Unicode.
	uni, err := domainProfile.ToUnicode(ascii)
	if err != nil {
		return "", errBadDomain
	}
	labels := strings.Split(uni, ".")
	asciiTLD := isASCII(labels[len(labels)-1])
	for _, label := range labels {
		if isASCII(label) {
			continue
		}
		sets, ok := scriptsOf(label)
		if !ok || mixedScripts(sets) {
			return "", lookalikeError{fmt.Sprintf("%q mixes letters of different scripts; check the spelling", label)}
		}
		// A label of Cyrillic or Greek letters that all read as Latin under
		// a Latin-script top-level domain is a classic homograph ("аррӏе").
		if asciiTLD {
			if latin, ok := latinLookalike(label); ok {
				return "", lookalikeError{fmt.Sprintf("%q is written in letters that only look like the Latin %q; type it with plain Latin letters", label, latin)}
			}
		}
	}
	return ascii, nil
}

// validDomain accepts an ASCII DNS name of at least two labels made of
// letters, digits and hyphens.
func validDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(c == '-' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}

// NormalizeDomain checks a domain for allowedDomains and returns it as
// NormalizeEmail leaves the domain of an address (NFKC, lower case, IDNA
// ASCII form), without a leading "@", so that a link's domains and the
// addresses signing up through it are compared in one form and a
// look-alike domain never matches an allowed one.
func NormalizeDomain(field, s string) (string, error) {
	d := strings.TrimSpace(s)
	if !utf8.ValidString(d) {
		return "", FieldErrorf(field, "is not valid UTF-8 text; type the domain again")
	}
	if r, ok := firstInvisible(d); ok {
		return "", FieldErrorf(field, "holds an invisible character, a control character or an unusual space (%U); type the domain again without it", r)
	}
	d = strings.TrimPrefix(norm.NFKC.String(d), "@")
	nd, err := normalizeDomain(d)
	if err != nil {
		if err == errBadDomain {
			return "", FieldErrorf(field, "%q is not a domain name; give one such as example.com", s)
		}
		return "", FieldErrorf(field, "%q is a look-alike domain: %s", s, err.Error())
	}
	return nd, nil
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
