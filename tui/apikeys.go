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

// keysScreen lists the API keys: create (the key is shown once), revoke.
type keysScreen struct {
	records[db.APIKey]
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
		{title: "Last used", width: 12},
	})
	s.what = "API keys"
	s.fetch = func(ctx context.Context, b Backend, _ db.Actor) ([]db.APIKey, any, error) {
		keys, err := b.ListAPIKeys(ctx)
		return keys, nil, err
	}
	s.row = func(k db.APIKey, now time.Time) row {
		id := strconv.FormatUint(k.ID, 10)
		last := "never"
		if k.LastUsedAt != nil {
			last = relative(*k.LastUsedAt, now)
		}
		return row{id: id, cells: []string{id, k.Name, k.Role.Name(), k.Prefix, fmtTime(k.CreatedAt), last}, search: k.CreatedBy}
	}
	s.detail = s.detailText
	return s
}

func (s *keysScreen) name() string    { return "API keys" }
func (s *keysScreen) tabName() string { return "API keys" }

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
	lastUsed := "never"
	if k.LastUsedAt != nil {
		lastUsed = fmtFull(*k.LastUsedAt, s.app.now())
	}
	lines := []resultLine{
		{label: "ID", value: strconv.FormatUint(k.ID, 10)},
		{label: "Name", value: k.Name},
		{label: "Role", value: k.Role.Name()},
		{label: "Prefix", value: k.Prefix},
		{label: "Created", value: fmtFull(k.CreatedAt, s.app.now()) + " by " + k.CreatedBy},
		{label: "Last used", value: lastUsed},
		{},
		{value: "The key itself was shown once, when it was created."},
	}
	return renderLines(s.app.styles, lines, s.list.w-1)
}

func (s *keysScreen) view(w, h int) string {
	info := s.infoLine(len(s.items), "API key", "API keys", func() string {
		k, _ := s.selected()
		return "API key " + strconv.Quote(k.Name)
	})
	return s.base.view(info, w, h)
}

func (s *keysScreen) help() helpKeys {
	k := s.app.keys
	return s.listHelp(k.New, k.Revoke)
}
