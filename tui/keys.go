package tui

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/table"
)

// KeyMap is every key binding of the TUI. Screens pick the bindings that
// apply to them for the help bar; a binding such as Toggle ("t") means one
// thing per screen.
type KeyMap struct {
	// Anywhere outside a form or dialog.
	Tabs      key.Binding // 1–9
	NextTab   key.Binding
	PrevTab   key.Binding
	Refresh   key.Binding
	Help      key.Binding
	Quit      key.Binding
	ForceQuit key.Binding // ctrl+c, also inside forms and dialogs

	// Lists.
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
	Details  key.Binding
	Back     key.Binding
	Filter   key.Binding

	// Actions on records.
	New    key.Binding
	Toggle key.Binding // links: enable/disable
	Extend key.Binding // links: new expiry
	Copy   key.Binding
	QR     key.Binding
	Resend key.Binding // invitations
	Batch  key.Binding // invitations: many at once
	Revoke key.Binding // invitations, API keys
	Role   key.Binding // users
	Unlock key.Binding // users
	// ResetLink makes a password reset link for a user (users).
	ResetLink key.Binding
	// Disable disables the selected user, or enables them again.
	Disable key.Binding // users
	// Factors clears the selected user's second factors.
	Factors key.Binding // users
	// Verify verifies the selected user's email address on the admin's
	// word.
	Verify key.Binding // users
	Groups key.Binding // users: their groups
	// SSHKeys lists, adds and removes the keys that open the TUI over SSH
	// (users).
	SSHKeys key.Binding
	Delete  key.Binding // links, users, organizations, groups, apps, webhooks
	Edit    key.Binding // links: name, role, max uses, domains, groups; groups: name, description; apps: name, url, domains or redirect URIs, groups
	Secret  key.Binding // apps: a new client secret for an oidc app
	// Deliveries shows the selected webhook's recent deliveries.
	Deliveries key.Binding // webhooks
	Type       key.Binding // audit: pick the event type
	Older      key.Binding // audit: next page
	Newer      key.Binding // audit: previous page

	// Approve lets in a user who waits for approval; on any other user
	// the same key opens their groups. Reject turns a waiting user away
	// (deletes them).
	Approve key.Binding // users
	Reject  key.Binding // users

	// Forms.
	NextField key.Binding
	PrevField key.Binding
	Choose    key.Binding // left/right/space on a choice
	Submit    key.Binding
	Enter     key.Binding // next field, or submit on the last one
	Cancel    key.Binding

	// Confirmations.
	Yes key.Binding
	No  key.Binding

	// Result boxes and QR codes.
	Close key.Binding
}

