package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"invited/db"
)

// Options configure the TUI.
type Options struct {
	Mode             string        // "direct" (the TUI holds the database file) or "server" (through the running server's admin socket); shown in the header unless the backend is a ModeReporter, whose own mode wins
	DataPath         string        // shown in the header, e.g. ./data/invited.db
	SiteName         string        // shown in the header
	BaseURL          string        // server.base_url: signup links and invitation links are built on it (package weburl), as the server builds them
	Actor            db.Actor      // who the changes are recorded as, e.g. {Kind:"tui", Name:"root", Role: db.RoleAdmin}
	Inviter          string        // the invitation form's first name to sign emails with, e.g. "The team.example.com team"; "" → "The <SiteName> team"
	MaxLoginAttempts int           // failed logins in a row before waits start (auth.max_login_attempts), shown in a user's details
	InvitationTTL    time.Duration // default ttl in the invitation form
	Refresh          time.Duration // auto refresh interval; 0 → 3s
	Input            io.Reader     // nil → stdin
	Output           io.Writer     // nil → stdout
	NoColor          bool          // true when NO_COLOR is set (main decides)
	// Renderer, when set, decides the colour profile instead of Output:
	// over SSH it is the client's terminal (its TERM and environment),
	// which Output, a network session, cannot tell.
	Renderer *lipgloss.Renderer
}

// DefaultRefresh is the auto refresh interval when Options.Refresh is 0.
const DefaultRefresh = 3 * time.Second

func (o Options) withDefaults() Options {
	if o.Refresh <= 0 {
		o.Refresh = DefaultRefresh
	}
	if o.InvitationTTL <= 0 {
		o.InvitationTTL = 7 * 24 * time.Hour
	}
	if o.SiteName == "" {
		o.SiteName = "invited"
	}
	if o.Inviter == "" {
		o.Inviter = "The " + o.SiteName + " team"
	}
	if o.Actor.Role == 0 {
		o.Actor.Role = db.RoleAdmin
	}
	if o.Output == nil {
		o.Output = os.Stdout
	}
	if o.Input == nil {
		o.Input = os.Stdin
	}
	return o
}

// Run shows the TUI on opts.Input and opts.Output (the terminal) until the
// admin quits or ctx ends. Backend errors never end it: they show in the
// status line. It returns an error only when the terminal cannot be used;
// an ended ctx returns nil.
func Run(ctx context.Context, b Backend, opts Options) error {
	opts = opts.withDefaults()
	p := tea.NewProgram(NewModel(b, opts),
		tea.WithContext(ctx),
		tea.WithInput(opts.Input),
		tea.WithOutput(opts.Output),
		tea.WithAltScreen(),
	)
	_, err := p.Run()
	if err != nil && errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("admin TUI: %w", err)
	}
	return nil
}

// NewModel returns the root model of the TUI, for Run and for tests. Its
// styles follow the colour profile of opts.Output (none when it is not a
// terminal), without colours when opts.NoColor is set.
func NewModel(b Backend, opts Options) tea.Model {
	return newModel(b, opts, time.Now, true)
}

// newModel builds the root model with a clock; tick false turns the auto
// refresh off, for tests that step through Update by hand.
func newModel(b Backend, opts Options, now func() time.Time, tick bool) *model {
	opts = opts.withDefaults()
	r := opts.Renderer
	if r == nil {
		r = lipgloss.NewRenderer(opts.Output)
	}
	if opts.NoColor {
		// NO_COLOR is about colours: on a real terminal bold and reverse
		// video stay (the styles then name no colour), so that the cursor
		// of a text field still shows. termenv alone would drop all
		// attributes when NO_COLOR is set; its plain detection (Ascii for
		// a pipe or TERM=dumb) decides instead.
		if r.Output().ColorProfile() == termenv.Ascii {
			r.SetColorProfile(termenv.Ascii)
		} else {
			r.SetColorProfile(termenv.ANSI)
		}
	}
	a := &app{
		backend: b, opts: opts, actor: opts.Actor, now: now,
		styles: newStyles(r, opts.NoColor), keys: DefaultKeyMap(), clip: opts.Output,
	}
	m := &model{app: a, width: 80, height: 24, tick: tick}
	m.help = help.New()
	m.help.Styles = a.styles.Help
	m.help.FullSeparator = "  "
	m.screens = make([]screen, screenWebhooks+1)
	m.screens[screenLinks] = newLinksScreen(a)
	m.screens[screenInvitations] = newInvitationsScreen(a)
	m.screens[screenUsers] = newUsersScreen(a)
	m.screens[screenKeys] = newKeysScreen(a)
	m.screens[screenOrgs] = newOrgsScreen(a)
	m.screens[screenAudit] = newAuditScreen(a)
	m.screens[screenGroups] = newGroupsScreen(a)
	m.screens[screenApps] = newAppsScreen(a)
	m.screens[screenWebhooks] = newWebhooksScreen(a)
	m.layout()
	return m
}

