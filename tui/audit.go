package tui

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"invited/db"
)

// auditPage is how many events one page of the audit log holds.
const auditPage = 100

// auditScreen browses the audit log, newest first, a page at a time,
// optionally only one event type. It loads every event of the type (up to
// maxRecords), so that the filter searches all pages, and the names of
// the people, links, keys and organizations the events are about.
type auditScreen struct {
	records[db.Event]
	total int
	typ   string // "" for all types
	names names
}

// auditExtra is what the audit screen reads besides the events.
type auditExtra struct {
	total int
	names names
}

func newAuditScreen(a *app) *auditScreen {
	s := &auditScreen{}
	s.app = a
	s.list = newList(a, []column{
		{title: "Time", width: 16},
		{title: "Type", width: 22},
		{title: "By", flex: 1, min: 8},
		{title: "Object", flex: 2, min: 8},
	})
	s.list.perPage = auditPage
	s.what = "the audit log"
	s.took = func(events []db.Event, extra any) {
		x, _ := extra.(auditExtra)
		s.total = x.total
		// What the events themselves say about their objects names those
		// deleted since.
		s.names = x.names
		if s.names == nil {
			s.names = names{}
		}
		s.names.learn(events)
	}
	s.row = func(e db.Event, _ time.Time) row {
		return row{
			id:     strconv.FormatUint(e.ID, 10),
			cells:  []string{fmtTime(e.CreatedAt), e.Type, actorName(e.CreatedBy), s.names.object(e.ObjectType, e.ObjectID)},
			search: e.CreatedBy + " " + e.ObjectType + " " + e.ObjectID + " " + eventData(e),
		}
	}
	s.detail = s.detailText
	return s
}

// load reads the events of the type picked now (the read runs in a
// tea.Cmd, while the type may change).
func (s *auditScreen) load() tea.Cmd {
	typ := s.typ
	s.fetch = func(ctx context.Context, b Backend, actor db.Actor) ([]db.Event, any, error) {
		return fetchEvents(ctx, b, actor, typ)
	}
	return s.records.load()
}

// fetchEvents reads every event of typ ("" for all), up to maxRecords,
// and the names of what they are about.
func fetchEvents(ctx context.Context, b Backend, actor db.Actor, typ string) ([]db.Event, any, error) {
	var events []db.Event
	var x auditExtra
	for len(events) < maxRecords {
		page, total, err := b.ListEvents(ctx, typ, len(events), pageSize)
		if err != nil {
			return nil, nil, err
		}
		events, x.total = append(events, page...), total
		if len(page) < pageSize || len(events) >= total {
			break
		}
	}
	var err error
	x.names, err = loadNames(ctx, b, actor)
	return events, x, err
}

func (s *auditScreen) name() string    { return "Audit log" }
func (s *auditScreen) tabName() string { return "Audit" }

// names maps "objectType:id" to what a person calls the object, e.g.
// "user:7" to "ada@example.com".
type names map[string]string

// loadNames reads the users, links, API keys and organizations the actor
// may see, to name them.
func loadNames(ctx context.Context, b Backend, actor db.Actor) (names, error) {
	n := names{}
	for offset := 0; offset < maxRecords; {
		users, total, err := b.ListUsers(ctx, offset, pageSize)
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			n["user:"+strconv.FormatUint(u.ID, 10)] = u.Email
		}
		offset += len(users)
		if len(users) < pageSize || offset >= total {
			break
		}
	}
	links, err := b.ListSignupTokens(ctx, actor)
	if err != nil {
		return nil, err
	}
	for _, t := range links {
		n["signup-link:"+strconv.FormatUint(t.ID, 10)] = t.Name
	}
	keys, err := b.ListAPIKeys(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		n["api-key:"+strconv.FormatUint(k.ID, 10)] = k.Name
	}
	orgs, err := b.ListOrganizations(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range orgs {
		n["organization:"+o.ID] = o.Name
	}
	return n, nil
}

// learn adds the names events carry in their data (an email, a name),
// for objects not named yet: those deleted since, and invitations.
func (n names) learn(events []db.Event) {
	for _, e := range events {
		k := e.ObjectType + ":" + e.ObjectID
		if _, ok := n[k]; ok {
			continue
		}
		if v, ok := e.Data["email"].(string); ok && v != "" {
			n[k] = v
		} else if v, ok := e.Data["name"].(string); ok && v != "" && e.ObjectType != "user" {
			n[k] = v
		}
		if id, ok := e.Data["userId"]; ok {
			if email, ok := e.Data["email"].(string); ok {
				uk := "user:" + fmt.Sprint(id)
				if _, known := n[uk]; !known {
					n[uk] = email
				}
			}
		}
	}
}

