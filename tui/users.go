package tui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"invited/db"
	"invited/weburl"
)

// usersScreen lists the users: change role, unlock, make a password reset
// link, disable or enable, delete, and approve or reject those who wait.
type usersScreen struct {
	records[db.User]
	total int
	// invs are the accepted invitations, by id, to say who invited a user.
	invs map[uint64]db.Invitation
	// links are the signup links, to name the one a user joined through.
	links []db.SignupToken
}

// usersExtra is what the users screen reads besides the users.
type usersExtra struct {
	total  int
	invs   []db.Invitation
	links  []db.SignupToken
	groups []db.Group
}

func newUsersScreen(a *app) *usersScreen {
	s := &usersScreen{}
	s.app = a
	s.list = newList(a, []column{
		{title: "ID", width: 4},
		{title: "Email", flex: 3, min: 12},
		{title: "Name", flex: 2, min: 8},
		{title: "Role", width: 6},
		{title: "Organization", width: 12},
		{title: "Status", width: 10},
	})
	s.what = "users"
	s.fetch = func(ctx context.Context, b Backend, actor db.Actor) ([]db.User, any, error) {
		var users []db.User
		var x usersExtra
		for len(users) < maxRecords {
			page, total, err := b.ListUsers(ctx, len(users), pageSize)
			if err != nil {
				return nil, nil, err
			}
			users, x.total = append(users, page...), total
			if len(page) < pageSize || len(users) >= total {
				break
			}
		}
		// The accepted invitations and the links say how people came in.
		var err error
		if x.invs, err = listAllInvitations(ctx, b, actor, db.InvitationAccepted); err != nil {
			return nil, nil, err
		}
		if x.links, err = b.ListSignupTokens(ctx, actor); err != nil {
			return nil, nil, err
		}
		x.groups, err = b.ListGroups(ctx)
		return users, x, err
	}
	s.took = func(_ []db.User, extra any) {
		x, _ := extra.(usersExtra)
		s.total, s.links = x.total, x.links
		a.groups = x.groups
		s.invs = map[uint64]db.Invitation{}
		for _, inv := range x.invs {
			s.invs[inv.ID] = inv
		}
	}
	s.row = func(u db.User, _ time.Time) row {
		status := "ok"
		if _, slowed := s.slowedUntil(u); slowed {
			status = "slowed"
		}
		if !u.EmailVerified {
			status = "unverified"
		}
		if u.PendingApproval {
			status = "waiting"
		}
		if u.Disabled {
			status = "disabled"
		}
		id := strconv.FormatUint(u.ID, 10)
		return row{id: id, cells: []string{id, u.Email, u.Name, u.RootRole.Name(), u.OrganizationID, status}, search: u.Username}
	}
	s.detail = s.detailText
	return s
}

func (s *usersScreen) name() string    { return "Users" }
func (s *usersScreen) tabName() string { return "Users" }

// slowedUntil returns the end of the wait failed logins gave the user, and
// whether that wait is still running on the TUI's clock.
func (s *usersScreen) slowedUntil(u db.User) (time.Time, bool) {
	if u.ThrottledUntil == nil || !s.app.now().Before(*u.ThrottledUntil) {
		return time.Time{}, false
	}
	return *u.ThrottledUntil, true
}