// screenID names the tabs, in order.
type screenID int

// The tabs.
const (
	screenLinks screenID = iota
	screenInvitations
	screenUsers
	screenKeys
	screenOrgs
	screenAudit
	// screenGroups came after the others, so that their numbers stay.
	screenGroups
	screenApps
	screenWebhooks
)

// screen is one tab.
type screen interface {
	name() string    // "Signup links"
	tabName() string // "Links", for narrow terminals
	// load fetches the records.
	load() tea.Cmd
	// busy reports a load in flight, so that ticks do not pile up.
	busy() bool
	// receive handles any message that is not a key (loaded records).
	receive(msg tea.Msg) tea.Cmd
	// key handles a key while the screen is in front with no overlay.
	key(k tea.KeyMsg) tea.Cmd
	// view renders the body: an info line and the table or details.
	view(w, h int) string
	help() helpKeys
	lst() *list
}

// model is the root model: header, tabs, the active screen or the top
// overlay, the status line and the help bar.
type model struct {
	*app
	screens  []screen
	active   screenID
	width    int
	height   int
	help     help.Model
	tick     bool
	quitting bool
}

// tickMsg asks for a refresh of the screen in front.
type tickMsg time.Time

func (m *model) tickCmd() tea.Cmd {
	if !m.tick {
		return nil
	}
	return tea.Tick(m.opts.Refresh, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Init loads the first tab and starts the auto refresh.
func (m *model) Init() tea.Cmd {
	return tea.Batch(m.screens[m.active].load(), m.tickCmd())
}

// Update handles a message.
func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	if k, ok := msg.(tea.KeyMsg); ok && k.Type == tea.KeyRunes && len(k.Runes) > 1 && !k.Paste {
		// Bubble Tea v1 delivers characters that arrive together (a
		// fast typist, `tmux send-keys 5nAcme`) as one message; each is
		// a key of its own here, so that "5" switches the tab and "n"
		// opens a form before "Acme" is typed into it.
		cmds := make([]tea.Cmd, 0, len(k.Runes))
		for _, r := range k.Runes {
			cmds = append(cmds, m.update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: k.Alt}))
			m.layout()
			if m.quitting {
				break
			}
		}
		cmd = tea.Batch(cmds...)
	} else {
		cmd = m.update(msg)
	}
	m.layout()
	return m, cmd
}

func (m *model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		return nil
	case tickMsg:
		var cmd tea.Cmd
		if s := m.screens[m.active]; !s.busy() {
			cmd = s.load()
		}
		return tea.Batch(cmd, m.tickCmd())
	case formResultMsg:
		f := msg.form
		f.busy = false
		if msg.err != nil {
			f.showError(msg.err)
			return nil
		}
		m.pop(f)
		if f.done != nil {
			return f.done(msg.res)
		}
		return nil
	case actionResultMsg:
		if msg.err != nil {
			m.setError(errText(msg.what, msg.err))
			return nil
		}
		if msg.done != nil {
			return msg.done(msg.res)
		}
		return nil
	case copiedMsg:
		if msg.err != nil {
			m.setError("Could not copy " + msg.what + ": " + msg.err.Error())
			return nil
		}
		// The text in full, so that it can be selected by hand when the
		// terminal ignores OSC 52.
		m.setOK("copied: " + msg.text)
		return nil
	case tea.KeyMsg:
		return m.handleKey(msg)
	case pendingMsg:
		// A count that could not be read leaves the last one shown: the
		// screen's own load reports the trouble.
		if msg.err == nil {
			m.pending = msg.n
		}
		return nil
	}
	var cmds []tea.Cmd
	if _, ok := msg.(loadedMsg); ok {
		// Whatever was loaded (a tick, a tab, the end of an action), the
		// header's count of users waiting for approval is read again.
		cmds = append(cmds, m.countPending())
	}
	for _, s := range m.screens {
		cmds = append(cmds, s.receive(msg))
	}
	return tea.Batch(cmds...)
}

