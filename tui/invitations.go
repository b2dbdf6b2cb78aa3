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

// invitationsScreen lists personal invitations: create (one, or a batch,
// batch.go), resend, revoke.
// An invitation's link exists only in the answer of create and resend,
// so it is shown then, in a result box that can copy it and draw its QR
// code.
type invitationsScreen struct {
	records[db.Invitation]
}

// invitationsExtra is what the invitations screen reads for its form.
type invitationsExtra struct {
	orgs   []db.Organization
	groups []db.Group
	apps   []db.App
}

// pageSize is how many records one backend call asks for.
const pageSize = 500

// maxRecords bounds what a screen loads, so that a huge table cannot
// stall the terminal.
const maxRecords = 20000

func newInvitationsScreen(a *app) *invitationsScreen {
	s := &invitationsScreen{}
	s.app = a
	s.list = newList(a, []column{
		{title: "ID", width: 4},
		{title: "Email", flex: 1, min: 12},
		{title: "Role", width: 6},
		{title: "Organization", width: 12},
		{title: "State", width: 8},
		{title: "Expires", width: 12},
	})
	s.what = "invitations"
	s.fetch = func(ctx context.Context, b Backend, actor db.Actor) ([]db.Invitation, any, error) {
		invs, err := listAllInvitations(ctx, b, actor, "")
		if err != nil {
			return nil, nil, err
		}
		// The form offers the organizations and the groups.
		var x invitationsExtra
		if x.orgs, err = b.ListOrganizations(ctx); err != nil {
			return nil, nil, err
		}
		x.groups, err = b.ListGroups(ctx)
		x.apps = listAppsForForms(ctx, b)
		return invs, x, err
	}
	s.took = func(_ []db.Invitation, extra any) {
		x, _ := extra.(invitationsExtra)
		a.orgs, a.groups, a.apps = x.orgs, x.groups, x.apps
	}
	s.row = func(inv db.Invitation, now time.Time) row {
		exp := relative(inv.ExpiresAt, now)
		if inv.State == db.InvitationAccepted || inv.State == db.InvitationRevoked {
			exp = "—"
		}
		id := strconv.FormatUint(inv.ID, 10)
		return row{
			id:     id,
			cells:  []string{id, inv.Email, inv.Role.Name(), inv.OrgID, strings.ToLower(inv.State), exp},
			search: inv.Creator + " " + inv.Inviter,
		}
	}
	s.detail = s.detailText
	return s
}

func (s *invitationsScreen) name() string    { return "Invitations" }
func (s *invitationsScreen) tabName() string { return "Invites" }

func (s *invitationsScreen) key(k tea.KeyMsg) tea.Cmd {
	if ok, cmd := s.listKey(k, s.detailText); ok {
		return cmd
	}
	a := s.app
	keys := a.keys
	if key.Matches(k, keys.New) {
		a.push(s.createForm())
		return nil
	}
	if key.Matches(k, keys.Batch) {
		a.push(s.batchForm())
		return nil
	}
	inv, ok := s.selected()
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, keys.Resend):
		if !resendable(inv) {
			a.setInfo(fmt.Sprintf("The invitation of %s was %s; there is nothing to resend. Press n to invite them again.", inv.Email, strings.ToLower(inv.State)))
			return nil
		}
		a.push(s.resendForm(inv))
	case key.Matches(k, keys.Revoke):
		if !revocable(inv) {
			a.setInfo(fmt.Sprintf("The invitation of %s was %s; there is nothing to revoke.", inv.Email, strings.ToLower(inv.State)))
			return nil
		}
		a.ask(fmt.Sprintf("Revoke the invitation of %s? Its link stops working at once.", inv.Email),
			a.do("Could not revoke", func(ctx context.Context) (any, error) {
				return a.backend.RevokeInvitation(ctx, a.actor, inv.ID)
			}, func(any) tea.Cmd {
				a.setOK("Revoked the invitation of " + inv.Email + ".")
				return s.load()
			}))
	case key.Matches(k, keys.Copy), key.Matches(k, keys.QR):
		if resendable(inv) {
			a.setInfo("An invitation's link is shown only when it is created or resent: press r to resend it with a new link.")
		} else {
			a.setInfo(fmt.Sprintf("The invitation of %s was %s: its link no longer works.", inv.Email, strings.ToLower(inv.State)))
		}
	}
	return nil
}

// resendable reports whether an invitation can get a new link: it is
// pending, or expired.
func resendable(inv db.Invitation) bool {
	return inv.State == db.InvitationPending || inv.State == db.InvitationExpired
}

