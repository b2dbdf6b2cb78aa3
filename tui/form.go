package tui

import (
	"context"
	"errors"
	"strings"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textarea"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"invited/db"
)

// field is one input of a form: a line of text, or a choice among a few
// values.
type field struct {
	label string
	// paths are the request fields (db.FieldError.Path) this input
	// answers for; "allowedDomains" also claims "allowedDomains[2]".
	paths   []string
	hint    string
	input   textinput.Model
	choices []string // a choice field when not nil
	choice  int
	// area, when not nil, makes the field a text of many lines (a pasted
	// list): enter and the arrows edit it, tab leaves it.
	area *textarea.Model
	err  string
	// hidden, when set, hides the field while it reports true, such as
	// the fields of the other kind of app; a hidden field is skipped and
	// its value is not sent.
	hidden func() bool
}

func (f *field) shown() bool { return f.hidden == nil || !f.hidden() }

// value is what the field holds: its text, or the chosen value.
func (f *field) value() string {
	if f.choices != nil {
		if f.choice < len(f.choices) {
			return f.choices[f.choice]
		}
		return ""
	}
	if f.area != nil {
		return f.area.Value()
	}
	return f.input.Value()
}

func (f *field) claims(path string) bool {
	for _, p := range f.paths {
		if path == p || strings.HasPrefix(path, p+"[") || strings.HasPrefix(path, p+".") {
			return true
		}
	}
	return false
}

// submitFunc checks a form's values and returns the backend call that
// carries them out, or an error (an *db.Error with Details marks fields).
type submitFunc func(f *form) (call func(ctx context.Context) (any, error), err error)

// doneFunc runs in Update once a form's call succeeded, with its result.
type doneFunc func(res any) tea.Cmd

// form is a dialog of fields. Enter moves to the next field and submits on
// the last one; ctrl+s submits from anywhere; esc cancels.
type form struct {
	app     *app
	title   string
	intro   string
	fields  []*field
	focus   int
	submit  submitFunc
	done    doneFunc
	general string // an error that belongs to no field
	busy    bool
}

func newForm(a *app, title string, submit submitFunc, done doneFunc) *form {
	return &form{app: a, title: title, submit: submit, done: done}
}

// text adds a text input.
func (f *form) text(label, value, placeholder, hint string, paths ...string) *field {
	in := textinput.New()
	in.Prompt = ""
	in.SetValue(value)
	in.CursorEnd()
	in.Placeholder = placeholder
	in.CharLimit = 300
	in.Cursor.SetMode(cursor.CursorStatic)
	s := f.app.styles
	in.Cursor.Style = s.Cursor
	in.Cursor.TextStyle = s.Value
	in.TextStyle = s.Value
	in.PromptStyle = s.Value
	in.PlaceholderStyle = s.Faint
	in.CompletionStyle = s.Faint
	fl := &field{label: label, hint: hint, input: in, paths: paths}
	f.fields = append(f.fields, fl)
	f.focusField(f.focus)
	return fl
}

// area adds a text of many lines, height rows tall on the screen, holding
// at most maxLines lines of at most limit characters in all.
func (f *form) area(label, placeholder, hint string, height, maxLines, limit int, paths ...string) *field {
	ta := textarea.New()
	ta.Prompt = ""
	ta.ShowLineNumbers = true
	ta.Placeholder = placeholder
	ta.CharLimit = limit
	ta.MaxHeight = maxLines
	ta.SetHeight(height)
	s := f.app.styles
	ta.FocusedStyle.Text, ta.BlurredStyle.Text = s.Value, s.Value
	ta.FocusedStyle.Placeholder, ta.BlurredStyle.Placeholder = s.Faint, s.Faint
	ta.FocusedStyle.LineNumber, ta.BlurredStyle.LineNumber = s.Faint, s.Faint
	ta.FocusedStyle.CursorLine = lipgloss.NewStyle()
	ta.Cursor.SetMode(cursor.CursorStatic)
	ta.Cursor.Style = s.Cursor
	fl := &field{label: label, hint: hint, area: &ta, paths: paths}
	f.fields = append(f.fields, fl)
	f.focusField(f.focus)
	return fl
}

