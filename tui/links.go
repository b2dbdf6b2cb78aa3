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

// linksScreen lists the signup links: create, enable/disable, extend,
// edit (name, public intro, role, max uses, domains), delete, copy the
// URL, show it as a QR code, and see who joined.
type linksScreen struct {
	records[db.SignupToken]
}

// linksExtra is what the links screen reads for its forms.
type linksExtra struct {
	groups []db.Group
	apps   []db.App
}

func newLinksScreen(a *app) *linksScreen {
	s := &linksScreen{}
	s.app = a
	s.list = newList(a, []column{
		{title: "Name", flex: 1, min: 12},
		{title: "State", width: 8},
		{title: "Role", width: 6},
		{title: "Uses", width: 7},
		{title: "Expires", width: 12},
		{title: "Created by", width: 10},
	})
	s.what = "signup links"
	s.fetch = func(ctx context.Context, b Backend, actor db.Actor) ([]db.SignupToken, any, error) {
		tokens, err := b.ListSignupTokens(ctx, actor)
		if err != nil {
			return nil, nil, err
		}
		// The forms offer the groups and the apps.
		var x linksExtra
		x.groups, err = b.ListGroups(ctx)
		x.apps = listAppsForForms(ctx, b)
		return tokens, x, err
	}
	s.took = func(_ []db.SignupToken, extra any) {
		x, _ := extra.(linksExtra)
		a.groups, a.apps = x.groups, x.apps
	}
	s.row = func(t db.SignupToken, now time.Time) row {
		uses := strconv.Itoa(t.Uses)
		if t.MaxUses > 0 {
			uses += "/" + strconv.Itoa(t.MaxUses)
		}
		return row{
			id:     t.Secret,
			cells:  []string{t.Name, linkState(t), t.Role.Name(), uses, relative(t.ExpiresAt, now), t.CreatedBy},
			search: s.app.signupLink(t) + " " + strings.Join(t.AllowedDomains, " "),
		}
	}
	s.detail = s.detailText
	return s
}

// signupLink is where people sign up through t, as the server says it.
func (a *app) signupLink(t db.SignupToken) string { return weburl.SignupLink(a.opts.BaseURL, t.Secret) }

func (s *linksScreen) name() string    { return "Signup links" }
func (s *linksScreen) tabName() string { return "Links" }

// linkState says in one word whether the link can be used.
func linkState(t db.SignupToken) string {
	switch {
	case !t.Switched:
		return "disabled"
	case t.Expired:
		return "expired"
	case t.MaxUses > 0 && t.Uses >= t.MaxUses:
		return "used up"
	}
	return "enabled"
}

func (s *linksScreen) key(k tea.KeyMsg) tea.Cmd {
	if ok, cmd := s.listKey(k, s.detailText); ok {
		return cmd
	}
	keys := s.app.keys
	if key.Matches(k, keys.New) {
		s.app.push(s.createForm())
		return nil
	}
	t, ok := s.selected()
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, keys.Toggle):
		if t.Switched {
			s.app.ask(fmt.Sprintf("Disable the signup link %q? Nobody can sign up through it until it is enabled again.", t.Name), s.setEnabled(t, false))
			return nil
		}
		return s.setEnabled(t, true)
	case key.Matches(k, keys.Extend):
		s.app.push(s.extendForm(t))
	case key.Matches(k, keys.Edit):
		s.app.push(s.editForm(t))
	case key.Matches(k, keys.Delete):
		a := s.app
		joined := "Nobody joined through it."
		if n := len(t.Users); n > 0 {
			joined = plural(n, "person", "people") + " joined through it; they keep their accounts."
		}
		a.ask(fmt.Sprintf("Delete the signup link %q? Nobody can sign up through it any more. %s This cannot be undone.", t.Name, joined),
			a.do("Could not delete the link", func(ctx context.Context) (any, error) {
				return nil, a.backend.DeleteSignupToken(ctx, a.actor, t.Secret)
			}, func(any) tea.Cmd {
				a.setOK(fmt.Sprintf("Deleted the signup link %q.", t.Name))
				return s.load()
			}))
	case key.Matches(k, keys.Copy):
		return s.app.copy("the URL", s.app.signupLink(t))
	case key.Matches(k, keys.QR):
		s.app.setInfo("")
		s.app.push(&qrView{app: s.app, title: t.Name, text: s.app.signupLink(t)})
	}
	return nil
}

