package tui

import tea "github.com/charmbracelet/bubbletea"

// NewTestModel is the model of the tests, without the auto refresh, for
// tests outside the package (tui_test) that wrap the backend.
func NewTestModel(b Backend, opts Options) tea.Model {
	return newModel(b, opts, fixedClock, false)
}
