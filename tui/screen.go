package tui

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"invited/db"
)

// base is what every screen has: the shared app, its list, and the state
// of its loads. Each load gets a sequence number; only the answer to the
// latest is used, so an answer that was overtaken by a change never shows
// stale data.
type base struct {
	app     *app
	list    *list
	seq     int
	loading bool
	loaded  bool
	loadErr string
	// selectNext is the id to select once the next load arrives (a
	// record just created).
	selectNext string
}

func (b *base) lst() *list   { return b.list }
func (b *base) busy() bool   { return b.loading }
func (b *base) nextSeq() int { b.seq++; b.loading = true; return b.seq }

// accept reports whether a loaded message answers the latest load, and
// records its error.
func (b *base) accept(seq int, err error, what string) bool {
	if seq != b.seq {
		return false
	}
	b.loading = false
	if err != nil {
		b.loadErr = errText("Could not load "+what, err)
		b.app.setError(b.loadErr)
		return false
	}
	if b.loadErr != "" && b.app.status == b.loadErr {
		b.app.setInfo("")
	}
	b.loadErr = ""
	b.loaded = true
	return true
}

// show puts new rows in the table and re-renders an open detail view.
func (b *base) show(rows []row, detail func() string) {
	b.list.setRows(rows)
	if b.selectNext != "" {
		b.list.selectID(b.selectNext)
		b.selectNext = ""
	}
	if b.list.detail {
		if b.list.selectedID() == "" {
			b.list.detail = false
		} else {
			b.list.refreshDetail(detail())
		}
	}
}

// listKey handles the keys every list has: moving, filtering, details and
// going back. It reports whether it used the key.
func (b *base) listKey(k tea.KeyMsg, detail func() string) (bool, tea.Cmd) {
	keys := b.app.keys
	l := b.list
	switch {
	case key.Matches(k, keys.Back):
		if l.detail {
			l.detail = false
		} else if l.filterText() != "" {
			l.clearFilter()
		}
		return true, nil
	case key.Matches(k, keys.Filter) && !l.detail:
		l.startFilter()
		return true, nil
	case key.Matches(k, keys.Details) && !l.detail:
		if l.selectedID() != "" {
			l.openDetail(detail())
		}
		return true, nil
	case key.Matches(k, keys.Up), key.Matches(k, keys.Down), key.Matches(k, keys.PageUp),
		key.Matches(k, keys.PageDown), key.Matches(k, keys.Top), key.Matches(k, keys.Bottom):
		l.navigate(k)
		return true, nil
	}
	return false, nil
}

// infoLine renders the line above the table: the count, the filter, or
// the title of the detail view.
func (b *base) infoLine(count int, noun, nouns string, detailTitle func() string) string {
	s := b.app.styles
	l := b.list
	if l.detail {
		return s.Title.Render(detailTitle()) + s.Info.Render("  (esc back)")
	}
	if l.filtering {
		return l.filter.View()
	}
	var parts []string
	switch {
	case !b.loaded && b.loadErr == "":
		parts = append(parts, "loading…")
	case l.filterText() != "":
		parts = append(parts, plural(len(l.matched), noun, nouns)+" of "+itoa(count)+` match "`+l.filterText()+`" (esc clears)`)
	default:
		parts = append(parts, plural(count, noun, nouns))
	}
	return s.Info.Render(strings.Join(parts, " · "))
}

// listHelp builds a screen's help from its action keys.
func (b *base) listHelp(actions ...key.Binding) helpKeys {
	k := b.app.keys
	if b.list.detail {
		short := append(append([]key.Binding{}, actions...), withHelp(k.Back, "back"))
		return helpKeys{short: short, full: [][]key.Binding{
			actions,
			{k.Up, k.Down, k.PageUp, k.PageDown, withHelp(k.Back, "back")},
		}}
	}
	short := append(append([]key.Binding{}, actions...), k.Details, k.Filter)
	return helpKeys{short: short, full: [][]key.Binding{
		actions,
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Details, k.Filter, k.Back},
	}}
}

// view renders the info line above the list.
func (b *base) view(info string, w, h int) string {
	return info + "\n" + b.list.view()
}

// checks gathers local validation errors into one *db.Error, as the
// backend would answer.
type checks struct{ details []db.FieldError }