func (s *usersScreen) key(k tea.KeyMsg) tea.Cmd {
	if ok, cmd := s.listKey(k, s.detailText); ok {
		return cmd
	}
	a := s.app
	keys := a.keys
	u, ok := s.selected()
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, keys.Approve) && u.PendingApproval:
		a.ask(fmt.Sprintf("Approve %s? %s", u.Email, approveNote(u)),
			a.do("Could not approve", func(ctx context.Context) (any, error) {
				return a.backend.ApproveUser(ctx, a.actor, u.ID)
			}, func(any) tea.Cmd {
				a.setOK("Approved " + u.Email + ": they are emailed that they may log in.")
				return s.load()
			}))
	case key.Matches(k, keys.Reject):
		if !u.PendingApproval {
			a.setInfo(u.Email + " is not waiting for approval; there is nothing to reject (d deletes a user).")
			return nil
		}
		a.ask(fmt.Sprintf("Reject %s? Their account is deleted and they cannot log in; they are not emailed.", u.Email),
			a.do("Could not reject", func(ctx context.Context) (any, error) {
				return a.backend.RejectUser(ctx, a.actor, u.ID)
			}, func(any) tea.Cmd {
				a.setOK("Rejected " + u.Email + ": the account is deleted.")
				return s.load()
			}))
	case key.Matches(k, keys.Role):
		a.push(s.roleForm(u))
	case key.Matches(k, keys.Groups):
		a.push(s.groupsForm(u))
	case key.Matches(k, keys.SSHKeys):
		if !u.RootRole.AtLeast(db.RoleEditor) {
			a.setInfo(u.Email + " is a " + u.RootRole.Name() + ": only Admins and Editors may hold SSH keys (r changes the role).")
			return nil
		}
		return a.do("Could not read the SSH keys", func(ctx context.Context) (any, error) {
			return a.backend.ListSSHKeys(ctx, a.actor, u.ID)
		}, func(res any) tea.Cmd {
			keys, _ := res.([]db.SSHKey)
			a.push(s.sshKeysForm(u, keys))
			return nil
		})
	case key.Matches(k, keys.Unlock):
		if u.LoginAttempts == 0 {
			a.setInfo(u.Email + " has no failed logins; there is nothing to unlock.")
			return nil
		}
		return a.do("Could not unlock", func(ctx context.Context) (any, error) {
			return a.backend.UnlockUser(ctx, a.actor, u.ID)
		}, func(any) tea.Cmd {
			a.setOK("Unlocked " + u.Email + ": they may log in again.")
			return s.load()
		})
	case key.Matches(k, keys.ResetLink):
		if u.Disabled {
			a.setError(u.Email + " is disabled: a reset link would not work. Enable the user first (x).")
			return nil
		}
		if !u.EmailVerified {
			a.setError(u.Email + " has not verified the address: a reset link would not work. Mark it verified first (v).")
			return nil
		}
		a.ask(fmt.Sprintf("Make a password reset link for %s? It works once, for 1 hour, and replaces any reset link sent before.", u.Email),
			a.do("Could not make a reset link", func(ctx context.Context) (any, error) {
				secret, t, err := a.backend.CreateResetLink(ctx, a.actor, u.ID)
				return resetLinkResult{u, secret, t}, err
			}, func(res any) tea.Cmd {
				r, _ := res.(resetLinkResult)
				a.setOK("Made a password reset link for " + u.Email + ".")
				s.showResetLink(r)
				return nil
			}))
	case key.Matches(k, keys.Disable) && !u.Disabled:
		a.ask(fmt.Sprintf("Disable the user %s? Their sessions end at once and they cannot log in until enabled again; their data stays.", u.Email),
			a.do("Could not disable", func(ctx context.Context) (any, error) {
				return a.backend.DisableUser(ctx, a.actor, u.ID)
			}, func(any) tea.Cmd {
				a.setOK("Disabled " + u.Email + ": they are logged out and cannot log in.")
				return s.load()
			}))
	case key.Matches(k, keys.Disable):
		a.ask(fmt.Sprintf("Enable the user %s? They may log in again.", u.Email),
			a.do("Could not enable", func(ctx context.Context) (any, error) {
				return a.backend.EnableUser(ctx, a.actor, u.ID)
			}, func(any) tea.Cmd {
				a.setOK("Enabled " + u.Email + ": they may log in again.")
				return s.load()
			}))
	case key.Matches(k, keys.Factors):
		a.ask(fmt.Sprintf("Clear every second factor of %s (authenticator app, recovery codes, passkeys)? They log in with their password alone until they set one up again.", u.Email),
			a.do("Could not clear the second factors", func(ctx context.Context) (any, error) {
				return a.backend.ClearSecondFactors(ctx, a.actor, u.ID)
			}, func(any) tea.Cmd {
				a.setOK("Cleared the second factors of " + u.Email + ".")
				return s.load()
			}))
	case key.Matches(k, keys.Verify):
		if u.EmailVerified {
			a.setInfo(u.Email + " is verified already; there is nothing to do.")
			return nil
		}
		a.ask(fmt.Sprintf("Verify the address of %s without the emailed link? Only if you know the address is theirs: they may log in at once.", u.Email),
			a.do("Could not verify", func(ctx context.Context) (any, error) {
				return a.backend.MarkEmailVerified(ctx, a.actor, u.ID)
			}, func(any) tea.Cmd {
				if u.PendingApproval {
					a.setOK("Verified " + u.Email + ": they still wait for approval (a approves).")
					return s.load()
				}
				a.setOK("Verified " + u.Email + ": they may log in now.")
				return s.load()
			}))
	case key.Matches(k, keys.Delete):
		a.ask(fmt.Sprintf("Delete the user %s? Their account and sessions are removed; this cannot be undone.", u.Email),
			a.do("Could not delete", func(ctx context.Context) (any, error) {
				return nil, a.backend.DeleteUser(ctx, a.actor, u.ID)
			}, func(any) tea.Cmd {
				a.setOK("Deleted the user " + u.Email + ".")
				return s.load()
			}))
	}
	return nil
}

// resetLinkResult is a new reset link: the one time its secret exists
// outside the store's hash.
type resetLinkResult struct {
	user   db.User
	secret string
	token  db.UserToken
}

