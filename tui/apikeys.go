package tui

import (
	"context"
	"fmt"
	"strconv"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"invited/db"
)

// keysScreen lists the API keys: create (the key is shown once), revoke.
type keysScreen struct {
	base
	keys []db.APIKey
}

type keysLoadedMsg struct {
	seq  int
	keys []db.APIKey
	err  error
}

func newKeysScreen(a *app) *keysScreen {
	s := &keysScreen{}
	s.app = a
	s.list = newList(a, []column{
		{title: "ID", width: 4},
		{title: "Name", flex: 1, min: 10},
		{title: "Role", width: 6},
		{title: "Prefix", width: 15},
		{title: "Created", width: 16},
		{title: "Last used", width: 9},
	})
	return s
}

func (s *keysScreen) name() string    { return "API keys" }
func (s *keysScreen) tabName() string { return "API keys" }

func (s *keysScreen) load() tea.Cmd {
	seq := s.nextSeq()
	return fetch(s.app.backend.ListAPIKeys, func(k []db.APIKey, err error) tea.Msg {
		return keysLoadedMsg{seq: seq, keys: k, err: err}
	})
}

func (s *keysScreen) receive(msg tea.Msg) tea.Cmd {
	m, ok := msg.(keysLoadedMsg)
	if !ok || !s.accept(m.seq, m.err, "API keys") {
		return nil
	}
	s.keys = m.keys
	now := s.app.now()
	rows := make([]row, len(m.keys))
	for i, k := range m.keys {
		id := strconv.FormatUint(k.ID, 10)
		last := "never"
		if k.LastUsedAt != nil {
			last = relative(*k.LastUsedAt, now)
		}
		rows[i] = row{id: id, cells: []string{id, k.Name, k.Role.Name(), k.Prefix, fmtTime(k.CreatedAt), last}, search: k.CreatedBy}
	}
	s.show(rows, s.detailText)
	return nil
}

func (s *keysScreen) selected() (db.APIKey, bool) {
	id := s.list.selectedID()
	for _, k := range s.keys {
		if strconv.FormatUint(k.ID, 10) == id {
			return k, true
		}
	}
	return db.APIKey{}, false
}

func (s *keysScreen) key(k tea.KeyMsg) tea.Cmd {
	if ok, cmd := s.listKey(k, s.detailText); ok {
		return cmd
	}
	a := s.app
	if key.Matches(k, a.keys.New) {
		a.push(s.createForm())
		return nil
	}
	ak, ok := s.selected()
	if ok && key.Matches(k, a.keys.Revoke) {
		a.ask(fmt.Sprintf("Revoke the API key %q? Scripts that use it are refused at once.", ak.Name),
			a.do("Could not revoke", func(ctx context.Context) (any, error) {
				return nil, a.backend.DeleteAPIKey(ctx, a.actor, ak.ID)
			}, func(any) tea.Cmd {
				a.setOK(fmt.Sprintf("Revoked the API key %q.", ak.Name))
				return s.load()
			}))
	}
	return nil
}

// apiKeyResult is what CreateAPIKey answers.
type apiKeyResult struct {
	key db.APIKey
	raw string
}

func (s *keysScreen) createForm() *form {
	a := s.app
	roles := grantable(a.actor.Role, []db.Role{db.RoleAdmin, db.RoleEditor})
	f := newForm(a, "New API key", nil, nil)
	f.intro = "For scripts: send it in the Authorization header. It is shown once."
	f.text("Name", "", "e.g. ci-bot", "Tells keys apart; must be unique.", "name")
	f.choose("Role", roleNames(roles), 0, "Admin: everything. Editor: links and invitations only.", "role")
	f.submit = func(f *form) (func(ctx context.Context) (any, error), error) {
		name, err := db.CleanText("name", f.valueOf("Name"), true, db.MaxNameLength)
		if err != nil {
			return nil, err
		}
		role := roleByName(f.valueOf("Role"))
		return func(ctx context.Context) (any, error) {
			k, raw, err := a.backend.CreateAPIKey(ctx, a.actor, name, role)
			return apiKeyResult{k, raw}, err
		}, nil
	}
	f.done = func(res any) tea.Cmd {
		r, _ := res.(apiKeyResult)
		a.setOK(fmt.Sprintf("Created the API key %q.", r.key.Name))
		a.push(&result{
			app: a, title: "API key " + strconv.Quote(r.key.Name),
			note: "Copy the key now: it is shown only once, and only its hash is kept.",
			lines: []resultLine{
				{},
				{label: "Role", value: r.key.Role.Name()},
				{label: "Key", value: r.raw, wrapAnywhere: true, secret: true},
			},
			copyText: r.raw, copyWhat: "the key",
		})
		s.selectNext = strconv.FormatUint(r.key.ID, 10)
		return s.load()
	}
	return f
}

func (s *keysScreen) detailText() string {
	k, ok := s.selected()
	if !ok {
		return ""
	}
	lines := []resultLine{
		{label: "ID", value: strconv.FormatUint(k.ID, 10)},
		{label: "Name", value: k.Name},
		{label: "Role", value: k.Role.Name()},
		{label: "Prefix", value: k.Prefix},
		{label: "Created", value: fmtFull(k.CreatedAt) + " by " + k.CreatedBy},
		{label: "Last used", value: fmtTimePtr(k.LastUsedAt)},
		{},
		{value: "The key itself was shown once, when it was created."},
	}
	return renderLines(s.app.styles, lines, s.list.w-1)
}

func (s *keysScreen) view(w, h int) string {
	info := s.infoLine(len(s.keys), "API key", "API keys", func() string {
		k, _ := s.selected()
		return "API key " + strconv.Quote(k.Name)
	})
	return s.base.view(info, w, h)
}

func (s *keysScreen) help() helpKeys {
	k := s.app.keys
	return s.listHelp(k.New, k.Revoke)
}
