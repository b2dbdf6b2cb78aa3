package db

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// App kinds (DESIGN §9).
const (
	// AppKindProxy is an app behind a reverse proxy that asks the
	// forward-auth gate about every request to one of its Domains.
	AppKindProxy = "proxy"
	// AppKindOIDC is an app that signs people in through invited's OpenID
	// Connect provider (DESIGN §10); its client settings are in App.OIDC.
	AppKindOIDC = "oidc"
)

// Limits of an app's fields.
const (
	MaxAppDomains      = 50
	MaxAppURLLength    = 2048
	MaxAppRedirectURIs = 20
)

// App is a site or program the team's users enter through invited
// (DESIGN §9).
type App struct {
	// ID is a slug, like a group's.
	ID   string
	Name string
	// URL is where people open the app: an absolute http or https address.
	URL string
	// Kind is AppKindProxy or AppKindOIDC; it never changes.
	Kind string
	// Groups are the ids of the groups whose members may enter, sorted;
	// empty admits every active user.
	Groups []string
	// Domains are the host names a proxy app covers, sorted, in lower-case
	// IDNA ASCII form: "grafana.example.com", or "*.tools.example.com" for
	// any host exactly one label below tools.example.com (not
	// tools.example.com itself, nor a.b.tools.example.com). Empty for an
	// oidc app.
	Domains []string
	// OIDC holds the settings of an oidc app; nil for a proxy app.
	OIDC *AppOIDC
	// CreatedAt is when the app was created.
	CreatedAt time.Time
}

// AppOIDC is an oidc app's client settings (DESIGN §10). The client
// secret's hash stays inside the store: CheckAppSecret is the only way to
// test a secret.
type AppOIDC struct {
	// ClientID is the OAuth client_id: 32 random hex digits made at
	// creation, never reused, so that a token or code issued to a deleted
	// app can never be honoured for a new app that took the same slug.
	ClientID string
	// RedirectURIs are the addresses the provider may send a code to, as
	// the admin gave them (trimmed); the provider matches them exactly.
	RedirectURIs []string
	// Public is true for a client that cannot keep a secret (a browser or
	// native app): it has no secret and must use PKCE.
	Public bool
	// SecretCreatedAt is when the current secret was made; zero for a
	// public app.
	SecretCreatedAt time.Time
}

// Admits reports whether u may enter the app: an active user who shares a
// group with it, or any active user when the app names no group.
func (a App) Admits(u User) bool {
	if !u.Active() {
		return false
	}
	if len(a.Groups) == 0 {
		return true
	}
	for _, g := range u.Groups {
		if slices.Contains(a.Groups, g) {
			return true
		}
	}
	return false
}