func (c *checks) add(err error) {
	if err == nil {
		return
	}
	var e *db.Error
	if errors.As(err, &e) && len(e.Details) > 0 {
		c.details = append(c.details, e.Details...)
		return
	}
	c.details = append(c.details, db.FieldError{Message: db.ErrorMessage(err)})
}

func (c *checks) fail(path, msg string) {
	c.details = append(c.details, db.FieldError{Path: path, Message: msg})
}

func (c *checks) err() error {
	if len(c.details) == 0 {
		return nil
	}
	parts := make([]string, len(c.details))
	for i, d := range c.details {
		parts[i] = d.Path + ": " + d.Message
	}
	return &db.Error{Code: db.EINVALID, Message: strings.Join(parts, "; "), Details: c.details}
}

// loadedMsg carries what a screen's fetch read to that screen's list.
type loadedMsg struct {
	to   *list
	seq  int
	data any // a loaded[T]
	err  error
}

// loaded is what a fetch read: the records, and anything else the screen
// shows about them (extra).
type loaded[T any] struct {
	items []T
	extra any
}

// records is the list component of a screen of T's: it fetches them,
// renders each as a row, filters and pages them (through its list), and
// finds the selected one. A screen gives it what it fetches and how a
// record reads, and keeps only its own keys, forms and details.
type records[T any] struct {
	base
	items []T
	// what names the records in errors: "signup links".
	what string
	// fetch is the screen's one place of backend reads: the records, and
	// in extra anything else it shows. It runs in a tea.Cmd.
	fetch func(ctx context.Context, b Backend, actor db.Actor) (items []T, extra any, err error)
	// row renders a record at the time now.
	row func(item T, now time.Time) row
	// took, when set, sees each load before its rows are made.
	took func(items []T, extra any)
	// detail renders the selected record's detail view.
	detail func() string
}

// load fetches the records in a tea.Cmd.
func (r *records[T]) load() tea.Cmd {
	seq := r.nextSeq()
	b, actor, fetch, to := r.app.backend, r.app.actor, r.fetch, r.list
	return func() tea.Msg {
		var d loaded[T]
		_, err := protect(func(ctx context.Context) (any, error) {
			var err error
			d.items, d.extra, err = fetch(ctx, b, actor)
			return nil, err
		})
		return loadedMsg{to: to, seq: seq, data: d, err: err}
	}
}

// receive shows the answer to the latest load.
func (r *records[T]) receive(msg tea.Msg) tea.Cmd {
	m, ok := msg.(loadedMsg)
	if !ok || m.to != r.list || !r.accept(m.seq, m.err, r.what) {
		return nil
	}
	d, _ := m.data.(loaded[T])
	r.items = d.items
	if r.took != nil {
		r.took(d.items, d.extra)
	}
	now := r.app.now()
	rows := make([]row, len(d.items))
	for i, it := range d.items {
		rows[i] = r.row(it, now)
	}
	r.show(rows, r.detail)
	return nil
}

// selected is the selected record. Rows and records are in the same
// order, so the row's place is the record's.
func (r *records[T]) selected() (T, bool) {
	var zero T
	id := r.list.selectedID()
	if id == "" {
		return zero, false
	}
	for i, rw := range r.list.all {
		if rw.id == id && i < len(r.items) {
			return r.items[i], true
		}
	}
	return zero, false
}

// listAllInvitations reads every invitation in state ("" for all) the
// actor may see, a page at a time, up to maxRecords.
func listAllInvitations(ctx context.Context, b Backend, actor db.Actor, state string) ([]db.Invitation, error) {
	var all []db.Invitation
	var after uint64
	for len(all) < maxRecords {
		page, next, err := b.ListInvitations(ctx, actor, state, after, pageSize)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == 0 {
			break
		}
		after = next
	}
	return all, nil
}

// roleIndex is the index of r in roles, or of the last (least powerful)
// role.
func roleIndex(roles []db.Role, r db.Role) int {
	for i, x := range roles {
		if x == r {
			return i
		}
	}
	return len(roles) - 1
}

// roleByName reads back a role choice.
func roleByName(name string) db.Role {
	r, _ := db.ParseRole(name)
	return r
}
