package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/aymanbagabas/go-osc52/v2"
	tea "github.com/charmbracelet/bubbletea"

	"invited/db"
)

// statusKind colours the status line.
type statusKind int

const (
	statusInfo statusKind = iota
	statusOK
	statusError
)

// app is what the root model and the screens share: the backend, the
// settings, the styles and keys, the overlay stack and the status line.
// Everything runs on Bubble Tea's update goroutine; only tea.Cmds touch
// the backend or the terminal.
type app struct {
	backend Backend
	opts    Options
	actor   db.Actor
	now     func() time.Time
	styles  Styles
	keys    KeyMap
	clip    io.Writer // where OSC 52 sequences go: the terminal

	overlays   []overlay
	status     string
	statusKind statusKind

	// orgs is the last list of organizations seen, for the invitation
	// form's choice.
	orgs []db.Organization
	// groups is the last list of groups seen, for the hint of every
	// groups field.
	groups []db.Group
	// apps is the last list of apps seen, for the link and invitation
	// forms' app choice.
	apps []db.App
	// inviter is the name the last invitation was signed with, offered
	// again for the next one; "" until the first (then opts.Inviter).
	inviter string
	// pending is how many users wait for approval, for the header.
	pending int
}

// mode is where the backend works now: ModeDirect or ModeServer. A
// backend that switches by itself says so; any other keeps Options.Mode.
func (a *app) mode() string {
	if r, ok := a.backend.(ModeReporter); ok && r.Mode() != "" {
		return r.Mode()
	}
	return a.opts.Mode
}

// switching reports a backend that opens the file only while it works.
func (a *app) switching() bool {
	_, ok := a.backend.(ModeReporter)
	return ok
}

func (a *app) push(o overlay) { a.overlays = append(a.overlays, o) }

// pop removes o (and anything above it) from the overlay stack.
func (a *app) pop(o overlay) {
	for i := len(a.overlays) - 1; i >= 0; i-- {
		if a.overlays[i] == o {
			a.overlays = a.overlays[:i]
			return
		}
	}
}

func (a *app) top() overlay {
	if len(a.overlays) == 0 {
		return nil
	}
	return a.overlays[len(a.overlays)-1]
}

func (a *app) setInfo(s string)  { a.status, a.statusKind = s, statusInfo }
func (a *app) setOK(s string)    { a.status, a.statusKind = s, statusOK }
func (a *app) setError(s string) { a.status, a.statusKind = s, statusError }

// opTimeout bounds one operation of the TUI (a screen's load, an action,
// a form's submission): long enough for a busy server, short enough that
// a hung one is reported rather than waited for.
const opTimeout = 30 * time.Second

// protect runs a backend operation with its own context, bounded by
// opTimeout, turning a panic into an error so that a bug behind the
// Backend interface shows in the status line instead of tearing the
// terminal down.
func protect(call func(ctx context.Context) (any, error)) (res any, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("backend panic: %v", r)
		}
	}()
	return call(ctx)
}

// actionResultMsg is the answer to an action on a record (toggle, revoke,
// delete, …).
type actionResultMsg struct {
	what string
	res  any
	err  error
	done doneFunc
}

// do runs call in a tea.Cmd; on success done runs in Update with the
// result, on failure the status line shows "what: message".
func (a *app) do(what string, call func(ctx context.Context) (any, error), done doneFunc) tea.Cmd {
	return func() tea.Msg {
		res, err := protect(call)
		return actionResultMsg{what: what, res: res, err: err, done: done}
	}
}

// ask pushes a y/n confirmation that runs cmd on yes.
func (a *app) ask(prompt string, cmd tea.Cmd) {
	a.push(&confirm{app: a, prompt: prompt, onYes: cmd})
}

// copiedMsg reports a copy to the clipboard.
type copiedMsg struct {
	what string
	text string
	err  error
}

// copy writes text to the terminal's clipboard with an OSC 52 escape
// sequence, which also works over SSH when the terminal allows it. The
// status line then shows the text in full where it fits, so that it can
// be selected by hand when the terminal ignores OSC 52.
func (a *app) copy(what, text string) tea.Cmd {
	w := a.clip
	return func() tea.Msg {
		_, err := osc52.New(text).WriteTo(w)
		return copiedMsg{what: what, text: text, err: err}
	}
}

// errText renders a backend error for the status line. The store and the
// server answer with *db.Error; a network error or a cut-off answer can
// only come from the admin socket, so it says the server stopped (the
// SwitchingBackend says so itself; this covers a plain socket client).
func errText(what string, err error) string {
	var e *db.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &e):
	case errors.As(err, &oe), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return what + ": " + serverStopped
	case errors.Is(err, context.DeadlineExceeded):
		return what + ": " + errNoAnswer(false).Message
	}
	return what + ": " + db.ErrorMessage(err)
}