func (s *linksScreen) setEnabled(t db.SignupToken, on bool) tea.Cmd {
	a := s.app
	return a.do("Could not change the link", func(ctx context.Context) (any, error) {
		return a.backend.UpdateSignupToken(ctx, a.actor, t.Secret, db.SignupTokenUpdate{Enabled: &on})
	}, func(res any) tea.Cmd {
		nt, _ := res.(db.SignupToken)
		switch {
		case !on:
			a.setOK(fmt.Sprintf("Disabled the signup link %q.", t.Name))
		case nt.Expired:
			a.setOK(fmt.Sprintf("Enabled the signup link %q, but it has expired: press e to extend it.", t.Name))
		default:
			a.setOK(fmt.Sprintf("Enabled the signup link %q.", t.Name))
		}
		return s.load()
	})
}

// createForm is the form of a new link.
func (s *linksScreen) createForm() *form {
	a := s.app
	roles := grantable(a.actor.Role, db.Roles)
	f := newForm(a, "New signup link", nil, nil)
	f.intro = "Anyone with the link can sign up until it expires, is disabled or used up."
	// The name is for admins only; the intro is what the public signup
	// page shows, so the labels say which is which.
	f.text("Name (private)", "", "e.g. Spring interns", "What the link is for; only admins see it, never the people who sign up.", "name")
	f.text("Intro (public)", "", "none", "Optional: shown on the signup page to everyone who opens the link, e.g. Welcome to the spring internship.", "description")
	f.text("Expires", "7d", "", "In how long: 7d, 48h, 2w; or an RFC 3339 time such as 2030-01-31T12:00:00Z.", "expiresAt")
	f.choose("Role", roleNames(roles), roleIndex(roles, db.RoleViewer), "The role of people who sign up through it.", "role")
	f.text("Max uses", "", "no limit", "How many people may sign up; empty for no limit.", "maxUses")
	f.text("Allowed domains", "", "any domain", "Only emails at these domains, comma separated (example.com, example.org); empty for any.", "allowedDomains")
	// Only once there are groups to hand out: a form without them stays
	// as short as it was.
	if len(a.groups) > 0 {
		f.text("Groups", "", "none", "Whoever signs up gets these. "+a.groupsHint(), "groups")
	}
	a.appField(f, "", "Optional: whoever signs up on the page is signed in and sent on to this app")
	approvalField(f, false)
	f.submit = func(f *form) (func(ctx context.Context) (any, error), error) {
		var c checks
		in := db.NewSignupToken{Groups: parseGroupList(f.valueOf("Groups")), AppID: appOf(f),
			RequireApproval: f.valueOf("Approval") == approvalChoices[1]}
		var maxUses int
		in.Name, in.Description, in.Role, maxUses, in.AllowedDomains = linkFields(f, &c)
		if maxUses > 0 {
			in.MaxUses = &maxUses
		}
		exp, err := parseExpiry("expiresAt", f.valueOf("Expires"), a.now())
		c.add(err)
		if err == nil && !exp.After(a.now()) {
			c.fail("expiresAt", "must be in the future")
		}
		in.ExpiresAt = exp
		if err := c.err(); err != nil {
			return nil, err
		}
		return func(ctx context.Context) (any, error) { return a.backend.CreateSignupToken(ctx, a.actor, in) }, nil
	}
	f.done = func(res any) tea.Cmd {
		t, _ := res.(db.SignupToken)
		a.setOK(fmt.Sprintf("Created the signup link %q: c copies its URL, Q shows a QR code.", t.Name))
		s.selectNext = t.Secret
		return s.load()
	}
	return f
}

// approvalChoices are the values of the forms' Approval field.
var approvalChoices = []string{"not required", "required"}

// approvalField adds the Approval choice (requireApproval) to a link form.
func approvalField(f *form, required bool) {
	chosen := 0
	if required {
		chosen = 1
	}
	f.choose("Approval", approvalChoices, chosen, "Required: whoever signs up waits until an Admin approves them (Users tab, a).", "requireApproval")
}