// object names an event's object as a person would: `user
// ada@example.com`, `signup link "Team"`; the bare id when nothing is
// known of it.
func (n names) object(typ, id string) string {
	name, ok := n[typ+":"+id]
	switch typ {
	case "user":
		if ok {
			return "user " + name
		}
	case "invitation":
		if ok {
			return "invitation of " + name
		}
	case "signup-link":
		if ok {
			return fmt.Sprintf("signup link %q", name)
		}
	case "api-key":
		if ok {
			return fmt.Sprintf("API key %q", name)
		}
	case "organization":
		if ok {
			return fmt.Sprintf("organization %q", name)
		}
	}
	return strings.ReplaceAll(typ, "-", " ") + " " + id
}

// actorName renders who made a change, as recorded in events and
// createdBy fields ("apikey:ci-bot", "tui:root", "ada"), for people.
func actorName(s string) string {
	kind, name, ok := strings.Cut(s, ":")
	if !ok {
		return s
	}
	switch kind {
	case "system":
		return "the system"
	case "apikey":
		return fmt.Sprintf("API key %q", name)
	case "tui":
		return name + " (TUI)"
	case "signup-link":
		return fmt.Sprintf("signup link %q", name)
	case "invitation":
		return "invitation " + name
	}
	return s
}

// eventData renders an event's data as sorted key=value pairs.
func eventData(e db.Event) string {
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, e.Data[k])
	}
	return strings.Join(parts, " ")
}

func (s *auditScreen) key(k tea.KeyMsg) tea.Cmd {
	if ok, cmd := s.listKey(k, s.detailText); ok {
		return cmd
	}
	keys := s.app.keys
	switch {
	case key.Matches(k, keys.Type):
		s.app.push(s.typePicker())
	case key.Matches(k, keys.Older):
		if !s.list.turnPage(1) {
			s.app.setInfo("These are the oldest events.")
		}
	case key.Matches(k, keys.Newer):
		if !s.list.turnPage(-1) {
			s.app.setInfo("These are the newest events.")
		}
	}
	return nil
}

// typePicker lets the admin pick the event type to show from the list
// of all of them.
func (s *auditScreen) typePicker() *picker {
	options := append([]string{"all types"}, db.EventTypes...)
	current := 0
	for i, t := range db.EventTypes {
		if t == s.typ {
			current = i + 1
		}
	}
	return &picker{app: s.app, title: "Show events of type", options: options, cursor: current,
		pick: func(i int) tea.Cmd {
			typ := ""
			if i > 0 {
				typ = db.EventTypes[i-1]
			}
			if typ == s.typ {
				return nil
			}
			s.typ = typ
			s.list.page = 0
			s.list.table.SetCursor(0)
			return s.load()
		}}
}

func (s *auditScreen) detailText() string {
	e, ok := s.selected()
	if !ok {
		return ""
	}
	lines := []resultLine{
		{label: "Event", value: strconv.FormatUint(e.ID, 10)},
		{label: "Type", value: e.Type},
		{label: "Time", value: fmtFull(e.CreatedAt, s.app.now())},
		{label: "By", value: actorName(e.CreatedBy)},
		{label: "Object", value: s.names.object(e.ObjectType, e.ObjectID)},
		{},
	}
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := fmt.Sprint(e.Data[k])
		if k == "userId" {
			v = s.names.object("user", v)
		}
		lines = append(lines, resultLine{label: k, value: v})
	}
	return renderLines(s.app.styles, lines, s.list.w-1)
}

func (s *auditScreen) view(w, h int) string {
	typ := s.typ
	if typ == "" {
		typ = "all types"
	}
	l := s.list
	info := s.infoLine(len(s.items), "event", "events", func() string {
		e, _ := s.selected()
		return "Event " + strconv.FormatUint(e.ID, 10) + ": " + e.Type
	})
	if !l.detail && !l.filtering && s.loaded {
		from, to := l.pageRange()
		page := "no events"
		if len(l.matched) > 0 {
			page = fmt.Sprintf("%d–%d of %d, newest first", from+1, to, len(l.matched))
		}
		if l.filterText() != "" {
			page = fmt.Sprintf("%s of %s match %q (esc clears) · page %d of %d", itoa(len(l.matched)), plural(len(s.items), "event", "events"), l.filterText(), l.page+1, l.pages())
		}
		info = s.app.styles.Info.Render(page + " · " + typ)
	}
	return s.base.view(info, w, h)
}

func (s *auditScreen) help() helpKeys {
	k := s.app.keys
	return s.listHelp(k.Type, k.Older, k.Newer)
}