// showResetLink shows a new reset link once, to copy and hand over.
func (s *usersScreen) showResetLink(r resetLinkResult) {
	a := s.app
	link := weburl.ResetPassword(a.opts.BaseURL, r.secret)
	a.push(&result{
		app: a, title: "Password reset link for " + r.user.Email,
		note: "Copy it now and give it to " + r.user.Email + " yourself; it will not be shown again (only its hash is kept). " +
			"It works once: opening it lets them choose a new password, which logs them out everywhere.",
		lines: []resultLine{
			{},
			{label: "User", value: r.user.Email},
			{label: "Expires", value: fmtFull(r.token.ExpiresAt, a.now())},
			{label: "Link", value: link, wrapAnywhere: true, secret: true},
		},
		copyText: link, copyWhat: "the reset link", qrText: link,
	})
}

// roleForm changes a user's root role.
func (s *usersScreen) roleForm(u db.User) *form {
	a := s.app
	roles := grantable(a.actor.Role, db.Roles)
	f := newForm(a, "Role of "+u.Email, nil, nil)
	f.intro = fmt.Sprintf("Now %s. %s", u.RootRole.Name(), u.RootRole.Description())
	f.choose("Role", roleNames(roles), roleIndex(roles, u.RootRole), "Admin: everything. Editor: links and invitations. Viewer: own user only.", "rootRole")
	f.submit = func(f *form) (func(ctx context.Context) (any, error), error) {
		r := roleByName(f.valueOf("Role"))
		return func(ctx context.Context) (any, error) {
			return a.backend.UpdateUser(ctx, a.actor, u.ID, db.UserUpdate{RootRole: &r})
		}, nil
	}
	f.done = func(res any) tea.Cmd {
		nu, _ := res.(db.User)
		a.setOK(fmt.Sprintf("%s is now %s.", nu.Email, nu.RootRole.Name()))
		return s.load()
	}
	return f
}

// groupsForm replaces a user's groups with a list of group ids; the store
// refuses an unknown one, naming its place in the list.
func (s *usersScreen) groupsForm(u db.User) *form {
	a := s.app
	f := newForm(a, "Groups of "+u.Email, nil, nil)
	f.intro = "Now: " + groupsText(u.Groups) + ". Groups say what a user may enter."
	f.text("Groups", strings.Join(u.Groups, ", "), "none", a.groupsHint()+"; empty for none.", "groups")
	f.submit = func(f *form) (func(ctx context.Context) (any, error), error) {
		groups := parseGroupList(f.valueOf("Groups"))
		return func(ctx context.Context) (any, error) {
			return a.backend.UpdateUser(ctx, a.actor, u.ID, db.UserUpdate{Groups: &groups})
		}, nil
	}
	f.done = func(res any) tea.Cmd {
		nu, _ := res.(db.User)
		a.setOK(fmt.Sprintf("%s is now in the groups: %s.", nu.Email, groupsText(nu.Groups)))
		return s.load()
	}
	return f
}

// sshKeysForm shows a user's SSH keys by fingerprint and adds one (an
// authorized_keys line) or removes one (by its id).
func (s *usersScreen) sshKeysForm(u db.User, keys []db.SSHKey) *form {
	a := s.app
	f := newForm(a, "SSH keys of "+u.Email, nil, nil)
	var b strings.Builder
	if len(keys) == 0 {
		b.WriteString("No SSH keys yet.")
	}
	for i, k := range keys {
		if i > 0 {
			b.WriteString("\n")
		}
		last := "never used"
		if k.LastUsedAt != nil {
			last = "used " + relative(*k.LastUsedAt, a.now())
		}
		fmt.Fprintf(&b, "#%d %s  %s  %s", k.ID, k.Name, k.Fingerprint, last)
	}
	f.intro = b.String()
	f.text("Add key", "", "ssh-ed25519 AAAA… you@host", "One line of a .pub file; empty to add none.", "key")
	f.text("Name", "", "the key's comment", "Where its private half lives, such as laptop.", "name")
	f.text("Remove #", "", "none", "The number of a key above to remove it instead.")
	f.submit = func(f *form) (func(ctx context.Context) (any, error), error) {
		line, name := strings.TrimSpace(f.valueOf("Add key")), f.valueOf("Name")
		remove := strings.TrimPrefix(strings.TrimSpace(f.valueOf("Remove #")), "#")
		switch {
		case line != "" && remove != "":
			return nil, db.Errorf(db.EINVALID, "Add a key or remove one, not both at once.")
		case line != "":
			return func(ctx context.Context) (any, error) {
				return a.backend.AddSSHKey(ctx, a.actor, u.ID, name, line)
			}, nil
		case remove != "":
			id, err := strconv.ParseUint(remove, 10, 64)
			if err != nil || id == 0 {
				return nil, db.FieldErrorf("Remove #", "must be the number of a key above, such as 1")
			}
			return func(ctx context.Context) (any, error) {
				return id, a.backend.DeleteSSHKey(ctx, a.actor, u.ID, id)
			}, nil
		}
		return nil, db.Errorf(db.EINVALID, "Paste a public key to add, or give the number of a key to remove.")
	}
	f.done = func(res any) tea.Cmd {
		switch r := res.(type) {
		case db.SSHKey:
			a.setOK(fmt.Sprintf("Added the SSH key %s (%s) to %s.", r.Name, r.Fingerprint, u.Email))
		case uint64:
			a.setOK(fmt.Sprintf("Removed SSH key #%d of %s.", r, u.Email))
		}
		return nil
	}
	return f
}

