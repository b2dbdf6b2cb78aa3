package tui

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"invited/db"
)

// appsScreen lists the apps (DESIGN §9, §10): create, edit, delete, and
// a new client secret for an oidc app.
type appsScreen struct {
	records[db.App]
}

func newAppsScreen(a *app) *appsScreen {
	s := &appsScreen{}
	s.app = a
	s.list = newList(a, []column{
		{title: "ID", flex: 2, min: 12},
		{title: "Name", flex: 2, min: 10},
		{title: "Domains or URIs", flex: 3, min: 14},
		{title: "Groups", flex: 2, min: 8},
		{title: "Created", width: 16},
	})
	s.what = "apps"
	s.fetch = func(ctx context.Context, b Backend, _ db.Actor) ([]db.App, any, error) {
		apps, err := b.ListApps(ctx)
		if err != nil {
			return nil, nil, err
		}
		// The forms offer the groups.
		groups, err := b.ListGroups(ctx)
		return apps, groups, err
	}
	s.took = func(_ []db.App, extra any) { a.groups, _ = extra.([]db.Group) }
	s.row = func(ap db.App, _ time.Time) row {
		covers := listText(ap.Domains)
		if ap.OIDC != nil {
			covers = "oidc: " + listText(ap.OIDC.RedirectURIs)
		}
		return row{id: ap.ID, cells: []string{ap.ID, ap.Name, covers, appGroupsText(ap.Groups), fmtTime(ap.CreatedAt)},
			search: ap.URL}
	}
	s.detail = s.detailText
	return s
}

func (s *appsScreen) name() string    { return "Apps" }
func (s *appsScreen) tabName() string { return "Apps" }

func (s *appsScreen) key(k tea.KeyMsg) tea.Cmd {
	if ok, cmd := s.listKey(k, s.detailText); ok {
		return cmd
	}
	a := s.app
	if key.Matches(k, a.keys.New) {
		a.push(s.createForm())
		return nil
	}
	ap, ok := s.selected()
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, a.keys.Edit):
		a.push(s.editForm(ap))
	case key.Matches(k, a.keys.Secret):
		switch {
		case ap.OIDC == nil:
			a.setError(fmt.Sprintf("The app %q is a proxy app: only oidc apps have a client secret.", ap.Name))
		case ap.OIDC.Public:
			a.setError(fmt.Sprintf("The app %q is a public client: it signs in with PKCE and has no secret.", ap.Name))
		default:
			a.ask(fmt.Sprintf("Make a new client secret for %q (%s)? The current one stops working at once.", ap.Name, ap.ID),
				a.do("Could not make a new secret", func(ctx context.Context) (any, error) {
					na, secret, err := a.backend.RotateAppSecret(ctx, a.actor, ap.ID)
					return appSecretResult{na, secret}, err
				}, func(res any) tea.Cmd {
					r, _ := res.(appSecretResult)
					a.setOK(fmt.Sprintf("Made a new client secret for %q; the old one no longer works.", r.app.Name))
					s.showSecret(r)
					return s.load()
				}))
		}
	case key.Matches(k, a.keys.Delete):
		a.ask(fmt.Sprintf("Delete the app %q (%s)? Its domains are then guarded by no app.", ap.Name, ap.ID),
			a.do("Could not delete", func(ctx context.Context) (any, error) {
				return nil, a.backend.DeleteApp(ctx, a.actor, ap.ID)
			}, func(any) tea.Cmd {
				a.setOK(fmt.Sprintf("Deleted the app %q.", ap.Name))
				return s.load()
			}))
	}
	return nil
}

// appSecretResult is an app with the client secret that was just made,
// the one time it exists outside the store's hash.
type appSecretResult struct {
	app    db.App
	secret string
}

// showSecret shows an oidc app's client id and new secret, once.
func (s *appsScreen) showSecret(r appSecretResult) {
	a := s.app
	a.push(&result{
		app: a, title: "Client secret of " + strconv.Quote(r.app.Name),
		note: "Copy it now; it will not be shown again. Only its hash is kept: a lost secret can only be replaced (s).",
		lines: []resultLine{
			{},
			{label: "Client ID", value: r.app.OIDC.ClientID, wrapAnywhere: true},
			{label: "Client secret", value: r.secret, wrapAnywhere: true, secret: true},
		},
		copyText: r.secret, copyWhat: "the client secret",
	})
}