// revocable reports whether revoking an invitation would change anything:
// an accepted one cannot be, a revoked one already is.
func revocable(inv db.Invitation) bool { return resendable(inv) }

// resendForm asks for how long the new link works, then makes it.
func (s *invitationsScreen) resendForm(inv db.Invitation) *form {
	a := s.app
	f := newForm(a, "Resend the invitation of "+inv.Email, nil, nil)
	f.intro = "A new link replaces the old one, which stops working at once."
	ttl := inv.TTL
	if ttl <= 0 {
		ttl = a.opts.InvitationTTL
	}
	f.text("Valid for", fmtDuration(ttl), "", "How long the new link works, from now: 7d, 48h, 2w (at most 365d).", "ttl")
	f.submit = func(f *form) (func(ctx context.Context) (any, error), error) {
		ttl, ok := parseDuration(f.valueOf("Valid for"))
		switch {
		case !ok:
			return nil, db.FieldErrorf("ttl", "give a duration such as 7d or 48h")
		case ttl > db.MaxInvitationTTL:
			return nil, db.FieldErrorf("ttl", "may be at most 365 days")
		}
		return func(ctx context.Context) (any, error) {
			return a.backend.ResendInvitationWithTTL(ctx, a.actor, inv.ID, ttl)
		}, nil
	}
	f.done = func(res any) tea.Cmd {
		ni, _ := res.(db.Invitation)
		a.setOK("Made a new link for " + ni.Email + "; the old one no longer works.")
		a.push(s.resultBox("Invitation resent", ni))
		return s.load()
	}
	return f
}

// emailNote says, truthfully, what becomes of an invitation's email: in
// direct mode no server runs to send it, so it waits in the database's
// outbox until one starts; through the server it is queued there.
func (s *invitationsScreen) emailNote(inv db.Invitation) string {
	switch {
	case inv.DisableEmail:
		return "No email was sent: give the link to " + inv.Email + " yourself."
	case s.app.mode() == ModeServer:
		return "The email to " + inv.Email + " is queued: the server sends it now."
	default:
		return "The email to " + inv.Email + " is queued; it will be sent when the server starts (the server is not running)."
	}
}

// resultBox shows the link of a new or resent invitation, once.
func (s *invitationsScreen) resultBox(title string, inv db.Invitation) *result {
	note := "The link is shown only now; the database keeps only a hash of it. " + s.emailNote(inv)
	link := weburl.InvitationLink(s.app.opts.BaseURL, inv.Token)
	return &result{
		app: s.app, title: title, note: note,
		lines: []resultLine{
			{},
			{label: "Email", value: inv.Email},
			{label: "Role", value: inv.Role.Name()},
			{label: "Organization", value: inv.OrgID},
			{label: "Expires", value: fmtFull(inv.ExpiresAt, s.app.now())},
			{label: "Link", value: link, wrapAnywhere: true, secret: true},
		},
		copyText: link, copyWhat: "the link", qrText: link,
	}
}

