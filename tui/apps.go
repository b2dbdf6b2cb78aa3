package tui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"invited/db"
)

// appsScreen lists the apps (DESIGN §9): create, edit, delete.
type appsScreen struct {
	records[db.App]
}

func newAppsScreen(a *app) *appsScreen {
	s := &appsScreen{}
	s.app = a
	s.list = newList(a, []column{
		{title: "ID", flex: 2, min: 12},
		{title: "Name", flex: 2, min: 10},
		{title: "Domains", flex: 3, min: 14},
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
		return row{id: ap.ID, cells: []string{ap.ID, ap.Name, listText(ap.Domains), appGroupsText(ap.Groups), fmtTime(ap.CreatedAt)},
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

const (
	appDomainsHint = "Host names, comma separated: grafana.example.com, or *.tools.example.com for any host one label below. No scheme, port or path."
	appURLHint     = "Where people open the app: an http or https address."
)

func (s *appsScreen) createForm() *form {
	a := s.app
	f := newForm(a, "New app", nil, nil)
	f.text("Name", "", "e.g. Grafana", "What people see.", "name")
	f.text("ID", "", "made from the name", "Optional: lower-case letters, digits and hyphens; empty makes one from the name. It never changes.", "id")
	f.text("URL", "", "https://grafana.example.com", appURLHint, "url")
	f.text("Domains", "", "grafana.example.com", appDomainsHint, "domains")
	f.text("Groups", "", "everyone", "Who may enter; empty lets every active user in. "+a.groupsHint(), "groups")
	f.submit = func(f *form) (func(ctx context.Context) (any, error), error) {
		in := db.NewApp{ID: f.valueOf("ID"), Name: f.valueOf("Name"), URL: f.valueOf("URL"), Kind: db.AppKindProxy,
			Domains: parseGroupList(f.valueOf("Domains")), Groups: parseGroupList(f.valueOf("Groups"))}
		return func(ctx context.Context) (any, error) {
			ap, _, err := a.backend.CreateApp(ctx, a.actor, in)
			return ap, err
		}, nil
	}
	f.done = func(res any) tea.Cmd {
		ap, _ := res.(db.App)
		a.setOK(fmt.Sprintf("Created the app %q (%s).", ap.Name, ap.ID))
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
	f.text("Domains", strings.Join(ap.Domains, ", "), "", appDomainsHint, "domains")
	f.text("Groups", strings.Join(ap.Groups, ", "), "everyone", "Who may enter; empty lets every active user in. "+a.groupsHint(), "groups")
	f.submit = func(f *form) (func(ctx context.Context) (any, error), error) {
		name, u := f.valueOf("Name"), f.valueOf("URL")
		in := db.AppUpdate{Name: &name, URL: &u}
		// Only what changed is sent, so that an unchanged list is not
		// checked again.
		if domains := parseGroupList(f.valueOf("Domains")); !slices.Equal(domains, ap.Domains) {
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
		{label: "Domains", value: listText(ap.Domains)},
		{label: "Groups", value: who},
		{label: "Created", value: fmtFull(ap.CreatedAt, s.app.now())},
	}
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
	return s.listHelp(k.New, k.Edit, k.Delete)
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