const (
	appDomainsHint   = "Proxy apps: host names, comma separated: grafana.example.com, or *.tools.example.com for any host one label below. No scheme, port or path."
	appURLHint       = "Where people open the app: an http or https address."
	appRedirectsHint = "OIDC apps: where sign-ins return, separated by spaces or commas; https, or http only for localhost, 127.0.0.1 or [::1]. Matched exactly."
	appKindHint      = "proxy: behind a reverse proxy that asks the gate. oidc: signs people in through invited's OpenID Connect provider."
	appClientHint    = "confidential: a server that keeps a client secret. public: a browser or native app with no secret (PKCE only). It never changes."
)

// parseRedirectURIs splits what the admin typed into redirect URIs: at
// spaces and commas (a comma inside a URI must be written %2C).
func parseRedirectURIs(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

func (s *appsScreen) createForm() *form {
	a := s.app
	f := newForm(a, "New app", nil, nil)
	f.text("Name", "", "e.g. Grafana", "What people see.", "name")
	f.text("ID", "", "made from the name", "Optional: lower-case letters, digits and hyphens; empty makes one from the name. It never changes.", "id")
	kind := f.choose("Kind", []string{db.AppKindProxy, db.AppKindOIDC}, 0, appKindHint, "kind")
	isOIDC := func() bool { return kind.value() == db.AppKindOIDC }
	f.text("URL", "", "https://grafana.example.com", appURLHint, "url")
	f.text("Domains", "", "grafana.example.com", appDomainsHint, "domains").hidden = isOIDC
	redirects := f.text("Redirect URIs", "", "https://app.example.com/oauth/callback", appRedirectsHint, "redirectUris")
	redirects.hidden = func() bool { return !isOIDC() }
	redirects.input.CharLimit = db.MaxAppRedirectURIs * (db.MaxAppURLLength + 1)
	f.choose("Client", []string{"confidential", "public"}, 0, appClientHint, "public").hidden = redirects.hidden
	f.text("Groups", "", "everyone", "Who may enter; empty lets every active user in. "+a.groupsHint(), "groups")
	f.submit = func(f *form) (func(ctx context.Context) (any, error), error) {
		in := db.NewApp{ID: f.valueOf("ID"), Name: f.valueOf("Name"), URL: f.valueOf("URL"), Kind: kind.value(),
			Groups: parseGroupList(f.valueOf("Groups"))}
		// Only the fields of the chosen kind are sent: the other kind's
		// would be refused.
		if isOIDC() {
			in.RedirectURIs = parseRedirectURIs(f.valueOf("Redirect URIs"))
			in.Public = f.valueOf("Client") == "public"
		} else {
			in.Domains = parseGroupList(f.valueOf("Domains"))
		}
		return func(ctx context.Context) (any, error) {
			ap, secret, err := a.backend.CreateApp(ctx, a.actor, in)
			return appSecretResult{ap, secret}, err
		}, nil
	}
	f.done = func(res any) tea.Cmd {
		r, _ := res.(appSecretResult)
		ap := r.app
		switch {
		case r.secret != "":
			a.setOK(fmt.Sprintf("Created the app %q (%s) with its client secret.", ap.Name, ap.ID))
			s.showSecret(r)
		case ap.OIDC != nil:
			a.setOK(fmt.Sprintf("Created the public app %q (%s), client ID %s.", ap.Name, ap.ID, ap.OIDC.ClientID))
		default:
			a.setOK(fmt.Sprintf("Created the app %q (%s).", ap.Name, ap.ID))
		}
		s.selectNext = ap.ID
		return s.load()
	}
	return f
}

func (s *appsScreen) editForm(ap db.App) *form {
	a := s.app
	f := newForm(a, "Edit app "+ap.ID, nil, nil)
	f.text("Name", ap.Name, "", "What people see.", "name")
	f.text("URL", ap.URL, "", appURLHint, "url")
	if ap.OIDC != nil {
		f.intro = "An oidc app: its kind, client ID and public or confidential never change."
		f.text("Redirect URIs", strings.Join(ap.OIDC.RedirectURIs, " "), "", appRedirectsHint, "redirectUris").input.CharLimit =
			db.MaxAppRedirectURIs * (db.MaxAppURLLength + 1)
	} else {
		f.text("Domains", strings.Join(ap.Domains, ", "), "", appDomainsHint, "domains")
	}
	f.text("Groups", strings.Join(ap.Groups, ", "), "everyone", "Who may enter; empty lets every active user in. "+a.groupsHint(), "groups")
	f.submit = func(f *form) (func(ctx context.Context) (any, error), error) {
		name, u := f.valueOf("Name"), f.valueOf("URL")
		in := db.AppUpdate{Name: &name, URL: &u}
		// Only what changed is sent, so that an unchanged list is not
		// checked again.
		if ap.OIDC != nil {
			if uris := parseRedirectURIs(f.valueOf("Redirect URIs")); !slices.Equal(uris, ap.OIDC.RedirectURIs) {
				in.RedirectURIs = &uris
			}
		} else if domains := parseGroupList(f.valueOf("Domains")); !slices.Equal(domains, ap.Domains) {
			in.Domains = &domains
		}
		if groups := parseGroupList(f.valueOf("Groups")); !slices.Equal(groups, ap.Groups) {
			in.Groups = &groups
		}
		return func(ctx context.Context) (any, error) {
			return a.backend.UpdateApp(ctx, a.actor, ap.ID, in)
		}, nil
	}
	f.done = func(res any) tea.Cmd {
		na, _ := res.(db.App)
		a.setOK(fmt.Sprintf("Saved the app %q (%s).", na.Name, na.ID))
		return s.load()
	}
	return f
}

func (s *appsScreen) detailText() string {
	ap, ok := s.selected()
	if !ok {
		return ""
	}
	who := appGroupsText(ap.Groups)
	if len(ap.Groups) == 0 {
		who += " (every active user)"
	}
	lines := []resultLine{
		{label: "ID", value: ap.ID},
		{label: "Name", value: ap.Name},
		{label: "URL", value: ap.URL},
		{label: "Kind", value: ap.Kind},
	}
	if o := ap.OIDC; o != nil {
		client, secret := "confidential", "made "+fmtFull(o.SecretCreatedAt, s.app.now())+"; s makes a new one"
		if o.Public {
			client, secret = "public (PKCE only)", "none"
		}
		lines = append(lines,
			resultLine{label: "Client ID", value: o.ClientID, wrapAnywhere: true},
			resultLine{label: "Client", value: client},
			resultLine{label: "Client secret", value: secret},
			resultLine{label: "Redirect URIs", value: listText(o.RedirectURIs), wrapAnywhere: true})
	} else {
		lines = append(lines, resultLine{label: "Domains", value: listText(ap.Domains)})
	}
	lines = append(lines,
		resultLine{label: "Groups", value: who},
		resultLine{label: "Created", value: fmtFull(ap.CreatedAt, s.app.now())})
	return renderLines(s.app.styles, lines, s.list.w-1)
}

func (s *appsScreen) view(w, h int) string {
	info := s.infoLine(len(s.items), "app", "apps", func() string {
		ap, _ := s.selected()
		return "App " + ap.ID
	})
	return s.base.view(info, w, h)
}

func (s *appsScreen) help() helpKeys {
	k := s.app.keys
	return s.listHelp(k.New, k.Edit, k.Secret, k.Delete)
}

// appGroupsText says who may enter an app: its groups, or every active
// user.
func appGroupsText(ids []string) string {
	if len(ids) == 0 {
		return "everyone"
	}
	return strings.Join(ids, ", ")
}

// listText is a list as one cell shows it: "—" for none.
func listText(items []string) string {
	if len(items) == 0 {
		return "—"
	}
	return strings.Join(items, ", ")
}
