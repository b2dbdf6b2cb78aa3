package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/mdp/qrterminal/v3"
)

// overlay is what covers a screen for a while: a form, a confirmation, a
// result box or a QR code. The root model keeps them on a stack; esc
// closes the top one.
type overlay interface {
	// update handles a message while the overlay is on top; closed
	// removes it.
	update(msg tea.Msg) (closed bool, cmd tea.Cmd)
	view(w, h int) string
	help() helpKeys
}

// confirm asks y/n before a destructive action.
type confirm struct {
	app    *app
	prompt string
	onYes  tea.Cmd
}

func (c *confirm) update(msg tea.Msg) (bool, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return false, nil
	}
	switch {
	case key.Matches(k, c.app.keys.Yes):
		return true, c.onYes
	case key.Matches(k, c.app.keys.No):
		c.app.setInfo("Nothing changed.")
		return true, nil
	}
	return false, nil
}

func (c *confirm) view(w, h int) string {
	s := c.app.styles
	inner := max(20, min(w-6, 70))
	lines := wrap(c.prompt, inner)
	body := s.Title.Render("Are you sure?") + "\n\n" + strings.Join(lines, "\n") +
		"\n\n" + s.Focused.Render("y") + " yes    " + s.Focused.Render("n") + " no"
	return center(s.Box.Render(body), w, h)
}

func (c *confirm) help() helpKeys {
	k := c.app.keys
	return helpKeys{short: []key.Binding{k.Yes, k.No}, full: [][]key.Binding{{k.Yes, k.No}}}
}

// resultLine is one labelled value of a result box or detail view.
type resultLine struct {
	label        string
	value        string
	wrapAnywhere bool // a URL or secret: break it at the edge, not at words
	secret       bool
}

// result shows what an action made, such as a new API key or an
// invitation link, which exist only in this answer. It can copy one value
// and show it as a QR code.
type result struct {
	app      *app
	title    string
	note     string
	lines    []resultLine
	copyText string // what c copies; empty: nothing
	copyWhat string
	qrText   string // what Q shows; empty: nothing
}

func (r *result) update(msg tea.Msg) (bool, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return false, nil
	}
	keys := r.app.keys
	switch {
	case key.Matches(k, keys.Close):
		return true, nil
	case key.Matches(k, keys.Copy) && r.copyText != "":
		return false, r.app.copy(r.copyWhat, r.copyText)
	case key.Matches(k, keys.QR) && r.qrText != "":
		r.app.setInfo("")
		r.app.push(&qrView{app: r.app, title: r.title, text: r.qrText})
	}
	return false, nil
}

func (r *result) view(w, h int) string {
	s := r.app.styles
	inner := max(20, w-4)
	var b strings.Builder
	b.WriteString(s.Title.Render(r.title) + "\n")
	if r.note != "" {
		for _, l := range wrap(r.note, inner) {
			b.WriteString(l + "\n")
		}
	}
	// Secrets and links go below the box, on lines of their own with
	// nothing beside them, so that a mouse selection copies them whole
	// and without border characters.
	var inside, outside []resultLine
	for _, l := range r.lines {
		if l.secret {
			outside = append(outside, l)
		} else {
			inside = append(inside, l)
		}
	}
	b.WriteString(renderLines(s, inside, inner))
	var acts []string
	if r.copyText != "" {
		acts = append(acts, s.Focused.Render("c")+" copy "+r.copyWhat)
	}
	if r.qrText != "" {
		acts = append(acts, s.Focused.Render("Q")+" QR code")
	}
	acts = append(acts, s.Focused.Render("esc")+" close")
	b.WriteString("\n" + strings.Join(acts, "   "))
	box := s.Box.Width(w - 2).Render(b.String())
	for _, l := range outside {
		box += "\n" + s.Label.Render(l.label+":") + "\n" + s.Secret.Render(ansi.Hardwrap(l.value, w, false))
	}
	return box
}

func (r *result) help() helpKeys {
	k := r.app.keys
	short := []key.Binding{}
	if r.copyText != "" {
		short = append(short, withHelp(k.Copy, "copy "+r.copyWhat))
	}
	if r.qrText != "" {
		short = append(short, k.QR)
	}
	short = append(short, k.Close)
	return helpKeys{short: short, full: [][]key.Binding{short}}
}

// renderLines renders labelled values: short ones beside their label,
// long ones (URLs, secrets) on lines of their own so that they can be
// selected by hand.
func renderLines(s Styles, lines []resultLine, w int) string {
	var b strings.Builder
	const lw = 16
	for _, l := range lines {
		if l.label == "" && l.value == "" {
			b.WriteString("\n")
			continue
		}
		vs := s.Value
		if l.secret {
			vs = s.Secret
		}
		label := s.Label.Render(padRight(l.label, lw))
		if l.label == "" {
			label = ""
		}
		avail := w - lw - 1
		if l.label == "" {
			avail = w
		}
		if ansi.StringWidth(l.value) <= avail {
			if l.label == "" {
				b.WriteString(vs.Render(l.value) + "\n")
			} else {
				b.WriteString(label + " " + vs.Render(l.value) + "\n")
			}
			continue
		}
		if l.label != "" {
			b.WriteString(s.Label.Render(l.label) + "\n")
		}
		var parts []string
		if l.wrapAnywhere {
			parts = strings.Split(ansi.Hardwrap(l.value, w, false), "\n")
		} else {
			parts = wrap(l.value, w)
		}
		for _, p := range parts {
			b.WriteString(vs.Render(p) + "\n")
		}
	}
	return b.String()
}

