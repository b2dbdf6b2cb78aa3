package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/table"
	"github.com/charmbracelet/bubbles/textinput"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
)

// column describes a table column: a fixed width, or flex > 0 to share
// what is left (at least min).
type column struct {
	title string
	width int
	flex  int
	min   int
}

// row is one record in a table: its id (to keep the selection across
// refreshes), its cells, and extra text the filter also searches.
type row struct {
	id     string
	cells  []string
	search string
}

// list is the part every screen shares: a table of records that scrolls,
// a filter ("/" then type; esc clears), and a detail view of the selected
// record (enter; esc goes back).
type list struct {
	app  *app
	cols []column
	all  []row
	// matched are the rows the filter keeps, across every page; shown
	// are those of the current page, which the table holds.
	matched   []row
	shown     []row
	perPage   int // rows a page; 0: one page of everything
	page      int
	table     table.Model
	filter    textinput.Model
	filtering bool
	detail    bool
	vp        viewport.Model
	w, h      int
	// emptyText is what an empty list says ("" for "Nothing here yet.").
	emptyText string
}

func newList(a *app, cols []column) *list {
	l := &list{app: a, cols: cols}
	l.table = table.New(
		table.WithKeyMap(a.keys.tableKeyMap()),
		table.WithStyles(a.styles.tableStyles()),
		table.WithFocused(true),
	)
	l.filter = textinput.New()
	l.filter.Prompt = "/"
	l.filter.CharLimit = 100
	l.filter.Cursor.SetMode(cursor.CursorStatic)
	l.filter.Cursor.Style = a.styles.Cursor
	l.filter.Cursor.TextStyle = a.styles.Value
	l.filter.PromptStyle = a.styles.Focused
	l.filter.TextStyle = a.styles.Value
	l.filter.PlaceholderStyle = a.styles.Faint
	l.vp = viewport.New(0, 0)
	l.vp.KeyMap = viewport.KeyMap{
		Up: a.keys.Up, Down: a.keys.Down, PageUp: a.keys.PageUp, PageDown: a.keys.PageDown,
		HalfPageUp: key.NewBinding(key.WithDisabled()), HalfPageDown: key.NewBinding(key.WithDisabled()),
		Left: key.NewBinding(key.WithDisabled()), Right: key.NewBinding(key.WithDisabled()),
	}
	return l
}

// setSize gives the table w×h, its header row included.
func (l *list) setSize(w, h int) {
	l.w, l.h = w, max(h, 2)
	cols := make([]table.Column, len(l.cols))
	fixed, flex := 0, 0
	for _, c := range l.cols {
		fixed += c.width + 2 // cells are padded by one space each side
		if c.flex > 0 {
			flex += c.flex
			fixed -= c.width
		}
	}
	left := max(0, w-fixed)
	first := -1
	for i, c := range l.cols {
		width := c.width
		if c.flex > 0 {
			width = max(c.min, left*c.flex/flex)
			if first < 0 {
				first = i
			}
		}
		cols[i] = table.Column{Title: strings.ToUpper(c.title), Width: width}
	}
	// What integer division left over goes to the first flexible column.
	if first >= 0 {
		used := 0
		for _, c := range cols {
			used += c.Width + 2
		}
		if w > used {
			cols[first].Width += w - used
		}
	}
	l.table.SetColumns(cols)
	l.table.SetWidth(w)
	l.table.SetHeight(l.h)
	l.vp.Width, l.vp.Height = w, l.h
}

// setRows replaces the records, keeping the selection on the same record
// when it is still there.
func (l *list) setRows(rows []row) {
	l.all = rows
	l.applyFilter()
}

// applyFilter keeps the rows that match the filter, from every page, and
// shows the current page of them.
func (l *list) applyFilter() {
	keep := l.selectedID()
	q := strings.ToLower(strings.TrimSpace(l.filter.Value()))
	l.matched = l.matched[:0:0]
	for _, r := range l.all {
		if q == "" || strings.Contains(strings.ToLower(strings.Join(r.cells, " ")+" "+r.search), q) {
			l.matched = append(l.matched, r)
		}
	}
	// The page that holds the selected record, when the filter keeps it.
	page := min(l.page, max(0, l.pages()-1))
	for i, r := range l.matched {
		if r.id == keep && l.perPage > 0 {
			page = i / l.perPage
		}
	}
	turned := page != l.page
	l.page = page
	l.showPage(keep, turned)
}