// createForm is the form of a new invitation.
func (s *invitationsScreen) createForm() *form {
	a := s.app
	roles := grantable(a.actor.Role, db.Roles)
	f := newForm(a, "New invitation", nil, nil)
	f.intro = "One person, by email: they get a link to set their name and password."
	f.text("Email", "", "ada@example.com", "The address to invite.", "invitedEmail")
	f.choose("Role", roleNames(roles), roleIndex(roles, db.RoleViewer), "The role they get.", "roleId")
	orgs := []string{db.DefaultOrganization}
	if len(a.orgs) > 0 {
		orgs = orgs[:0]
		for _, o := range a.orgs {
			orgs = append(orgs, o.ID)
		}
	}
	def := 0
	for i, o := range orgs {
		if o == db.DefaultOrganization {
			def = i
		}
	}
	f.choose("Organization", orgs, def, "The organization they join; create more in tab 5.", "organizationId")
	f.text("Valid for", fmtDuration(a.opts.InvitationTTL), "", "How long the link works: 7d, 48h, 2w (at most 365d).", "ttl", "expirationTime")
	if len(a.groups) > 0 {
		f.text("Groups", "", "none", "They get these. "+a.groupsHint(), "groups")
	}
	a.appField(f, "", "Optional: once they accept, they are signed in and sent on to this app; the email names it")
	f.choose("Send email", []string{"yes", "no"}, 0, "No: you pass the link on yourself.", "disableInvitationEmail")
	inviter := a.inviter
	if inviter == "" {
		inviter = a.opts.Inviter
	}
	f.text("Inviter", inviter, "Ada Lovelace", "The name the email is signed with (\"… invited you to join\"); kept for your next invitations.", "inviter")
	f.submit = func(f *form) (func(ctx context.Context) (any, error), error) {
		var c checks
		in := db.NewInvitation{DefaultTTL: a.opts.InvitationTTL, Groups: parseGroupList(f.valueOf("Groups")),
			AppID: appOf(f)}
		email, err := db.NormalizeEmail("invitedEmail", f.valueOf("Email"))
		c.add(err)
		in.Email = email
		in.Role = roleByName(f.valueOf("Role"))
		in.OrgID = f.valueOf("Organization")
		ttl, ok := parseDuration(f.valueOf("Valid for"))
		switch {
		case !ok:
			c.fail("ttl", "give a duration such as 7d or 48h")
		case ttl > db.MaxInvitationTTL:
			c.fail("ttl", "may be at most 365 days")
		}
		in.TTL = &ttl
		in.DisableEmail = f.valueOf("Send email") == "no"
		// The person invited reads this name: never the login of whoever
		// runs the terminal ("root invited you").
		in.Inviter = strings.TrimSpace(f.valueOf("Inviter"))
		if in.Inviter == "" {
			c.fail("inviter", "give the name the email is signed with, such as your own or "+a.opts.Inviter)
		} else {
			a.inviter = in.Inviter
		}
		if err := c.err(); err != nil {
			return nil, err
		}
		return func(ctx context.Context) (any, error) { return a.backend.CreateInvitation(ctx, a.actor, in) }, nil
	}
	f.done = func(res any) tea.Cmd {
		inv, _ := res.(db.Invitation)
		a.setOK("Invited " + inv.Email + ".")
		a.push(s.resultBox("Invitation created", inv))
		s.selectNext = strconv.FormatUint(inv.ID, 10)
		return s.load()
	}
	return f
}

func (s *invitationsScreen) detailText() string {
	inv, ok := s.selected()
	if !ok {
		return ""
	}
	a := s.app
	labels := "none"
	if len(inv.Labels) > 0 {
		var parts []string
		for _, l := range inv.Labels {
			parts = append(parts, l.Key+"="+l.Value)
		}
		labels = strings.Join(parts, ", ")
	}
	email := "sent by the server (queued until it runs)"
	if inv.DisableEmail {
		email = "not sent (disabled)"
	}
	lines := []resultLine{
		{label: "Name", value: db.InvitationName(inv.ID)},
		{label: "Email", value: inv.Email},
		{label: "State", value: inv.State},
		{label: "Role", value: inv.Role.Name()},
		{label: "Organization", value: inv.OrgID},
	}
	if len(inv.Groups) > 0 {
		lines = append(lines, resultLine{label: "Groups", value: groupsText(inv.Groups)})
	}
	if inv.AppID != "" {
		lines = append(lines, resultLine{label: "App", value: a.appText(inv.AppID)})
	}
	lines = append(lines, []resultLine{
		{label: "Expires", value: fmtFull(inv.ExpiresAt, a.now())},
		{label: "Valid for", value: fmtDuration(inv.TTL)},
		{label: "Created", value: fmtFull(inv.CreatedAt, a.now()) + " by " + inv.Creator},
		{label: "Updated", value: fmtFull(inv.UpdatedAt, a.now()) + " by " + inv.Updater},
		{label: "Inviter", value: inv.Inviter},
		{label: "Email", value: email},
		{label: "Labels", value: labels},
	}...)
	if inv.UserID != 0 {
		lines = append(lines, resultLine{label: "Accepted by", value: inv.Email + " (user " + strconv.FormatUint(inv.UserID, 10) + ")"})
	}
	if resendable(inv) {
		lines = append(lines, resultLine{}, resultLine{value: "The link is shown only when the invitation is created or resent (r)."})
	}
	return renderLines(a.styles, lines, s.list.w-1)
}

func (s *invitationsScreen) view(w, h int) string {
	info := s.infoLine(len(s.items), "invitation", "invitations", func() string {
		inv, _ := s.selected()
		return "Invitation of " + inv.Email
	})
	return s.base.view(info, w, h)
}

func (s *invitationsScreen) help() helpKeys {
	k := s.app.keys
	// Resend and revoke are offered only where they can do something.
	if inv, ok := s.selected(); ok && !resendable(inv) {
		return s.listHelp(k.New, k.Batch)
	}
	return s.listHelp(k.New, k.Batch, k.Resend, k.Revoke)
}
