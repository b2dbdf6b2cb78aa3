package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"invited/db"
)

// groupsScreen lists the groups: create, edit, delete.
type groupsScreen struct {
	records[db.Group]
}

func newGroupsScreen(a *app) *groupsScreen {
	s := &groupsScreen{}
	s.app = a
	s.list = newList(a, []column{
		{title: "ID", flex: 2, min: 16},
		{title: "Name", flex: 2, min: 10},
		{title: "Description", flex: 3, min: 10},
		{title: "Created", width: 16},
	})
	s.what = "groups"
	s.fetch = func(ctx context.Context, b Backend, _ db.Actor) ([]db.Group, any, error) {
		groups, err := b.ListGroups(ctx)
		return groups, nil, err
	}
	s.row = func(g db.Group, _ time.Time) row {
		return row{id: g.ID, cells: []string{g.ID, g.Name, g.Description, fmtTime(g.CreatedAt)}}
	}
	// The group fields of other forms name these.
	s.took = func(groups []db.Group, _ any) { a.groups = groups }
	s.detail = s.detailText
	return s
}

func (s *groupsScreen) name() string    { return "Groups" }
func (s *groupsScreen) tabName() string { return "Groups" }

func (s *groupsScreen) key(k tea.KeyMsg) tea.Cmd {
	if ok, cmd := s.listKey(k, s.detailText); ok {
		return cmd
	}
	a := s.app
	if key.Matches(k, a.keys.New) {
		a.push(s.createForm())
		return nil
	}
	g, ok := s.selected()
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, a.keys.Edit):
		a.push(s.editForm(g))
	case key.Matches(k, a.keys.Delete):
		a.ask(fmt.Sprintf("Delete the group %q (%s)? It is taken from every user, signup link, invitation and app that has it.", g.Name, g.ID),
			a.do("Could not delete", func(ctx context.Context) (any, error) {
				return nil, a.backend.DeleteGroup(ctx, a.actor, g.ID)
			}, func(any) tea.Cmd {
				a.setOK(fmt.Sprintf("Deleted the group %q.", g.Name))
				return s.load()
			}))
	}
	return nil
}

func (s *groupsScreen) createForm() *form {
	a := s.app
	f := newForm(a, "New group", nil, nil)
	f.text("Name", "", "e.g. Grafana users", "What people see.", "name")
	f.text("ID", "", "made from the name", "Optional: lower-case letters, digits and hyphens; empty makes one from the name. It never changes.", "id")
	f.text("Description", "", "optional", "What the group lets its members enter.", "description")
	f.submit = func(f *form) (func(ctx context.Context) (any, error), error) {
		in := db.NewGroup{ID: f.valueOf("ID"), Name: f.valueOf("Name"), Description: f.valueOf("Description")}
		return func(ctx context.Context) (any, error) {
			return a.backend.CreateGroup(ctx, a.actor, in)
		}, nil
	}
	f.done = func(res any) tea.Cmd {
		g, _ := res.(db.Group)
		a.setOK(fmt.Sprintf("Created the group %q (%s).", g.Name, g.ID))
		s.selectNext = g.ID
		return s.load()
	}
	return f
}

func (s *groupsScreen) editForm(g db.Group) *form {
	a := s.app
	f := newForm(a, "Edit group "+g.ID, nil, nil)
	f.text("Name", g.Name, "", "What people see.", "name")
	f.text("Description", g.Description, "optional", "What the group lets its members enter; empty for none.", "description")
	f.submit = func(f *form) (func(ctx context.Context) (any, error), error) {
		name, description := f.valueOf("Name"), f.valueOf("Description")
		return func(ctx context.Context) (any, error) {
			return a.backend.UpdateGroup(ctx, a.actor, g.ID, db.GroupUpdate{Name: &name, Description: &description})
		}, nil
	}
	f.done = func(res any) tea.Cmd {
		ng, _ := res.(db.Group)
		a.setOK(fmt.Sprintf("Saved the group %q (%s).", ng.Name, ng.ID))
		return s.load()
	}
	return f
}

func (s *groupsScreen) detailText() string {
	g, ok := s.selected()
	if !ok {
		return ""
	}
	description := g.Description
	if description == "" {
		description = "—"
	}
	lines := []resultLine{
		{label: "ID", value: g.ID},
		{label: "Name", value: g.Name},
		{label: "Description", value: description},
		{label: "Created", value: fmtFull(g.CreatedAt, s.app.now())},
	}
	return renderLines(s.app.styles, lines, s.list.w-1)
}

func (s *groupsScreen) view(w, h int) string {
	info := s.infoLine(len(s.items), "group", "groups", func() string {
		g, _ := s.selected()
		return "Group " + g.ID
	})
	return s.base.view(info, w, h)
}

func (s *groupsScreen) help() helpKeys {
	k := s.app.keys
	return s.listHelp(k.New, k.Edit, k.Delete)
}

// parseGroupList reads the group ids of a form field: separated by commas
// or spaces, blanks dropped. The store checks each one, and its errors
// name the position in this list (groups[1]).
func parseGroupList(s string) []string {
	return append([]string{}, strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })...)
}

// groupsHint says which groups a group field may name: those the app has
// seen, or where to make some.
func (a *app) groupsHint() string {
	if len(a.groups) == 0 {
		return "Group ids, comma separated; create groups in tab 7."
	}
	ids := make([]string, len(a.groups))
	for i, g := range a.groups {
		ids[i] = g.ID
	}
	return "Group ids, comma separated, of: " + strings.Join(ids, ", ")
}

// groupsText is a list of group ids as one field or cell shows it.
func groupsText(ids []string) string {
	if len(ids) == 0 {
		return "—"
	}
	return strings.Join(ids, ", ")
}