// DefaultKeyMap returns the key bindings of the TUI. Every action has a
// plain key, so that keystrokes alone (a tmux send-keys script) can drive
// everything.
func DefaultKeyMap() KeyMap {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	return KeyMap{
		Tabs:      b([]string{"1", "2", "3", "4", "5", "6", "7", "8", "9"}, "1-9", "tab"),
		NextTab:   b([]string{"tab"}, "tab", "next tab"),
		PrevTab:   b([]string{"shift+tab"}, "shift+tab", "previous tab"),
		Refresh:   b([]string{"ctrl+r"}, "ctrl+r", "refresh"),
		Help:      b([]string{"?"}, "?", "help"),
		Quit:      b([]string{"q"}, "q", "quit"),
		ForceQuit: b([]string{"ctrl+c"}, "ctrl+c", "quit"),

		Up:       b([]string{"up", "k"}, "↑/k", "up"),
		Down:     b([]string{"down", "j"}, "↓/j", "down"),
		PageUp:   b([]string{"pgup", "ctrl+b"}, "pgup", "page up"),
		PageDown: b([]string{"pgdown", "ctrl+f"}, "pgdn", "page down"),
		Top:      b([]string{"home", "g"}, "g/home", "first"),
		Bottom:   b([]string{"end", "G"}, "G/end", "last"),
		Details:  b([]string{"enter"}, "enter", "details"),
		Back:     b([]string{"esc"}, "esc", "back/clear"),
		Filter:   b([]string{"/"}, "/", "filter"),

		New:        b([]string{"n"}, "n", "new"),
		Toggle:     b([]string{"t"}, "t", "on/off"),
		Extend:     b([]string{"e"}, "e", "extend"),
		Copy:       b([]string{"c"}, "c", "copy"),
		QR:         b([]string{"Q"}, "Q", "QR"),
		Resend:     b([]string{"r"}, "r", "resend"),
		Batch:      b([]string{"b"}, "b", "batch"),
		Revoke:     b([]string{"x"}, "x", "revoke"),
		Role:       b([]string{"r"}, "r", "change role"),
		Unlock:     b([]string{"u"}, "u", "unlock"),
		Disable:    b([]string{"x"}, "x", "disable/enable"),
		Verify:     b([]string{"v"}, "v", "verify email"),
		Groups:     b([]string{"a"}, "a", "groups"),
		Approve:    b([]string{"a"}, "a", "approve"),
		Reject:     b([]string{"R"}, "R", "reject"),
		Factors:    b([]string{"f"}, "f", "clear 2FA"),
		Delete:     b([]string{"d"}, "d", "delete"),
		Edit:       b([]string{"m"}, "m", "edit"),
		Secret:     b([]string{"s"}, "s", "secret"),
		Deliveries: b([]string{"l"}, "l", "deliveries"),
		Type:       b([]string{"t"}, "t", "event type"),
		Older:      b([]string{"]", "right"}, "]/→", "older"),
		Newer:      b([]string{"[", "left"}, "[/←", "newer"),

		ResetLink: b([]string{"p"}, "p", "reset link"),
		SSHKeys:   b([]string{"S"}, "S", "ssh keys"),

		NextField: b([]string{"tab", "down"}, "tab/↓", "next field"),
		PrevField: b([]string{"shift+tab", "up"}, "shift+tab/↑", "previous field"),
		Choose:    b([]string{"left", "right", " "}, "←/→/space", "choose"),
		Submit:    b([]string{"ctrl+s"}, "ctrl+s", "save"),
		Enter:     b([]string{"enter"}, "enter", "next / save"),
		Cancel:    b([]string{"esc"}, "esc", "cancel"),

		Yes: b([]string{"y", "Y"}, "y", "yes"),
		No:  b([]string{"n", "N", "esc"}, "n/esc", "no"),

		Close: b([]string{"esc", "enter"}, "esc", "close"),
	}
}

// ShortHelp lists the keys that apply everywhere, for help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Tabs, k.Help, k.Quit}
}

// FullHelp lists every list and global key, for help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Details, k.Back, k.Filter, k.Refresh},
		{k.Tabs, k.NextTab, k.PrevTab, k.Help, k.Quit},
	}
}

// tableKeyMap moves the table's cursor with our bindings only, so that
// letters such as "d" or "u" (half pages in the bubbles defaults) stay
// free for actions.
func (k KeyMap) tableKeyMap() table.KeyMap {
	none := key.NewBinding(key.WithDisabled())
	return table.KeyMap{
		LineUp: k.Up, LineDown: k.Down, PageUp: k.PageUp, PageDown: k.PageDown,
		HalfPageUp: none, HalfPageDown: none, GotoTop: k.Top, GotoBottom: k.Bottom,
	}
}

// helpKeys is the help.KeyMap of one context (a screen, a form, a dialog).
type helpKeys struct {
	short []key.Binding
	full  [][]key.Binding
}

func (h helpKeys) ShortHelp() []key.Binding  { return h.short }
func (h helpKeys) FullHelp() [][]key.Binding { return h.full }

// withHelp returns b with another help text, for a binding whose meaning
// depends on the screen ("c copy URL" vs "c copy key").
func withHelp(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}
