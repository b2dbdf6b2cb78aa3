package db

import (
	"encoding/json"
	"fmt"
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
	// Connect provider (DESIGN §10). It is not available yet: its fields
	// will live in App.OIDC.
	AppKindOIDC = "oidc"
)

// Limits of an app's fields.
const (
	MaxAppDomains   = 50
	MaxAppURLLength = 2048
)

// App is a site or program the team's users enter through invited
// (DESIGN §9).
type App struct {
	// ID is a slug, like a group's.
	ID   string
	Name string
	// URL is where people open the app: an absolute http or https address.
	URL string
	// Kind is AppKindProxy (the only kind for now) or, later, AppKindOIDC.
	Kind string
	// Groups are the ids of the groups whose members may enter, sorted;
	// empty admits every active user.
	Groups []string
	// Domains are the host names a proxy app covers, sorted, in lower-case
	// IDNA ASCII form: "grafana.example.com", or "*.tools.example.com" for
	// any host exactly one label below tools.example.com (not
	// tools.example.com itself, nor a.b.tools.example.com).
	Domains []string
	// OIDC holds the settings of an oidc app; nil for a proxy app.
	OIDC *AppOIDC
	// CreatedAt is when the app was created.
	CreatedAt time.Time
}

// AppOIDC will hold an oidc app's client settings (redirect URIs, public
// or confidential, client id; DESIGN §10). It is empty until that kind
// exists, so that the model already has room for it.
type AppOIDC struct{}

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
}

func (r appRecord) app() App {
	return App{ID: r.ID, Name: r.Name, URL: r.URL, Kind: r.Kind, Groups: r.Groups, Domains: r.Domains, CreatedAt: r.CreatedAt}
}

// NewApp is what it takes to create an app. ID may be empty: it is then
// made from the name, as a group's is. Kind may be empty for AppKindProxy.
type NewApp struct {
	ID      string
	Name    string
	URL     string
	Kind    string
	Groups  []string
	Domains []string
}

// AppUpdate changes an app; nil fields stay as they are. The id and the
// kind never change.
type AppUpdate struct {
	Name    *string
	URL     *string
	Groups  *[]string
	Domains *[]string
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

// CreateApp adds an app. It returns EINVALID naming each bad field
// (unknown groups as groups[i]), and ECONFLICT when the id is taken or a
// domain belongs to another app.
func (s *Store) CreateApp(actor Actor, in NewApp) (App, error) {
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
		errs.add("kind", "oidc apps are not available yet; use proxy")
	default:
		errs.add("kind", fmt.Sprintf("%q is not a kind of app; use proxy", in.Kind))
	}
	appURL := cleanAppURL(&errs, in.URL)
	groups := cleanGroups(&errs, "groups", in.Groups)
	domains := cleanAppDomains(&errs, in.Domains, s.ownHost)
	if err := errs.err(); err != nil {
		return App{}, err
	}
	rec := appRecord{V: 1, ID: id, Name: name, URL: appURL, Kind: kind,
		Groups: nonEmpty(groups), Domains: nonEmpty(domains), CreatedAt: s.clock()}
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
		if err := putJSON(b, []byte(id), rec); err != nil {
			return err
		}
		return s.addEventTxKey(tx, actor, EventAppCreated, "app", id, map[string]any{
			"name": name, "url": appURL, "kind": kind, "groups": rec.Groups, "domains": rec.Domains,
		})
	})
	return rec.app(), err
}

// UpdateApp changes an app's name, url, groups or domains. It returns
// ENOTFOUND, EINVALID when nothing is given or a value breaks the rules of
// CreateApp, and ECONFLICT when a domain belongs to another app.
func (s *Store) UpdateApp(actor Actor, id string, in AppUpdate) (App, error) {
	if in.Name == nil && in.URL == nil && in.Groups == nil && in.Domains == nil {
		return App{}, &Error{Code: EINVALID, Message: "Nothing to change: give name, url, groups or domains.",
			Details: []FieldError{{Path: "", Message: "give name, url, groups or domains"}}}
	}
	var errs fieldErrors
	var name, appURL string
	var groups, domains []string
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
	if err := errs.err(); err != nil {
		return App{}, err
	}
	var a App
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := getAppTx(tx, id)
		if err != nil {
			return err
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

// DeleteApp removes an app and its domains. It returns ENOTFOUND for an
// unknown id.
func (s *Store) DeleteApp(actor Actor, id string) error {
	return s.update(func(tx *bolt.Tx) error {
		rec, err := getAppTx(tx, id)
		if err != nil {
			return err
		}
		if err := claimDomainsTx(tx, id, rec.Domains, nil); err != nil {
			return err
		}
		if err := tx.Bucket(bucketApps).Delete([]byte(id)); err != nil {
			return err
		}
		return s.addEventTxKey(tx, actor, EventAppDeleted, "app", id, map[string]any{"name": rec.Name})
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