// choose adds a choice among values, the one at index chosen selected.
func (f *form) choose(label string, values []string, chosen int, hint string, paths ...string) *field {
	fl := &field{label: label, hint: hint, choices: values, choice: chosen, paths: paths}
	f.fields = append(f.fields, fl)
	return fl
}

// step returns the index of the next shown field in direction dir (1 or
// -1), wrapping around; the focused one when no other is shown.
func (f *form) step(dir int) int {
	n := len(f.fields)
	for i := 1; i < n; i++ {
		j := (f.focus + dir*i + n) % n
		if f.fields[j].shown() {
			return j
		}
	}
	return f.focus
}

func (f *form) focusField(i int) {
	f.focus = i
	for j, fl := range f.fields {
		if fl.choices != nil {
			continue
		}
		if fl.area != nil {
			if j == i {
				fl.area.Focus()
			} else {
				fl.area.Blur()
			}
			continue
		}
		if j == i {
			fl.input.Focus()
		} else {
			fl.input.Blur()
		}
	}
}

// showError puts a failed check or call on the form: details next to
// their fields, the rest above the fields and in the status line.
func (f *form) showError(err error) {
	for _, fl := range f.fields {
		fl.err = ""
	}
	f.general = ""
	var e *db.Error
	if !errors.As(err, &e) {
		f.general = db.ErrorMessage(err)
		f.app.setError(f.general)
		return
	}
	var rest []string
	first := -1
	for _, d := range e.Details {
		placed := false
		for i, fl := range f.fields {
			if d.Path != "" && fl.claims(d.Path) {
				msg := d.Message
				if d.Path != fl.paths[0] {
					msg = d.Path + ": " + msg
				}
				if fl.err != "" {
					fl.err += "; " + msg
				} else {
					fl.err = msg
				}
				if first < 0 {
					first = i
				}
				placed = true
				break
			}
		}
		if !placed {
			rest = append(rest, d.Message)
		}
	}
	switch {
	case first < 0:
		f.general = e.Message
		f.app.setError(e.Message)
	case len(rest) > 0:
		f.general = strings.Join(rest, "; ")
		f.app.setError(f.general)
		f.focusField(first)
	case e.Message == joinDetails(e.Details):
		// Our own checks: the marks say it all.
		f.app.setError("Please fix the marked fields.")
		f.focusField(first)
	default:
		f.app.setError(e.Message)
		f.focusField(first)
	}
}

// joinDetails renders details the way db and checks build a message
// from them.
func joinDetails(ds []db.FieldError) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = d.Path + ": " + d.Message
	}
	return strings.Join(parts, "; ")
}

func (f *form) update(msg tea.Msg) (closed bool, cmd tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok || f.busy {
		return false, nil
	}
	keys := f.app.keys
	cur := f.fields[f.focus]
	if cur.area != nil {
		// A text of many lines keeps enter and the arrows; tab and
		// shift+tab leave it, ctrl+s saves, esc cancels.
		switch {
		case key.Matches(k, keys.Cancel):
			f.app.setInfo("Cancelled.")
			return true, nil
		case key.Matches(k, keys.Submit):
			return false, f.send()
		case k.String() == "tab":
			f.focusField(f.step(1))
			return false, nil
		case k.String() == "shift+tab":
			f.focusField(f.step(-1))
			return false, nil
		}
		*cur.area, cmd = cur.area.Update(msg)
		return false, cmd
	}
	switch {
	case key.Matches(k, keys.Cancel):
		f.app.setInfo("Cancelled.")
		return true, nil
	case key.Matches(k, keys.Submit):
		return false, f.send()
	case key.Matches(k, keys.Enter):
		next := f.step(1)
		if next <= f.focus {
			return false, f.send()
		}
		f.focusField(next)
		return false, nil
	case key.Matches(k, keys.NextField):
		f.focusField(f.step(1))
		return false, nil
	case key.Matches(k, keys.PrevField):
		f.focusField(f.step(-1))
		return false, nil
	}
	if cur.choices != nil {
		switch k.String() {
		case "left", "h":
			cur.choice = (cur.choice + len(cur.choices) - 1) % len(cur.choices)
		case "right", "l", " ":
			cur.choice = (cur.choice + 1) % len(cur.choices)
		}
		return false, nil
	}
	cur.input, cmd = cur.input.Update(msg)
	return false, cmd
}