func (m *model) handleKey(k tea.KeyMsg) tea.Cmd {
	keys := m.keys
	if key.Matches(k, keys.ForceQuit) {
		m.quitting = true
		return tea.Quit
	}
	if top := m.top(); top != nil {
		closed, cmd := top.update(k)
		if closed {
			m.pop(top)
		}
		return cmd
	}
	s := m.screens[m.active]
	if l := s.lst(); l.filtering {
		return l.updateFilter(k)
	}
	switch {
	case key.Matches(k, keys.Quit):
		m.quitting = true
		return tea.Quit
	case key.Matches(k, keys.Help):
		m.help.ShowAll = !m.help.ShowAll
		return nil
	case key.Matches(k, keys.Tabs):
		return m.switchTo(screenID(k.String()[0] - '1'))
	case key.Matches(k, keys.NextTab):
		return m.switchTo((m.active + 1) % screenID(len(m.screens)))
	case key.Matches(k, keys.PrevTab):
		return m.switchTo((m.active + screenID(len(m.screens)) - 1) % screenID(len(m.screens)))
	case key.Matches(k, keys.Refresh):
		m.setInfo("Refreshing…")
		return s.load()
	}
	return s.key(k)
}

func (m *model) switchTo(id screenID) tea.Cmd {
	if id < 0 || int(id) >= len(m.screens) {
		return nil
	}
	m.active = id
	m.setInfo("")
	return m.screens[id].load()
}

// context returns the help of what has the keys now.
func (m *model) context() helpKeys {
	if top := m.top(); top != nil {
		return top.help()
	}
	s := m.screens[m.active]
	if s.lst().filtering {
		k := m.keys
		enter := withHelp(k.Enter, "keep filter")
		esc := withHelp(k.Back, "clear filter")
		return helpKeys{short: []key.Binding{enter, esc}, full: [][]key.Binding{{enter, esc}}}
	}
	return s.help()
}

func (m *model) helpView() string {
	ctx := m.context()
	global := m.top() == nil && !m.screens[m.active].lst().filtering
	if m.help.ShowAll {
		m.help.Width = m.width
		full := ctx.full
		if global {
			full = append(full, []key.Binding{m.keys.Tabs, m.keys.NextTab, m.keys.PrevTab, m.keys.Refresh, withHelp(m.keys.Help, "fewer keys"), m.keys.Quit})
		}
		return m.help.FullHelpView(full)
	}
	if !global {
		return m.shortHelp(ctx.short, m.width)
	}
	// The keys that apply everywhere stay visible on the right; the
	// screen's own keys get the rest, cut with "…" when too many.
	right := m.shortHelp([]key.Binding{m.keys.Help, m.keys.Quit}, m.width)
	left := m.shortHelp(ctx.short, m.width-lipgloss.Width(right)-2)
	return left + strings.Repeat(" ", max(1, m.width-lipgloss.Width(left)-lipgloss.Width(right))) + right
}

// shortHelp renders as many bindings as fit w columns, then "…".
// (help.Model's own cut lets the last item overflow.)
func (m *model) shortHelp(bs []key.Binding, w int) string {
	m.help.Width = 0
	for n := len(bs); n > 0; n-- {
		s := m.help.ShortHelpView(bs[:n])
		if n < len(bs) {
			s += " " + m.help.Styles.Ellipsis.Render("…")
		}
		if lipgloss.Width(s) <= w {
			return s
		}
	}
	return ""
}

// bodyHeight is what is left for the screen between the header, the tabs,
// the status line and the help.
func (m *model) bodyHeight() int {
	return max(3, m.height-2-len(m.statusLines())-lipgloss.Height(m.helpView()))
}

