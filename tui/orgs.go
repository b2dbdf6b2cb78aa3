package tui

import (
	"context"
	"fmt"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"invited/db"
)

// orgsScreen lists the organizations: create, delete.
type orgsScreen struct {
	records[db.Organization]
}

func newOrgsScreen(a *app) *orgsScreen {
	s := &orgsScreen{}
	s.app = a
	s.list = newList(a, []column{
		{title: "ID", flex: 1, min: 10},
		{title: "Name", flex: 2, min: 10},
		{title: "Created", width: 16},
	})
	s.what = "organizations"
	s.fetch = func(ctx context.Context, b Backend, _ db.Actor) ([]db.Organization, any, error) {
		orgs, err := b.ListOrganizations(ctx)
		return orgs, nil, err
	}
	s.row = func(o db.Organization, _ time.Time) row {
		return row{id: o.ID, cells: []string{o.ID, o.Name, fmtTime(o.CreatedAt)}}
	}
	// The invitation form offers these.
	s.took = func(orgs []db.Organization, _ any) { a.orgs = orgs }
	s.detail = s.detailText
	return s
}

func (s *orgsScreen) name() string    { return "Organizations" }
func (s *orgsScreen) tabName() string { return "Orgs" }

func (s *orgsScreen) key(k tea.KeyMsg) tea.Cmd {
	if ok, cmd := s.listKey(k, s.detailText); ok {
		return cmd
	}
	a := s.app
	if key.Matches(k, a.keys.New) {
		a.push(s.createForm())
		return nil
	}
	o, ok := s.selected()
	if ok && key.Matches(k, a.keys.Delete) {
		a.ask(fmt.Sprintf("Delete the organization %q (%s)? Only an organization without users and pending invitations can go.", o.Name, o.ID),
			a.do("Could not delete", func(ctx context.Context) (any, error) {
				return nil, a.backend.DeleteOrganization(ctx, a.actor, o.ID)
			}, func(any) tea.Cmd {
				a.setOK(fmt.Sprintf("Deleted the organization %q.", o.Name))
				return s.load()
			}))
	}
	return nil
}

func (s *orgsScreen) createForm() *form {
	a := s.app
	f := newForm(a, "New organization", nil, nil)
	f.text("Name", "", "e.g. Acme Research", "What people see.", "name")
	f.text("ID", "", "made from the name", "Optional: lower-case letters, digits and hyphens; empty makes one from the name.", "id")
	f.submit = func(f *form) (func(ctx context.Context) (any, error), error) {
		name, err := db.CleanText("name", f.valueOf("Name"), true, db.MaxNameLength)
		if err != nil {
			return nil, err
		}
		id := f.valueOf("ID")
		return func(ctx context.Context) (any, error) {
			return a.backend.CreateOrganization(ctx, a.actor, id, name)
		}, nil
	}
	f.done = func(res any) tea.Cmd {
		o, _ := res.(db.Organization)
		a.setOK(fmt.Sprintf("Created the organization %q (%s).", o.Name, o.ID))
		s.selectNext = o.ID
		return s.load()
	}
	return f
}

func (s *orgsScreen) detailText() string {
	o, ok := s.selected()
	if !ok {
		return ""
	}
	lines := []resultLine{
		{label: "ID", value: o.ID},
		{label: "Name", value: o.Name},
		{label: "Created", value: fmtFull(o.CreatedAt, s.app.now())},
	}
	if o.ID == db.DefaultOrganization {
		lines = append(lines, resultLine{}, resultLine{value: "The default organization: people go here when no other is named. It cannot be deleted."})
	}
	return renderLines(s.app.styles, lines, s.list.w-1)
}

func (s *orgsScreen) view(w, h int) string {
	info := s.infoLine(len(s.items), "organization", "organizations", func() string {
		o, _ := s.selected()
		return "Organization " + o.ID
	})
	return s.base.view(info, w, h)
}

func (s *orgsScreen) help() helpKeys {
	k := s.app.keys
	return s.listHelp(k.New, k.Delete)
}
