package tui

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/table"
	"github.com/charmbracelet/lipgloss"
)

// Styles holds every style of the TUI, made from one renderer so that the
// colour profile of the admin's terminal (or NO_COLOR) applies everywhere.
// With NoColor no style carries a colour: only bold, faint, underline and
// reverse video remain, which NO_COLOR allows, and the screens add text
// markers (">" before the selected row, "[ ]" around the active tab and
// choice) so that nothing depends on them.
type Styles struct {
	Header      lipgloss.Style // the top line: site name and active tab
	HeaderMode  lipgloss.Style // the mode on the right of the top line
	Tab         lipgloss.Style
	ActiveTab   lipgloss.Style
	Info        lipgloss.Style // the line above a table
	TableHeader lipgloss.Style
	Cell        lipgloss.Style
	Selected    lipgloss.Style
	Title       lipgloss.Style // of forms, dialogs and detail views
	Label       lipgloss.Style
	Focused     lipgloss.Style // label of the focused form field
	Value       lipgloss.Style
	Faint       lipgloss.Style
	FieldError  lipgloss.Style
	Choice      lipgloss.Style
	ChosenFocus lipgloss.Style
	Box         lipgloss.Style // frame of dialogs and result boxes
	Secret      lipgloss.Style // a token or key shown once
	QR          lipgloss.Style
	StatusInfo  lipgloss.Style
	StatusOK    lipgloss.Style
	StatusError lipgloss.Style
	Cursor      lipgloss.Style
	Help        help.Styles
}

// newStyles builds the styles on r; noColor leaves every colour out.
func newStyles(r *lipgloss.Renderer, noColor bool) Styles {
	c := func(s lipgloss.Style, fg string) lipgloss.Style {
		if noColor {
			return s
		}
		return s.Foreground(lipgloss.Color(fg))
	}
	n := r.NewStyle
	s := Styles{
		Header:      c(n().Bold(true), "12"),
		HeaderMode:  c(n(), "8"),
		Tab:         n(),
		ActiveTab:   c(n().Bold(true).Underline(true), "12"),
		Info:        c(n(), "8"),
		TableHeader: c(n().Bold(true).Padding(0, 1), "12"),
		Cell:        n().Padding(0, 1),
		Selected:    n().Reverse(true).Bold(true),
		Title:       c(n().Bold(true), "12"),
		Label:       n(),
		Focused:     c(n().Bold(true), "12"),
		Value:       n(),
		Faint:       n().Faint(true),
		FieldError:  c(n(), "9"),
		Choice:      n(),
		ChosenFocus: n().Reverse(true),
		Box:         n().Border(lipgloss.NormalBorder()).Padding(0, 1),
		Secret:      c(n().Bold(true), "11"),
		QR:          n(),
		StatusInfo:  n(),
		StatusOK:    c(n(), "10"),
		StatusError: c(n().Bold(true), "9"),
		Cursor:      n().Reverse(true),
	}
	if !noColor {
		s.Box = s.Box.BorderForeground(lipgloss.Color("8"))
		// A QR code needs dark modules on a light ground whatever the
		// terminal's own colours are.
		s.QR = n().Foreground(lipgloss.Color("15")).Background(lipgloss.Color("0"))
	}
	s.Help = help.Styles{
		ShortKey:       c(n().Bold(true), "12"),
		ShortDesc:      n(),
		ShortSeparator: s.Faint,
		Ellipsis:       s.Faint,
		FullKey:        c(n().Bold(true), "12"),
		FullDesc:       n(),
		FullSeparator:  s.Faint,
	}
	return s
}

// tableStyles are the styles of a bubbles table. The selected row gets a
// ">" in its first column as well as reverse video, so that it shows on a
// terminal without any attributes.
func (s Styles) tableStyles() table.Styles {
	return table.Styles{
		Header:   s.TableHeader,
		Cell:     s.Cell,
		Selected: s.Selected.Transform(markSelected),
	}
}

// markSelected replaces the leading padding space of a rendered row with
// ">".
func markSelected(row string) string {
	if len(row) > 0 && row[0] == ' ' {
		return ">" + row[1:]
	}
	return row
}