// layout sizes the active screen's table to the terminal.
func (m *model) layout() {
	s := m.screens[m.active]
	s.lst().setSize(m.width, m.bodyHeight()-1)
}

// View renders the whole terminal.
func (m *model) View() string {
	if m.quitting {
		return ""
	}
	w := m.width
	var b strings.Builder
	b.WriteString(fit(m.header(), w, 1) + "\n")
	b.WriteString(fit(m.tabs(), w, 1) + "\n")
	bodyH := m.bodyHeight()
	var body string
	if top := m.top(); top != nil {
		body = top.view(w, bodyH)
	} else {
		body = m.screens[m.active].view(w, bodyH)
	}
	b.WriteString(fit(body, w, bodyH) + "\n")
	for _, l := range m.statusLines() {
		b.WriteString(fit(l, w, 1) + "\n")
	}
	b.WriteString(m.helpView())
	// A terminal too small for all of it loses the bottom lines.
	return fit(b.String(), w, m.height)
}

// pendingMsg is the number of users waiting for approval.
type pendingMsg struct {
	n   int
	err error
}

// countPending reads the number of users waiting for approval.
func (m *model) countPending() tea.Cmd {
	b := m.backend
	return func() tea.Msg {
		res, err := protect(func(ctx context.Context) (any, error) { return b.CountPendingUsers(ctx) })
		n, _ := res.(int)
		return pendingMsg{n: n, err: err}
	}
}

func (m *model) header() string {
	s := m.styles
	left := s.Header.Render(m.opts.SiteName+" admin") + " · " + m.screens[m.active].name()
	if m.pending > 0 {
		// Users waiting for approval (Users tab, a approves).
		left += " · " + s.HeaderMode.Render(fmt.Sprintf("%d waiting", m.pending))
	}
	var mode string
	switch current := m.mode(); {
	case current == ModeDirect && m.switching():
		// It opens the file only while it works, so it holds nothing.
		mode = "direct: " + m.opts.DataPath
	case current == ModeDirect:
		mode = "direct: holding " + m.opts.DataPath
	case current == ModeServer && m.opts.Actor.Kind == "ssh":
		// In the server's own process, reached over SSH.
		mode = "server: over SSH as " + m.opts.Actor.Name
	case current == ModeServer:
		mode = "server: via admin socket"
	default:
		mode = current
	}
	room := m.width - lipgloss.Width(left) - 2
	if room < 8 {
		return left
	}
	mode = truncate(mode, room)
	return left + strings.Repeat(" ", m.width-lipgloss.Width(left)-ansi.StringWidth(mode)) + s.HeaderMode.Render(mode)
}

// tabs renders the tab bar in the widest form that fits: full names,
// then short names, then short names one space apart (which fits nine
// tabs in 80 columns).
func (m *model) tabs() string {
	s := m.styles
	render := func(short, tight bool) string {
		var parts []string
		for i, sc := range m.screens {
			name := sc.name()
			if short {
				name = sc.tabName()
			}
			label := fmt.Sprintf("%d %s", i+1, name)
			switch {
			case screenID(i) == m.active:
				parts = append(parts, s.ActiveTab.Render("["+label+"]"))
			case tight:
				parts = append(parts, s.Tab.Render(label))
			default:
				parts = append(parts, s.Tab.Render(" "+label+" "))
			}
		}
		if tight {
			return strings.Join(parts, " ")
		}
		return strings.Join(parts, "")
	}
	for _, t := range []string{render(false, false), render(true, false)} {
		if lipgloss.Width(t) <= m.width {
			return t
		}
	}
	return render(true, true)
}

// statusLines renders the status line: one line, or two for a long
// message (the rest is cut).
func (m *model) statusLines() []string {
	st := m.styles.StatusInfo
	text := m.status
	switch m.statusKind {
	case statusError:
		st, text = m.styles.StatusError, "error: "+text
	case statusOK:
		st = m.styles.StatusOK
	}
	lines := wrap(text, m.width)
	if len(lines) > 2 {
		lines = lines[:2]
		lines[1] = truncate(lines[1]+" …", m.width)
	}
	for i, l := range lines {
		lines[i] = st.Render(l)
	}
	return lines
}