func (s *usersScreen) detailText() string {
	u, ok := s.selected()
	if !ok {
		return ""
	}
	a := s.app
	status := "active"
	if until, slowed := s.slowedUntil(u); slowed {
		status = "slowed until " + fmtFull(until, a.now()) + "; u ends the wait"
	}
	if !u.EmailVerified {
		status = "address not verified: cannot log in until the emailed link is opened; v verifies"
	}
	if u.PendingApproval {
		status = "waiting for approval: cannot log in until an Admin approves; a approves, R rejects"
		if !u.EmailVerified {
			status += " (the address must be verified too)"
		}
	}
	if u.Disabled {
		status = "disabled: cannot log in; x enables"
	}
	failed := strconv.Itoa(u.LoginAttempts)
	if max := a.opts.MaxLoginAttempts; max > 0 && u.LoginAttempts > 0 {
		failed += fmt.Sprintf(" (waits start at %d)", max)
	}
	via := s.joinedThrough(u)
	lastSeen := "never"
	if u.SeenAt != nil {
		lastSeen = fmtFull(*u.SeenAt, a.now())
	}
	username := u.Username
	if username == "" {
		username = "—"
	}
	emailSent := "no"
	if u.EmailSent {
		emailSent = "yes"
	}
	verified := "yes"
	if !u.EmailVerified {
		verified = "no: the verification email's link has not been opened yet"
	}
	lines := []resultLine{
		{label: "ID", value: strconv.FormatUint(u.ID, 10)},
		{label: "Email", value: u.Email},
		{label: "Name", value: u.Name},
		{label: "Username", value: username},
		{label: "Role", value: u.RootRole.Name()},
		{label: "Organization", value: u.OrganizationID},
		{label: "Groups", value: groupsText(u.Groups)},
		{label: "Status", value: status},
		{label: "Failed logins", value: failed},
		{label: "Last seen", value: lastSeen},
		{label: "Created", value: fmtFull(u.CreatedAt, a.now())},
		{label: "Joined through", value: via},
		{label: "Welcome email", value: emailSent},
		{label: "Email verified", value: verified},
	}
	return renderLines(a.styles, lines, s.list.w-1)
}

// joinedThrough says how a user came in: through which signup link, or
// through whose invitation.
func (s *usersScreen) joinedThrough(u db.User) string {
	switch {
	case u.LinkID != 0:
		for _, t := range s.links {
			if t.ID == u.LinkID {
				return fmt.Sprintf("the signup link %q", t.Name)
			}
		}
		return "a signup link that was deleted since, or is above your role"
	case u.InvitationID != 0:
		inv, ok := s.invs[u.InvitationID]
		if !ok {
			// Above the actor's role, or gone: the id is all there is.
			return "an invitation (" + db.InvitationName(u.InvitationID) + ")"
		}
		return fmt.Sprintf("an invitation from %s, accepted %s", actorName(inv.Creator), fmtTime(inv.UpdatedAt))
	}
	return "created directly"
}

func (s *usersScreen) view(w, h int) string {
	info := s.infoLine(s.total, "user", "users", func() string {
		u, _ := s.selected()
		return "User " + u.Email
	})
	return s.base.view(info, w, h)
}

func (s *usersScreen) help() helpKeys {
	k := s.app.keys
	if u, ok := s.selected(); ok && u.PendingApproval {
		// On a waiting user the groups' key approves.
		return s.listHelp(k.Approve, k.Reject, k.Role, k.Unlock, k.Disable, k.Verify, k.Delete)
	}
	return s.listHelp(k.Role, k.Groups, k.Unlock, k.ResetLink, k.Disable, k.Verify, k.Factors, k.Delete, k.SSHKeys)
}

// approveNote says what approving u does.
func approveNote(u db.User) string {
	if !u.EmailVerified {
		return "They may log in once they have also verified their address through the emailed link."
	}
	return "They may log in at once, and are emailed so."
}
