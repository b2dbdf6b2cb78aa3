package tui

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"invited/db"
)

// auditPage is how many events one page of the audit log holds.
const auditPage = 100

// auditScreen browses the audit log, newest first, a page at a time,
// optionally only one event type.
type auditScreen struct {
	base
	events []db.Event
	total  int
	offset int
	typ    int // index into auditTypes
}

// auditTypes are the type filters t cycles through: all, then each type.
var auditTypes = append([]string{""}, db.EventTypes...)

type auditLoadedMsg struct {
	seq    int
	events []db.Event
	total  int
	err    error
}

func newAuditScreen(a *app) *auditScreen {
	s := &auditScreen{}
	s.app = a
	s.list = newList(a, []column{
		{title: "Time", width: 16},
		{title: "Type", width: 22},
		{title: "By", flex: 1, min: 8},
		{title: "Object", flex: 1, min: 8},
	})
	return s
}

func (s *auditScreen) name() string    { return "Audit log" }
func (s *auditScreen) tabName() string { return "Audit" }

func (s *auditScreen) load() tea.Cmd {
	seq := s.nextSeq()
	b := s.app.backend
	typ, offset := auditTypes[s.typ], s.offset
	return func() tea.Msg {
		msg := auditLoadedMsg{seq: seq}
		_, msg.err = protect(func(ctx context.Context) (any, error) {
			var err error
			msg.events, msg.total, err = b.ListEvents(ctx, typ, offset, auditPage)
			return nil, err
		})
		return msg
	}
}

func (s *auditScreen) receive(msg tea.Msg) tea.Cmd {
	m, ok := msg.(auditLoadedMsg)
	if !ok || !s.accept(m.seq, m.err, "the audit log") {
		return nil
	}
	s.events, s.total = m.events, m.total
	rows := make([]row, len(m.events))
	for i, e := range m.events {
		rows[i] = row{
			id:     strconv.FormatUint(e.ID, 10),
			cells:  []string{fmtTime(e.CreatedAt), e.Type, e.CreatedBy, e.ObjectType + " " + e.ObjectID},
			search: eventData(e),
		}
	}
	s.show(rows, s.detailText)
	return nil
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

func (s *auditScreen) selected() (db.Event, bool) {
	id := s.list.selectedID()
	for _, e := range s.events {
		if strconv.FormatUint(e.ID, 10) == id {
			return e, true
		}
	}
	return db.Event{}, false
}

func (s *auditScreen) key(k tea.KeyMsg) tea.Cmd {
	if ok, cmd := s.listKey(k, s.detailText); ok {
		return cmd
	}
	keys := s.app.keys
	switch {
	case key.Matches(k, keys.Type):
		s.typ = (s.typ + 1) % len(auditTypes)
		s.offset = 0
		return s.load()
	case key.Matches(k, keys.TypeBk):
		s.typ = (s.typ + len(auditTypes) - 1) % len(auditTypes)
		s.offset = 0
		return s.load()
	case key.Matches(k, keys.Older):
		if s.offset+auditPage >= s.total {
			s.app.setInfo("These are the oldest events.")
			return nil
		}
		s.offset += auditPage
		s.list.table.SetCursor(0)
		return s.load()
	case key.Matches(k, keys.Newer):
		if s.offset == 0 {
			s.app.setInfo("These are the newest events.")
			return nil
		}
		s.offset = max(0, s.offset-auditPage)
		s.list.table.SetCursor(0)
		return s.load()
	}
	return nil
}

func (s *auditScreen) detailText() string {
	e, ok := s.selected()
	if !ok {
		return ""
	}
	lines := []resultLine{
		{label: "Event", value: strconv.FormatUint(e.ID, 10)},
		{label: "Type", value: e.Type},
		{label: "Time", value: fmtFull(e.CreatedAt)},
		{label: "By", value: e.CreatedBy},
		{label: "Object", value: e.ObjectType + " " + e.ObjectID},
		{},
	}
	keys := make([]string, 0, len(e.Data))
	for k := range e.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lines = append(lines, resultLine{label: k, value: fmt.Sprint(e.Data[k])})
	}
	return renderLines(s.app.styles, lines, s.list.w-1)
}

func (s *auditScreen) view(w, h int) string {
	typ := auditTypes[s.typ]
	if typ == "" {
		typ = "all types"
	}
	page := "no events"
	if len(s.events) > 0 {
		page = fmt.Sprintf("%d–%d of %d, newest first", s.offset+1, s.offset+len(s.events), s.total)
	}
	info := s.infoLine(len(s.events), "event", "events", func() string {
		e, _ := s.selected()
		return "Event " + strconv.FormatUint(e.ID, 10) + ": " + e.Type
	})
	if !s.list.detail && !s.list.filtering && s.list.filterText() == "" && s.loaded {
		info = s.app.styles.Info.Render(page + " · " + typ)
	}
	return s.base.view(info, w, h)
}

func (s *auditScreen) help() helpKeys {
	k := s.app.keys
	return s.listHelp(k.Type, k.Older, k.Newer)
}