// send checks the form and starts its call.
func (f *form) send() tea.Cmd {
	call, err := f.submit(f)
	if err != nil {
		f.showError(err)
		return nil
	}
	for _, fl := range f.fields {
		fl.err = ""
	}
	f.general = ""
	f.busy = true
	f.app.setInfo("Saving…")
	return func() tea.Msg {
		res, err := protect(call)
		return formResultMsg{form: f, res: res, err: err}
	}
}

// formResultMsg is the answer to a form's call.
type formResultMsg struct {
	form *form
	res  any
	err  error
}

const labelWidth = 17

func (f *form) view(w, h int) string {
	s := f.app.styles
	var b strings.Builder
	b.WriteString(s.Title.Render(f.title) + "\n")
	if f.intro != "" {
		for _, l := range wrap(f.intro, w-2) {
			b.WriteString(s.Faint.Render(l) + "\n")
		}
	}
	if f.general != "" {
		for _, l := range wrap("! "+f.general, w-2) {
			b.WriteString(s.FieldError.Render(l) + "\n")
		}
	}
	b.WriteString("\n")
	inputW := max(10, w-labelWidth-3)
	for i, fl := range f.fields {
		if !fl.shown() {
			continue
		}
		focused := i == f.focus
		marker, ls := "  ", s.Label
		if focused {
			marker, ls = "> ", s.Focused
		}
		label := ls.Render(padRight(fl.label, labelWidth-2))
		var val string
		if fl.choices != nil {
			parts := make([]string, len(fl.choices))
			for j, c := range fl.choices {
				switch {
				case j == fl.choice && focused:
					parts[j] = s.ChosenFocus.Render("[" + c + "]")
				case j == fl.choice:
					parts[j] = s.Focused.Render("[" + c + "]")
				default:
					parts[j] = s.Choice.Render(" " + c + " ")
				}
			}
			val = strings.Join(parts, " ")
		} else if fl.area != nil {
			// The text goes below its label, the whole width.
			fl.area.SetWidth(max(20, w-4))
			val = "\n" + indentLines(fl.area.View(), "  ")
		} else {
			fl.input.Width = inputW - 1
			val = fl.input.View()
		}
		b.WriteString(marker + label + " " + val + "\n")
		indent := strings.Repeat(" ", labelWidth+1)
		switch {
		case fl.err != "":
			for _, l := range wrap("! "+fl.err, max(10, w-labelWidth-2)) {
				b.WriteString(indent + s.FieldError.Render(l) + "\n")
			}
		case focused && fl.hint != "":
			for _, l := range wrap(fl.hint, max(10, w-labelWidth-2)) {
				b.WriteString(indent + s.Faint.Render(l) + "\n")
			}
		}
	}
	if f.busy {
		b.WriteString("\n" + s.Faint.Render("Saving…"))
	}
	return lipgloss.NewStyle().PaddingLeft(1).Render(strings.TrimRight(b.String(), "\n"))
}

// indentLines puts prefix before every line of text.
func indentLines(text, prefix string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

func (f *form) help() helpKeys {
	k := f.app.keys
	short := []key.Binding{k.NextField, k.Enter, k.Submit, k.Cancel}
	if f.fields[f.focus].area != nil {
		tab := key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next field"))
		short = []key.Binding{tab, k.Submit, k.Cancel}
	}
	if f.fields[f.focus].choices != nil {
		short = []key.Binding{k.Choose, k.NextField, k.Enter, k.Submit, k.Cancel}
	}
	return helpKeys{short: short, full: [][]key.Binding{
		{k.NextField, k.PrevField, k.Choose},
		{k.Enter, k.Submit, k.Cancel, k.ForceQuit},
	}}
}

// valueOf returns the value of the field labelled label.
func (f *form) valueOf(label string) string {
	for _, fl := range f.fields {
		if fl.label == label {
			return fl.value()
		}
	}
	return ""
}