type appRecord struct {
	V         int       `json:"v"`
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	Kind      string    `json:"kind"`
	Groups    []string  `json:"groups,omitempty"`
	Domains   []string  `json:"domains,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	// The oidc fields; empty for a proxy app.
	ClientID        string    `json:"client_id,omitempty"`
	RedirectURIs    []string  `json:"redirect_uris,omitempty"`
	Public          bool      `json:"public,omitempty"`
	SecretHash      string    `json:"secret_hash,omitempty"` // hex(sha256(secret))
	SecretCreatedAt time.Time `json:"secret_created_at,omitzero"`
}

func (r appRecord) app() App {
	a := App{ID: r.ID, Name: r.Name, URL: r.URL, Kind: r.Kind, Groups: r.Groups, Domains: r.Domains, CreatedAt: r.CreatedAt}
	if r.Kind == AppKindOIDC {
		a.OIDC = &AppOIDC{ClientID: r.ClientID, RedirectURIs: r.RedirectURIs, Public: r.Public, SecretCreatedAt: r.SecretCreatedAt}
	}
	return a
}

// NewApp is what it takes to create an app. ID may be empty: it is then
// made from the name, as a group's is. Kind may be empty for AppKindProxy.
// Domains are for a proxy app only; RedirectURIs and Public for an oidc
// app only.
type NewApp struct {
	ID           string
	Name         string
	URL          string
	Kind         string
	Groups       []string
	Domains      []string
	RedirectURIs []string
	Public       bool
}

// AppUpdate changes an app; nil fields stay as they are. The id and the
// kind never change, and neither does whether an oidc app is public: a
// public client turned confidential, or the reverse, is a different kind
// of client to its relying party, so that takes a new app.
type AppUpdate struct {
	Name         *string
	URL          *string
	Groups       *[]string
	Domains      *[]string
	RedirectURIs *[]string
}

func errNoApp(id string) error {
	return Errorf(ENOTFOUND, "There is no app with the id %q.", id)
}

func getAppTx(tx *bolt.Tx, id string) (appRecord, error) {
	var rec appRecord
	if b := tx.Bucket(bucketApps); b != nil {
		if ok, err := getJSON(b, []byte(id), &rec); err != nil || ok {
			return rec, err
		}
	}
	return rec, errNoApp(id)
}

// ListApps returns every app in id order.
func (s *Store) ListApps() ([]App, error) {
	apps := []App{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketApps)
		if b == nil { // a file of an older build opened read-only
			return nil
		}
		return b.ForEach(func(_, v []byte) error {
			var rec appRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			apps = append(apps, rec.app())
			return nil
		})
	})
	return apps, err
}

// GetApp returns one app, or ENOTFOUND.
func (s *Store) GetApp(id string) (App, error) {
	var a App
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := getAppTx(tx, id)
		a = rec.app()
		return err
	})
	return a, err
}

// AppForHost returns the proxy app that covers host, as a reverse proxy
// passes it (any case, maybe with a port, maybe in Unicode): the app that
// lists the host itself, else the one with the wildcard one label above it.
// The exact name wins, so "*.tools.example.com" and
// "grafana.tools.example.com" may belong to different apps. ok is false
// when no app covers the host.
func (s *Store) AppForHost(host string) (App, bool, error) {
	// Read the generation before the transaction; see AuthenticateSession.
	// The cache is keyed by the host as given, so a hit skips the IDNA
	// work of lookupHost too.
	gen := s.gen.Load()
	if c, ok := s.apps.get(gen, host); ok {
		return cloneApp(c.app), true, nil
	}
	h, ok := lookupHost(host)
	if !ok {
		return App{}, false, nil
	}
	var (
		a     App
		found bool
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		idx := tx.Bucket(bucketAppsByDomain)
		if idx == nil {
			return nil
		}
		id := idx.Get([]byte(h))
		if id == nil {
			if _, parent, cut := strings.Cut(h, "."); cut && strings.Contains(parent, ".") {
				id = idx.Get([]byte("*." + parent))
			}
		}
		if id == nil {
			return nil
		}
		rec, err := getAppTx(tx, string(id))
		if err != nil {
			return err
		}
		a, found = rec.app(), true
		return nil
	})
	// A host longer than a DNS name with a port is not cached, so the
	// cache's keys stay small whatever a caller passes.
	if err == nil && found && len(host) <= maxCachedHost {
		s.apps.put(gen, s.gen.Load(), host, appForHost{app: cloneApp(a)})
	}
	return a, found, err
}

// maxCachedHost is the longest host AppForHost caches: a 253-byte DNS
// name, a colon and a port.
const maxCachedHost = 253 + 6

// appForHost is what AppForHost found for a host that an app covers;
// hosts that no app covers are not cached.
type appForHost struct{ app App }

// lookupHost brings a Host header to the form domains are stored in:
// without a port or a trailing dot, lower case, IDNA ASCII.
func lookupHost(host string) (string, bool) {
	host = strings.TrimSpace(host)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" || strings.ContainsAny(host, "*/:[]") {
		return "", false
	}
	ascii, err := domainProfile.ToASCII(strings.ToLower(host))
	if err != nil {
		return "", false
	}
	return strings.ToLower(ascii), true
}

// CreateApp adds an app. For a confidential oidc app it also returns the
// client secret, which is not stored and cannot be shown again
// (RotateAppSecret makes a new one); otherwise the secret is "". It
// returns EINVALID naming each bad field (unknown groups as groups[i],
// a field of the other kind by its name), and ECONFLICT when the id is
// taken or a domain belongs to another app.
func (s *Store) CreateApp(actor Actor, in NewApp) (App, string, error) {
	var errs fieldErrors
	name, err := CleanText("name", in.Name, true, MaxNameLength)
	errs.addErr(err)
	id := strings.TrimSpace(in.ID)
	if id == "" && err == nil {
		id = slug(name)
	}
	if !orgIDPattern.MatchString(id) {
		errs.add("id", "must be 1 to 63 lower-case letters, digits and hyphens, starting with a letter or digit")
	}
	kind := strings.TrimSpace(in.Kind)
	switch kind {
	case "", AppKindProxy:
		kind = AppKindProxy
	case AppKindOIDC:
	default:
		errs.add("kind", fmt.Sprintf("%q is not a kind of app; use proxy or oidc", in.Kind))
	}
	appURL := cleanAppURL(&errs, in.URL)
	groups := cleanGroups(&errs, "groups", in.Groups)
	var domains, redirects []string
	switch kind {
	case AppKindProxy:
		domains = cleanAppDomains(&errs, in.Domains, s.ownHost)
		if in.RedirectURIs != nil {
			errs.add("redirectUris", "are for oidc apps only; a proxy app is reached at its domains")
		}
		if in.Public {
			errs.add("public", "is for oidc apps only")
		}
	case AppKindOIDC:
		redirects = cleanRedirectURIs(&errs, in.RedirectURIs)
		if in.Domains != nil {
			errs.add("domains", "are for proxy apps only; an oidc app signs people in through its redirectUris")
		}
	}
	if err := errs.err(); err != nil {
		return App{}, "", err
	}
	rec := appRecord{V: 1, ID: id, Name: name, URL: appURL, Kind: kind,
		Groups: nonEmpty(groups), Domains: nonEmpty(domains), CreatedAt: s.clock()}
	var secret string
	if kind == AppKindOIDC {
		clientID, err := s.newSecret(16)
		if err != nil {
			return App{}, "", err
		}
		rec.ClientID, rec.RedirectURIs, rec.Public = clientID, redirects, in.Public
		if !in.Public {
			if secret, err = s.newAppSecret(); err != nil {
				return App{}, "", err
			}
			rec.SecretHash, rec.SecretCreatedAt = hashAppSecret(secret), rec.CreatedAt
		}
	}
	err = s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketApps)
		if b.Get([]byte(id)) != nil {
			return &Error{Code: ECONFLICT, Message: "An app with the id " + id + " already exists; choose another id.",
				Details: []FieldError{{Path: "id", Message: "is taken"}}}
		}
		if err := checkGroupsTx(tx, actor, "groups", in.Groups); err != nil {
			return err
		}
		if err := claimDomainsTx(tx, id, nil, domains); err != nil {
			return err
		}
		data := map[string]any{"name": name, "url": appURL, "kind": kind, "groups": rec.Groups}
		if kind == AppKindOIDC {
			idx := tx.Bucket(bucketAppsByClientID)
			if idx.Get([]byte(rec.ClientID)) != nil { // 128 random bits: only a broken Rand gets here
				return fmt.Errorf("client id %s is taken: the random source repeats itself", rec.ClientID)
			}
			if err := idx.Put([]byte(rec.ClientID), []byte(id)); err != nil {
				return err
			}
			data["clientId"], data["redirectUris"], data["public"] = rec.ClientID, rec.RedirectURIs, rec.Public
		} else {
			data["domains"] = rec.Domains
		}
		if err := putJSON(b, []byte(id), rec); err != nil {
			return err
		}
		return s.addEventTxKey(tx, actor, EventAppCreated, "app", id, data)
	})
	if err != nil {
		return App{}, "", err
	}
	return rec.app(), secret, nil
}

// newAppSecret makes an oidc client secret: 32 random bytes, URL-safe
// base64 without padding, so it fits in a form field or a Basic header
// as is.
func (s *Store) newAppSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hashAppSecret is what the store keeps of a client secret. One SHA-256
// is enough: the secret is 256 random bits, not a password a person chose,
// so there is no dictionary to try and a slow hash would only slow every
// token request.
func hashAppSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// AppByClientID returns the oidc app whose client id is clientID. ok is
// false when there is none.
func (s *Store) AppByClientID(clientID string) (App, bool, error) {
	var (
		a  App
		ok bool
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, found, err := appByClientIDTx(tx, clientID)
		a, ok = rec.app(), found
		return err
	})
	if !ok {
		a = App{}
	}
	return a, ok, err
}

func appByClientIDTx(tx *bolt.Tx, clientID string) (appRecord, bool, error) {
	idx := tx.Bucket(bucketAppsByClientID)
	if idx == nil || clientID == "" { // a file of an older build opened read-only
		return appRecord{}, false, nil
	}
	id := idx.Get([]byte(clientID))
	if id == nil {
		return appRecord{}, false, nil
	}
	rec, err := getAppTx(tx, string(id))
	if err != nil {
		return appRecord{}, false, err
	}
	return rec, true, nil
}

// CheckAppSecret reports whether secret is the current client secret of
// the confidential oidc app with the client id clientID, and returns that
// app when it is. ok is false for an unknown client id, a public app and
// a wrong secret alike; the compare takes the same time whatever the
// secret.
func (s *Store) CheckAppSecret(clientID, secret string) (App, bool, error) {
	given := hashAppSecret(secret)
	var (
		a  App
		ok bool
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, found, err := appByClientIDTx(tx, clientID)
		if err != nil {
			return err
		}
		// A dummy compare when there is nothing to compare against, so
		// that a wrong client id costs what a wrong secret does.
		want := rec.SecretHash
		if !found || rec.Public || want == "" {
			want, found = hashAppSecret(""), false
		}
		match := subtle.ConstantTimeCompare([]byte(given), []byte(want)) == 1
		if found && match && secret != "" {
			a, ok = rec.app(), true
		}
		return nil
	})
	return a, ok, err
}

// RotateAppSecret gives a confidential oidc app a new client secret and
// returns it; the old one stops working at once. It is not stored, and
// cannot be shown again. It returns ENOTFOUND for an unknown id and
// EINVALID for a proxy app or a public oidc app, which have no secret.
func (s *Store) RotateAppSecret(actor Actor, id string) (App, string, error) {
	secret, err := s.newAppSecret()
	if err != nil {
		return App{}, "", err
	}
	var a App
	err = s.update(func(tx *bolt.Tx) error {
		rec, err := getAppTx(tx, id)
		if err != nil {
			return err
		}
		if rec.Kind != AppKindOIDC {
			return &Error{Code: EINVALID, Message: "The app " + id + " is a " + rec.Kind + " app: only oidc apps have a client secret.",
				Details: []FieldError{{Path: "kind", Message: "has no client secret"}}}
		}
		if rec.Public {
			return &Error{Code: EINVALID, Message: "The app " + id + " is a public client: it signs in with PKCE and has no client secret to rotate. To give it one, create a confidential app instead.",
				Details: []FieldError{{Path: "public", Message: "a public client has no secret"}}}
		}
		rec.SecretHash, rec.SecretCreatedAt = hashAppSecret(secret), s.clock()
		if err := putJSON(tx.Bucket(bucketApps), []byte(id), rec); err != nil {
			return err
		}
		a = rec.app()
		return s.addEventTxKey(tx, actor, EventAppSecretRotated, "app", id, map[string]any{"name": rec.Name, "clientId": rec.ClientID})
	})
	if err != nil {
		return App{}, "", err
	}
	return a, secret, nil
}

// UpdateApp changes an app's name, url, groups, domains (a proxy app) or
// redirect URIs (an oidc app). It returns ENOTFOUND, EINVALID when nothing
// is given, a value breaks the rules of CreateApp or a field belongs to
// the other kind, and ECONFLICT when a domain belongs to another app.
func (s *Store) UpdateApp(actor Actor, id string, in AppUpdate) (App, error) {
	if in.Name == nil && in.URL == nil && in.Groups == nil && in.Domains == nil && in.RedirectURIs == nil {
		return App{}, &Error{Code: EINVALID, Message: "Nothing to change: give name, url, groups, domains (proxy app) or redirectUris (oidc app).",
			Details: []FieldError{{Path: "", Message: "give name, url, groups, domains or redirectUris"}}}
	}
	var errs fieldErrors
	var name, appURL string
	var groups, domains, redirects []string
	if in.Name != nil {
		n, err := CleanText("name", *in.Name, true, MaxNameLength)
		errs.addErr(err)
		name = n
	}
	if in.URL != nil {
		appURL = cleanAppURL(&errs, *in.URL)
	}
	if in.Groups != nil {
		groups = cleanGroups(&errs, "groups", *in.Groups)
	}
	if in.Domains != nil {
		domains = cleanAppDomains(&errs, *in.Domains, s.ownHost)
	}
	if in.RedirectURIs != nil {
		redirects = cleanRedirectURIs(&errs, *in.RedirectURIs)
	}
	if err := errs.err(); err != nil {
		return App{}, err
	}
	var a App
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := getAppTx(tx, id)
		if err != nil {
			return err
		}
		if in.Domains != nil && rec.Kind != AppKindProxy {
			return &Error{Code: EINVALID, Message: "The app " + id + " is an oidc app: domains are for proxy apps only; change its redirectUris instead.",
				Details: []FieldError{{Path: "domains", Message: "are for proxy apps only"}}}
		}
		if in.RedirectURIs != nil && rec.Kind != AppKindOIDC {
			return &Error{Code: EINVALID, Message: "The app " + id + " is a proxy app: redirectUris are for oidc apps only; change its domains instead.",
				Details: []FieldError{{Path: "redirectUris", Message: "are for oidc apps only"}}}
		}
		data := map[string]any{}
		if in.Name != nil && name != rec.Name {
			data["oldName"], data["name"] = rec.Name, name
			rec.Name = name
		}
		if in.URL != nil && appURL != rec.URL {
			data["url"] = appURL
			rec.URL = appURL
		}
		if in.Groups != nil && !slices.Equal(groups, rec.Groups) {
			if err := checkGroupsTx(tx, actor, "groups", *in.Groups); err != nil {
				return err
			}
			rec.Groups = nonEmpty(groups)
			data["groups"] = rec.Groups
		}
		if in.Domains != nil && !slices.Equal(domains, rec.Domains) {
			if err := claimDomainsTx(tx, id, rec.Domains, domains); err != nil {
				return err
			}
			rec.Domains = nonEmpty(domains)
			data["domains"] = rec.Domains
		}
		if in.RedirectURIs != nil && !slices.Equal(redirects, rec.RedirectURIs) {
			rec.RedirectURIs = redirects
			data["redirectUris"] = rec.RedirectURIs
		}
		a = rec.app()
		if len(data) == 0 {
			return nil
		}
		if err := putJSON(tx.Bucket(bucketApps), []byte(id), rec); err != nil {
			return err
		}
		return s.addEventTxKey(tx, actor, EventAppUpdated, "app", id, data)
	})
	return a, err
}

// DeleteApp removes an app and its domains and, in the same transaction,
// clears it from every signup link and invitation that named it (they keep
// working, without the app). It returns ENOTFOUND for an unknown id.
func (s *Store) DeleteApp(actor Actor, id string) error {
	return s.update(func(tx *bolt.Tx) error {
		rec, err := getAppTx(tx, id)
		if err != nil {
			return err
		}
		if err := claimDomainsTx(tx, id, rec.Domains, nil); err != nil {
			return err
		}
		if rec.ClientID != "" {
			if err := tx.Bucket(bucketAppsByClientID).Delete([]byte(rec.ClientID)); err != nil {
				return err
			}
		}
		links, invitations, err := s.dropAppTx(tx, id)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketApps).Delete([]byte(id)); err != nil {
			return err
		}
		return s.addEventTxKey(tx, actor, EventAppDeleted, "app", id, map[string]any{
			"name": rec.Name, "links": links, "invitations": invitations})
	})
}

// claimDomainsTx moves app id's entries of the domain index from old to
// now. A domain another app holds is an ECONFLICT that names that app.
func claimDomainsTx(tx *bolt.Tx, id string, old, now []string) error {
	idx := tx.Bucket(bucketAppsByDomain)
	for i, d := range now {
		if other := idx.Get([]byte(d)); other != nil && string(other) != id {
			return &Error{Code: ECONFLICT,
				Message: fmt.Sprintf("The domain %s belongs to the app %s already; a host is guarded by one app only. Remove it there first, or leave it out here.", d, other),
				Details: []FieldError{{Path: fmt.Sprintf("domains[%d]", i), Message: "belongs to the app " + string(other)}}}
		}
	}
	for _, d := range old {
		if !slices.Contains(now, d) {
			if err := idx.Delete([]byte(d)); err != nil {
				return err
			}
		}
	}
	for _, d := range now {
		if err := idx.Put([]byte(d), []byte(id)); err != nil {
			return err
		}
	}
	return nil
}

// cleanAppURL checks an app's address: absolute, http or https, with a
// host and no user name or password in it.
func cleanAppURL(errs *fieldErrors, s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		errs.add("url", "is required: give the address people open the app at")
		return ""
	}
	if len(s) > MaxAppURLLength || hasControl(s) {
		errs.add("url", fmt.Sprintf("must be at most %d characters of plain text", MaxAppURLLength))
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		errs.add("url", "must be an absolute http or https address, such as grafana.example.com with its scheme in front")
		return ""
	}
	if u.User != nil {
		errs.add("url", "may not hold a user name or password; give the address without them")
		return ""
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	return u.String()
}

// cleanRedirectURIs checks an oidc app's redirect URIs and returns them
// trimmed, in the order given, without repeats. The rules are OAuth's
// usual ones: an absolute https URL, or http to a loopback host only
// (a native app listening on the same machine); no fragment, which a
// redirect may not carry; no user name or password. Nothing else is
// normalised, since the provider compares them exactly.
func cleanRedirectURIs(errs *fieldErrors, in []string) []string {
	if len(in) == 0 {
		errs.add("redirectUris", "give at least one address the app receives sign-ins at: its absolute https callback address")
		return nil
	}
	if len(in) > MaxAppRedirectURIs {
		errs.add("redirectUris", fmt.Sprintf("may list at most %d addresses", MaxAppRedirectURIs))
		return nil
	}
	var out []string
	for i, raw := range in {
		path := fmt.Sprintf("redirectUris[%d]", i)
		r := strings.TrimSpace(raw)
		if msg := checkRedirectURI(r); msg != "" {
			errs.add(path, msg)
			continue
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// checkRedirectURI says what is wrong with one redirect URI, or "".
func checkRedirectURI(r string) string {
	if r == "" {
		return "is empty: give the absolute https address of the app's sign-in callback"
	}
	if len(r) > MaxAppURLLength || hasControl(r) || strings.ContainsAny(r, " \t") {
		return fmt.Sprintf("must be at most %d characters of plain text without spaces", MaxAppURLLength)
	}
	u, err := url.Parse(r)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "must be an absolute https address with a host name, the app's sign-in callback"
	}
	if u.User != nil || strings.Contains(u.Host, "@") {
		return "may not hold a user name or password; give the address without them"
	}
	if u.Fragment != "" || strings.Contains(r, "#") {
		return "may not have a #fragment: the provider adds the code to the query"
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return "must use https; plain http is allowed only for localhost, 127.0.0.1 or [::1]"
		}
	default:
		return fmt.Sprintf("has the scheme %q: use https (or http for localhost, 127.0.0.1 or [::1])", u.Scheme)
	}
	return ""
}

// isLoopbackHost reports whether host names this machine: localhost or a
// loopback IP address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// cleanAppDomains normalises a proxy app's domains, sorted and without
// repeats, adding what is wrong to errs. A proxy app needs at least one,
// and none may be ownHost, invited's own host name.
func cleanAppDomains(errs *fieldErrors, in []string, ownHost string) []string {
	if len(in) == 0 {
		errs.add("domains", "give at least one host name the app is served at, such as grafana.example.com")
		return nil
	}
	if len(in) > MaxAppDomains {
		errs.add("domains", fmt.Sprintf("may list at most %d domains", MaxAppDomains))
		return nil
	}
	var out []string
	for i, d := range in {
		nd, err := normalizeAppDomain(fmt.Sprintf("domains[%d]", i), d)
		if err != nil {
			errs.addErr(err)
			continue
		}
		if ownHost != "" && nd == ownHost {
			errs.add(fmt.Sprintf("domains[%d]", i), "is invited's own host (server.base_url): the gate must never guard the login page; serve the app at another host name")
			continue
		}
		out = append(out, nd)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// normalizeAppDomain checks one domain of a proxy app: a host name, or
// "*." and a domain of at least two labels for any host one label below
// it. Ports, paths, wildcards anywhere else and IP addresses are refused:
// the gate matches the host name a proxy passes, and a login cookie is
// never shared with an IP address.
func normalizeAppDomain(path, s string) (string, error) {
	d := strings.TrimSpace(s)
	if strings.ContainsAny(d, ":/?#@") {
		return "", FieldErrorf(path, "%q is not a host name: give it without a scheme, port or path, such as grafana.example.com", s)
	}
	wildcard := strings.HasPrefix(d, "*.")
	rest := strings.TrimPrefix(d, "*.")
	if strings.Contains(rest, "*") {
		return "", FieldErrorf(path, "%q has a wildcard that is not the whole first label: write *.tools.example.com for the hosts one label below tools.example.com", s)
	}
	if net.ParseIP(strings.Trim(rest, "[]")) != nil {
		return "", FieldErrorf(path, "%q is an IP address: apps are matched by host name; give one such as grafana.example.com", s)
	}
	nd, err := NormalizeDomain(path, rest)
	if err != nil {
		return "", err
	}
	if labels := strings.Split(nd, "."); strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return "", FieldErrorf(path, "%q is not a host name: its last label is a number", s)
	}
	if wildcard {
		nd = "*." + nd
	}
	return nd, nil
}