// qrView shows text as a QR code drawn with half blocks, so that a
// 33-module code takes 18 lines and fits an 80×24 terminal.
type qrView struct {
	app   *app
	title string
	text  string
}

func (q *qrView) update(msg tea.Msg) (bool, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return false, nil
	}
	keys := q.app.keys
	switch {
	case key.Matches(k, keys.Close), key.Matches(k, keys.QR):
		return true, nil
	case key.Matches(k, keys.Copy):
		return false, q.app.copy("URL", q.text)
	}
	return false, nil
}

func (q *qrView) view(w, h int) string {
	s := q.app.styles
	code := qrString(q.text)
	cw, ch := lipgloss.Width(code), lipgloss.Height(code)
	if cw > w || ch > h {
		msg := fmt.Sprintf("The QR code needs %d×%d characters, but there are only %d×%d here: make the terminal larger.\n\n", cw, ch, w, h)
		return s.Title.Render("QR code: "+q.title) + "\n" + strings.Join(wrap(msg, w), "\n") + "\n" + ansi.Hardwrap(q.text, w, false)
	}
	side := w - cw - 2
	var right []string
	right = append(right, s.Title.Render(truncate(q.title, side)), "")
	right = append(right, strings.Split(ansi.Hardwrap(q.text, max(10, side), false), "\n")...)
	right = append(right, "", s.Faint.Render("Scan it with a phone"), s.Faint.Render("camera."))
	right = append(right, "", s.Focused.Render("c")+" copy   "+s.Focused.Render("esc")+" close")
	return lipgloss.JoinHorizontal(lipgloss.Top, s.QR.Render(code), "  ", strings.Join(right, "\n"))
}

func (q *qrView) help() helpKeys {
	k := q.app.keys
	short := []key.Binding{k.Copy, k.Close}
	return helpKeys{short: short, full: [][]key.Binding{short}}
}

// qrString draws text as a QR code in half blocks (two modules a line)
// with a one-module quiet zone.
func qrString(text string) string {
	var b strings.Builder
	qrterminal.GenerateWithConfig(text, qrterminal.Config{
		Level:          qrterminal.L,
		Writer:         &b,
		HalfBlocks:     true,
		BlackChar:      qrterminal.BLACK_BLACK,
		WhiteBlackChar: qrterminal.WHITE_BLACK,
		WhiteChar:      qrterminal.WHITE_WHITE,
		BlackWhiteChar: qrterminal.BLACK_WHITE,
		QuietZone:      1,
	})
	return strings.TrimRight(b.String(), "\n")
}

// center places a block in the middle of w×h.
func center(block string, w, h int) string {
	return lipgloss.Place(w, h, lipgloss.Center, lipgloss.Center, block)
}

// picker lets the admin pick one of a list of options: ↑/↓ move, enter
// picks, esc cancels. It scrolls when the options do not fit.
type picker struct {
	app     *app
	title   string
	options []string
	cursor  int
	pick    func(i int) tea.Cmd
}

func (p *picker) update(msg tea.Msg) (bool, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return false, nil
	}
	keys := p.app.keys
	switch {
	case key.Matches(k, keys.Up):
		p.cursor = max(0, p.cursor-1)
	case key.Matches(k, keys.Down):
		p.cursor = min(len(p.options)-1, p.cursor+1)
	case key.Matches(k, keys.Top):
		p.cursor = 0
	case key.Matches(k, keys.Bottom):
		p.cursor = len(p.options) - 1
	case key.Matches(k, keys.Enter):
		return true, p.pick(p.cursor)
	case key.Matches(k, keys.Cancel):
		return true, nil
	}
	return false, nil
}

func (p *picker) view(w, h int) string {
	s := p.app.styles
	// Box border and padding, the title and a blank line take 6 lines.
	rows := max(1, min(len(p.options), h-6))
	first := min(max(0, p.cursor-rows/2), len(p.options)-rows)
	var b strings.Builder
	b.WriteString(s.Title.Render(p.title) + "\n\n")
	for i := first; i < first+rows; i++ {
		line := "  " + p.options[i]
		if i == p.cursor {
			line = s.Focused.Render("> " + p.options[i])
		}
		b.WriteString(line)
		if i < first+rows-1 {
			b.WriteString("\n")
		}
	}
	return center(s.Box.Render(b.String()), w, h)
}

func (p *picker) help() helpKeys {
	k := p.app.keys
	short := []key.Binding{k.Up, k.Down, withHelp(k.Enter, "pick"), k.Cancel}
	return helpKeys{short: short, full: [][]key.Binding{short}}
}