// linkFields reads the fields the create and edit forms share: name,
// public intro, role, max uses and allowed domains.
func linkFields(f *form, c *checks) (name, description string, role db.Role, maxUses int, domains []string) {
	var err error
	name, err = db.CleanText("name", f.valueOf("Name (private)"), true, db.MaxNameLength)
	c.add(err)
	description, err = db.CleanText("description", f.valueOf("Intro (public)"), false, db.MaxNameLength)
	c.add(err)
	role = roleByName(f.valueOf("Role"))
	if v := strings.TrimSpace(f.valueOf("Max uses")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			c.fail("maxUses", "must be a positive whole number, or empty for no limit")
		}
		maxUses = n
	}
	for i, d := range splitList(f.valueOf("Allowed domains")) {
		nd, err := db.NormalizeDomain(fmt.Sprintf("allowedDomains[%d]", i), d)
		c.add(err)
		domains = append(domains, nd)
	}
	if len(domains) > db.MaxDomains {
		c.fail("allowedDomains", fmt.Sprintf("may list at most %d domains", db.MaxDomains))
	}
	return name, description, role, maxUses, domains
}

// editForm changes a link's name, public intro, role, max uses and
// allowed domains; what is left as it was is not sent.
func (s *linksScreen) editForm(t db.SignupToken) *form {
	a := s.app
	roles := grantable(a.actor.Role, db.Roles)
	f := newForm(a, fmt.Sprintf("Edit the signup link %q", t.Name), nil, nil)
	f.intro = fmt.Sprintf("%s so far. A new role or limit applies to the next people who sign up.", usesText(t.Uses, t.MaxUses))
	maxUses := ""
	if t.MaxUses > 0 {
		maxUses = strconv.Itoa(t.MaxUses)
	}
	f.text("Name (private)", t.Name, "e.g. Spring interns", "What the link is for; only admins see it.", "name")
	f.text("Intro (public)", t.Description, "none", "Shown on the signup page to everyone who opens the link; empty for none.", "description")
	f.choose("Role", roleNames(roles), roleIndex(roles, t.Role), "The role of people who sign up through it from now on.", "role")
	f.text("Max uses", maxUses, "no limit", "How many people may sign up in all; empty for no limit.", "maxUses")
	f.text("Allowed domains", strings.Join(t.AllowedDomains, ", "), "any domain", "Only emails at these domains, comma separated; empty for any.", "allowedDomains")
	if len(a.groups) > 0 || len(t.Groups) > 0 {
		f.text("Groups", strings.Join(t.Groups, ", "), "none", "Whoever signs up from now on gets these. "+a.groupsHint(), "groups")
	}
	a.appField(f, t.AppID, "Where people who sign up from now on are sent, signed in")
	approvalField(f, t.RequireApproval)
	f.submit = func(f *form) (func(ctx context.Context) (any, error), error) {
		var c checks
		name, description, role, maxUses, domains := linkFields(f, &c)
		if err := c.err(); err != nil {
			return nil, err
		}
		var in db.SignupTokenUpdate
		if name != t.Name {
			in.Name = &name
		}
		if description != t.Description {
			in.Description = &description
		}
		if role != t.Role {
			in.Role = &role
		}
		if maxUses != t.MaxUses {
			in.MaxUses = &maxUses
		}
		if strings.Join(domains, ",") != strings.Join(t.AllowedDomains, ",") {
			if domains == nil {
				domains = []string{}
			}
			in.AllowedDomains = &domains
		}
		if groups := parseGroupList(f.valueOf("Groups")); strings.Join(groups, ",") != strings.Join(t.Groups, ",") {
			in.Groups = &groups
		}
		if appID := appOf(f); appID != t.AppID {
			in.AppID = &appID
		}
		if required := f.valueOf("Approval") == approvalChoices[1]; required != t.RequireApproval {
			in.RequireApproval = &required
		}
		if in == (db.SignupTokenUpdate{}) {
			return nil, db.Errorf(db.EINVALID, "Nothing changed: edit a field, or press esc to cancel.")
		}
		return func(ctx context.Context) (any, error) { return a.backend.UpdateSignupToken(ctx, a.actor, t.Secret, in) }, nil
	}
	f.done = func(res any) tea.Cmd {
		nt, _ := res.(db.SignupToken)
		a.setOK(fmt.Sprintf("Saved the signup link %q.", nt.Name))
		return s.load()
	}
	return f
}