// pages is how many pages the matching rows fill (at least 1).
func (l *list) pages() int {
	if l.perPage <= 0 || len(l.matched) == 0 {
		return 1
	}
	return (len(l.matched) + l.perPage - 1) / l.perPage
}

// pageRange is the index of the first matching row of the current page
// and the one after its last.
func (l *list) pageRange() (int, int) {
	if l.perPage <= 0 {
		return 0, len(l.matched)
	}
	from := min(l.page*l.perPage, len(l.matched))
	return from, min(from+l.perPage, len(l.matched))
}

// turnPage moves by delta pages; it reports false when there is no such
// page.
func (l *list) turnPage(delta int) bool {
	next := l.page + delta
	if next < 0 || next >= l.pages() {
		return false
	}
	l.page = next
	l.showPage("")
	l.table.SetCursor(0)
	return true
}

// showPage puts the current page in the table, keeping the selection on
// record keep when it is there. With reveal, the table scrolls to it.
func (l *list) showPage(keep string, reveal ...bool) {
	from, to := l.pageRange()
	l.shown = l.matched[from:to]
	rows := make([]table.Row, len(l.shown))
	cursor := 0
	for i, r := range l.shown {
		rows[i] = r.cells
		if r.id == keep {
			cursor = i
		}
	}
	// Only rows that fit the current columns: SetRows renders them.
	l.table.SetRows(rows)
	if len(rows) == 0 {
		return
	}
	if len(reveal) > 0 && reveal[0] {
		// The table's SetCursor does not scroll; moving down from the top
		// does, as the down key would.
		l.table.SetCursor(0)
		l.table.GotoTop()
		l.table.MoveDown(cursor)
		return
	}
	l.table.SetCursor(cursor)
}

// selectedID is the id of the selected record, or "".
func (l *list) selectedID() string {
	i := l.table.Cursor()
	if i < 0 || i >= len(l.shown) {
		return ""
	}
	return l.shown[i].id
}

// selectID moves the selection to the record id, turning to its page,
// when the filter keeps it.
func (l *list) selectID(id string) {
	for i, r := range l.matched {
		if r.id == id {
			if l.perPage > 0 {
				l.page = i / l.perPage
			}
			l.showPage(id, true)
			return
		}
	}
}

// filterText is the filter as typed.
func (l *list) filterText() string { return strings.TrimSpace(l.filter.Value()) }

// startFilter focuses the filter input.
func (l *list) startFilter() {
	l.filtering = true
	l.filter.Focus()
}

// clearFilter empties the filter.
func (l *list) clearFilter() {
	l.filter.SetValue("")
	l.filtering = false
	l.filter.Blur()
	l.applyFilter()
}

// updateFilter handles keys while the filter is being typed: enter keeps
// it, esc clears it, anything else edits it.
func (l *list) updateFilter(k tea.KeyMsg) tea.Cmd {
	switch k.String() {
	case "enter", "down", "up":
		l.filtering = false
		l.filter.Blur()
		if k.String() != "enter" {
			l.table, _ = l.table.Update(k)
		}
		return nil
	case "esc":
		l.clearFilter()
		return nil
	}
	var cmd tea.Cmd
	l.filter, cmd = l.filter.Update(k)
	l.applyFilter()
	return cmd
}

// openDetail shows text in the detail view.
func (l *list) openDetail(text string) {
	l.detail = true
	l.vp.SetContent(text)
	l.vp.GotoTop()
}

// refreshDetail re-renders an open detail view after a refresh.
func (l *list) refreshDetail(text string) {
	if l.detail {
		l.vp.SetContent(text)
	}
}

// navigate moves the table (or scrolls the detail view).
func (l *list) navigate(k tea.KeyMsg) {
	if l.detail {
		l.vp, _ = l.vp.Update(k)
		return
	}
	l.table, _ = l.table.Update(k)
}

func (l *list) view() string {
	if l.detail {
		return l.vp.View()
	}
	if len(l.shown) == 0 {
		msg := "Nothing here yet."
		if l.emptyText != "" {
			msg = l.emptyText
		}
		if l.filterText() != "" {
			msg = "Nothing matches the filter; esc clears it."
		}
		header, _, _ := strings.Cut(l.table.View(), "\n")
		return header + "\n" + l.app.styles.Faint.Render(" "+msg)
	}
	return l.table.View()
}
