package tui

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"invited/db"
)

// usersScreen lists the users: change role, unlock, delete.
type usersScreen struct {
	base
	users []db.User
	total int
}

type usersLoadedMsg struct {
	seq   int
	users []db.User
	total int
	err   error
}

func newUsersScreen(a *app) *usersScreen {
	s := &usersScreen{}
	s.app = a
	s.list = newList(a, []column{
		{title: "ID", width: 4},
		{title: "Email", flex: 3, min: 12},
		{title: "Name", flex: 2, min: 8},
		{title: "Role", width: 6},
		{title: "Organization", width: 12},
		{title: "Status", width: 6},
	})
	return s
}

func (s *usersScreen) name() string    { return "Users" }
func (s *usersScreen) tabName() string { return "Users" }

func (s *usersScreen) load() tea.Cmd {
	seq := s.nextSeq()
	b := s.app.backend
	return func() tea.Msg {
		msg := usersLoadedMsg{seq: seq}
		_, msg.err = protect(func(ctx context.Context) (any, error) {
			for len(msg.users) < maxRecords {
				page, total, err := b.ListUsers(ctx, len(msg.users), pageSize)
				if err != nil {
					return nil, err
				}
				msg.users, msg.total = append(msg.users, page...), total
				if len(page) < pageSize || len(msg.users) >= total {
					break
				}
			}
			return nil, nil
		})
		return msg
	}
}

// slowedUntil returns the end of the wait failed logins gave the user, and
// whether that wait is still running on the TUI's clock.
func (s *usersScreen) slowedUntil(u db.User) (time.Time, bool) {
	if u.ThrottledUntil == nil || !s.app.now().Before(*u.ThrottledUntil) {
		return time.Time{}, false
	}
	return *u.ThrottledUntil, true
}

func (s *usersScreen) receive(msg tea.Msg) tea.Cmd {
	m, ok := msg.(usersLoadedMsg)
	if !ok || !s.accept(m.seq, m.err, "users") {
		return nil
	}
	s.users, s.total = m.users, m.total
	rows := make([]row, len(m.users))
	for i, u := range m.users {
		status := "ok"
		if _, slowed := s.slowedUntil(u); slowed {
			status = "slowed"
		}
		id := strconv.FormatUint(u.ID, 10)
		rows[i] = row{
			id:     id,
			cells:  []string{id, u.Email, u.Name, u.RootRole.Name(), u.OrganizationID, status},
			search: u.Username,
		}
	}
	s.show(rows, s.detailText)
	return nil
}

func (s *usersScreen) selected() (db.User, bool) {
	id := s.list.selectedID()
	for _, u := range s.users {
		if strconv.FormatUint(u.ID, 10) == id {
			return u, true
		}
	}
	return db.User{}, false
}

func (s *usersScreen) key(k tea.KeyMsg) tea.Cmd {
	if ok, cmd := s.listKey(k, s.detailText); ok {
		return cmd
	}
	a := s.app
	keys := a.keys
	u, ok := s.selected()
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, keys.Role):
		a.push(s.roleForm(u))
	case key.Matches(k, keys.Unlock):
		if u.LoginAttempts == 0 {
			a.setInfo(u.Email + " has no failed logins; there is nothing to unlock.")
			return nil
		}
		return a.do("Could not unlock", func(ctx context.Context) (any, error) {
			return a.backend.UnlockUser(ctx, a.actor, u.ID)
		}, func(any) tea.Cmd {
			a.setOK("Unlocked " + u.Email + ": they may log in again.")
			return s.load()
		})
	case key.Matches(k, keys.Delete):
		a.ask(fmt.Sprintf("Delete the user %s? Their account and sessions are removed; this cannot be undone.", u.Email),
			a.do("Could not delete", func(ctx context.Context) (any, error) {
				return nil, a.backend.DeleteUser(ctx, a.actor, u.ID)
			}, func(any) tea.Cmd {
				a.setOK("Deleted the user " + u.Email + ".")
				return s.load()
			}))
	}
	return nil
}

// roleForm changes a user's root role.
func (s *usersScreen) roleForm(u db.User) *form {
	a := s.app
	roles := grantable(a.actor.Role, db.Roles)
	f := newForm(a, "Role of "+u.Email, nil, nil)
	f.intro = fmt.Sprintf("Now %s. %s", u.RootRole.Name(), u.RootRole.Description())
	f.choose("Role", roleNames(roles), roleIndex(roles, u.RootRole), "Admin: everything. Editor: links and invitations. Viewer: own user only.", "rootRole")
	f.submit = func(f *form) (func(ctx context.Context) (any, error), error) {
		r := roleByName(f.valueOf("Role"))
		return func(ctx context.Context) (any, error) {
			return a.backend.UpdateUser(ctx, a.actor, u.ID, db.UserUpdate{RootRole: &r})
		}, nil
	}
	f.done = func(res any) tea.Cmd {
		nu, _ := res.(db.User)
		a.setOK(fmt.Sprintf("%s is now %s.", nu.Email, nu.RootRole.Name()))
		return s.load()
	}
	return f
}

func (s *usersScreen) detailText() string {
	u, ok := s.selected()
	if !ok {
		return ""
	}
	a := s.app
	status := "active"
	if until, slowed := s.slowedUntil(u); slowed {
		status = "slowed until " + fmtTime(until) + " UTC (u ends the wait)"
	}
	failed := strconv.Itoa(u.LoginAttempts)
	if max := a.opts.MaxLoginAttempts; max > 0 && u.LoginAttempts > 0 {
		failed += fmt.Sprintf(" (waits start at %d)", max)
	}
	via := "created directly"
	if u.LinkID != 0 {
		via = "signup link " + strconv.FormatUint(u.LinkID, 10)
		for _, t := range a.links {
			if t.ID == u.LinkID {
				via = fmt.Sprintf("signup link %q", t.Name)
			}
		}
	}
	username := u.Username
	if username == "" {
		username = "—"
	}
	emailSent := "no"
	if u.EmailSent {
		emailSent = "yes"
	}
	lines := []resultLine{
		{label: "ID", value: strconv.FormatUint(u.ID, 10)},
		{label: "Email", value: u.Email},
		{label: "Name", value: u.Name},
		{label: "Username", value: username},
		{label: "Role", value: u.RootRole.Name()},
		{label: "Organization", value: u.OrganizationID},
		{label: "Status", value: status},
		{label: "Failed logins", value: failed},
		{label: "Last seen", value: fmtTimePtr(u.SeenAt)},
		{label: "Created", value: fmtFull(u.CreatedAt)},
		{label: "Joined through", value: via},
		{label: "Welcome email", value: emailSent},
	}
	return renderLines(a.styles, lines, s.list.w-1)
}

func (s *usersScreen) view(w, h int) string {
	info := s.infoLine(s.total, "user", "users", func() string {
		u, _ := s.selected()
		return "User " + u.Email
	})
	return s.base.view(info, w, h)
}

func (s *usersScreen) help() helpKeys {
	k := s.app.keys
	return s.listHelp(k.Role, k.Unlock, k.Delete)
}