// extendForm sets a new expiry.
func (s *linksScreen) extendForm(t db.SignupToken) *form {
	a := s.app
	f := newForm(a, fmt.Sprintf("New expiry for %q", t.Name), nil, nil)
	f.intro = fmt.Sprintf("It expires %s. A time in the past ends the link now.", fmtFull(t.ExpiresAt, a.now()))
	f.text("Expires", "7d", "", "From now: 7d, 48h, 2w; or an RFC 3339 time such as 2030-01-31T12:00:00Z.", "expiresAt")
	f.submit = func(f *form) (func(ctx context.Context) (any, error), error) {
		exp, err := parseExpiry("expiresAt", f.valueOf("Expires"), a.now())
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) (any, error) {
			return a.backend.UpdateSignupToken(ctx, a.actor, t.Secret, db.SignupTokenUpdate{ExpiresAt: &exp})
		}, nil
	}
	f.done = func(res any) tea.Cmd {
		nt, _ := res.(db.SignupToken)
		a.setOK(fmt.Sprintf("The signup link %q now expires %s.", nt.Name, fmtFull(nt.ExpiresAt, a.now())))
		return s.load()
	}
	return f
}

func (s *linksScreen) detailText() string {
	t, ok := s.selected()
	if !ok {
		return ""
	}
	a := s.app
	domains := "any"
	if len(t.AllowedDomains) > 0 {
		domains = strings.Join(t.AllowedDomains, ", ")
	}
	lines := []resultLine{
		{label: "URL", value: a.signupLink(t), wrapAnywhere: true},
	}
	if t.Description != "" {
		lines = append(lines, resultLine{label: "Public intro", value: t.Description})
	}
	lines = append(lines, []resultLine{
		{label: "State", value: linkState(t)},
		{label: "Role", value: t.Role.Name()},
		{label: "Uses", value: usesText(t.Uses, t.MaxUses)},
		{label: "Expires", value: fmtFull(t.ExpiresAt, a.now())},
		{label: "Allowed domains", value: domains},
	}...)
	if t.RequireApproval {
		lines = append(lines, resultLine{label: "Approval", value: "required: whoever signs up waits for an Admin (Users tab, a)"})
	}
	if len(t.Groups) > 0 {
		lines = append(lines, resultLine{label: "Groups", value: groupsText(t.Groups)})
	}
	if t.AppID != "" {
		lines = append(lines, resultLine{label: "App", value: a.appText(t.AppID)})
	}
	lines = append(lines, []resultLine{
		{label: "Created", value: fmtFull(t.CreatedAt, a.now()) + " by " + t.CreatedBy},
		{},
	}...)
	var b strings.Builder
	b.WriteString(renderLines(a.styles, lines, s.list.w-1))
	b.WriteString(a.styles.Title.Render(fmt.Sprintf("Joined through this link: %d", len(t.Users))) + "\n")
	if len(t.Users) == 0 {
		b.WriteString(a.styles.Faint.Render("Nobody yet.") + "\n")
	}
	ew := 0
	for _, u := range t.Users {
		ew = max(ew, len(u.Email))
	}
	for _, u := range t.Users {
		b.WriteString(fmt.Sprintf("%s  %-*s  %s\n", fmtTime(u.CreatedAt), ew, u.Email, u.Name))
	}
	return b.String()
}

func (s *linksScreen) view(w, h int) string {
	info := s.infoLine(len(s.items), "signup link", "signup links", func() string {
		t, _ := s.selected()
		return fmt.Sprintf("Signup link %q", t.Name)
	})
	return s.base.view(info, w, h)
}

func (s *linksScreen) help() helpKeys {
	k := s.app.keys
	return s.listHelp(k.New, k.Toggle, k.Extend, k.Edit, k.Delete, k.Copy, k.QR)
}

// splitList splits a comma separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
