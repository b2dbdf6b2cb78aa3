package tui

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"invited/db"
)

// Batch invitations (DESIGN §12): the admin pastes a list of addresses,
// one a line, or a CSV with a header line, and gets a table of what
// became of each.

// batchColumns are the columns a CSV may have, by the names its header
// may give them.
var batchColumns = map[string]string{
	"email": "email", "address": "email", "e-mail": "email",
	"role": "role", "roleid": "role",
	"groups": "groups", "group": "groups",
	"organization": "organization", "organizationid": "organization", "org": "organization",
}

// parseBatchList reads what the admin pasted into rows: either one
// address a line (blank lines and lines starting with # skipped), or, when
// the first line is a header naming an email column, a CSV whose optional
// role, groups (separated by ; or |) and organization columns override
// def for that row when not empty. Every row starts as def. Errors name the
// line and say what to fix; their path is "invitations".
func parseBatchList(text string, def db.BatchRow) ([]db.BatchRow, error) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	first := -1
	for i, l := range lines {
		if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "#") {
			first = i
			break
		}
	}
	if first < 0 {
		return nil, db.FieldErrorf("invitations", "is empty: paste one address a line, or a CSV whose first line is a header such as email,role,groups,organization")
	}
	var rows []db.BatchRow
	if looksLikeHeader(lines[first]) {
		var err error
		if rows, err = parseBatchCSV(lines, first, def); err != nil {
			return nil, err
		}
	} else {
		for i, l := range lines {
			t := strings.TrimSpace(l)
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			if strings.ContainsAny(t, ",;\t") {
				return nil, db.FieldErrorf("invitations", "line %d: give one address a line; for a CSV, start with a header line such as email,role,groups,organization", i+1)
			}
			row := def
			row.Email = t
			rows = append(rows, row)
		}
	}
	switch {
	case len(rows) == 0:
		return nil, db.FieldErrorf("invitations", "has a header but no addresses under it")
	case len(rows) > db.MaxBatchInvitations:
		return nil, db.FieldErrorf("invitations", "holds %d addresses; at most %d may be invited at once, so split the list", len(rows), db.MaxBatchInvitations)
	}
	return rows, nil
}

// looksLikeHeader reports whether line is a CSV header: one of its cells
// names the email column.
func looksLikeHeader(line string) bool {
	for _, cell := range strings.Split(line, ",") {
		if batchColumns[strings.ToLower(strings.TrimSpace(cell))] == "email" {
			return true
		}
	}
	return false
}

// parseBatchCSV reads the CSV that starts at lines[first] (its header).
func parseBatchCSV(lines []string, first int, def db.BatchRow) ([]db.BatchRow, error) {
	r := csv.NewReader(strings.NewReader(strings.Join(lines[first:], "\n")))
	r.TrimLeadingSpace = true
	r.Comment = '#'
	// Line numbers are the pasted text's, not the CSV reader's.
	lineOf := func(n int) int { return n + first }
	header, err := r.Read()
	if err != nil {
		return nil, csvError(err, lineOf)
	}
	cols := map[string]int{}
	for i, h := range header {
		name, ok := batchColumns[strings.ToLower(strings.TrimSpace(h))]
		if !ok {
			return nil, db.FieldErrorf("invitations", "line %d: %q is not a column; the columns are email, role, groups and organization", lineOf(1), clipText(h, 40))
		}
		if _, twice := cols[name]; twice {
			return nil, db.FieldErrorf("invitations", "line %d: the column %s is given twice", lineOf(1), name)
		}
		cols[name] = i
	}
	cell := func(rec []string, name string) string {
		if i, ok := cols[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var rows []db.BatchRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvError(err, lineOf)
		}
		line, _ := r.FieldPos(0)
		line = lineOf(line)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		row := def
		row.Email = cell(rec, "email")
		if row.Email == "" {
			return nil, db.FieldErrorf("invitations", "line %d: the email cell is empty; give an address or delete the line", line)
		}
		if v := cell(rec, "role"); v != "" {
			role, ok := db.ParseRole(v)
			if !ok {
				if n, err := strconv.Atoi(v); err == nil && db.Role(n).Valid() {
					role, ok = db.Role(n), true
				}
			}
			if !ok {
				return nil, db.FieldErrorf("invitations", "line %d: %q is not a role; use Admin, Editor or Viewer, or leave it empty for the role chosen below", line, clipText(v, 40))
			}
			row.Role = role
		}
		if v := cell(rec, "groups"); v != "" {
			row.Groups = strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == '|' || r == ' ' })
		}
		if v := cell(rec, "organization"); v != "" {
			row.OrgID = v
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// csvError says where a CSV is broken and what to do.
func csvError(err error, lineOf func(int) int) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		what := pe.Err.Error()
		switch {
		case errors.Is(pe.Err, csv.ErrFieldCount):
			what = "it has another number of cells than the header; give every line the header's columns (leave a cell empty for the default)"
		case errors.Is(pe.Err, csv.ErrQuote), errors.Is(pe.Err, csv.ErrBareQuote):
			what = "a quote is not closed or stands inside a cell; put cells with quotes or commas in double quotes"
		}
		return db.FieldErrorf("invitations", "line %d: %s", lineOf(pe.Line), what)
	}
	return db.FieldErrorf("invitations", "could not be read as CSV: %v", err)
}

// clipText shortens s to n characters for a message.
func clipText(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// batchForm is the form of a batch: the list, then what every row gets
// unless its CSV line says otherwise.
func (s *invitationsScreen) batchForm() *form {
	a := s.app
	roles := grantable(a.actor.Role, db.Roles)
	f := newForm(a, "Invite many people", nil, nil)
	f.intro = "Paste one address a line, or a CSV with a header line (email, and optionally role, groups separated by ; or |, organization). Tab leaves the list."
	f.area("Addresses", "ada@example.com\ngrace@example.com", "At most 500. A CSV's role, groups and organization win over the choices below.",
		6, db.MaxBatchInvitations+50, (db.MaxBatchInvitations+50)*400, "invitations")
	f.choose("Role", roleNames(roles), roleIndex(roles, db.RoleViewer), "The role each gets, unless their CSV line gives one.", "roleId")
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
	f.choose("Organization", orgs, def, "The organization each joins, unless their CSV line gives one.", "organizationId")
	if len(a.groups) > 0 {
		f.text("Groups", "", "none", "Each gets these, unless their CSV line gives groups. "+a.groupsHint(), "groups")
	}
	a.appField(f, "", "The app each is sent on to, signed in, once they accept")
	f.text("Valid for", fmtDuration(a.opts.InvitationTTL), "", "How long each link works: 7d, 48h, 2w (at most 365d).", "ttl")
	f.choose("Send email", []string{"yes", "no"}, 0, "No: you pass the links on yourself.", "disableInvitationEmail")
	inviter := a.inviter
	if inviter == "" {
		inviter = a.opts.Inviter
	}
	f.text("Inviter", inviter, "Ada Lovelace", "The name the emails are signed with.", "inviter")
	f.submit = func(f *form) (func(ctx context.Context) (any, error), error) {
		var c checks
		in := db.NewInvitationBatch{DefaultTTL: a.opts.InvitationTTL, DisableEmail: f.valueOf("Send email") == "no", AppID: appOf(f)}
		ttl, ok := parseDuration(f.valueOf("Valid for"))
		switch {
		case !ok:
			c.fail("ttl", "give a duration such as 7d or 48h")
		case ttl > db.MaxInvitationTTL:
			c.fail("ttl", "may be at most 365 days")
		}
		in.TTL = &ttl
		in.Inviter = strings.TrimSpace(f.valueOf("Inviter"))
		if in.Inviter == "" {
			c.fail("inviter", "give the name the emails are signed with, such as your own or "+a.opts.Inviter)
		} else {
			a.inviter = in.Inviter
		}
		rows, err := parseBatchList(f.valueOf("Addresses"), db.BatchRow{
			Role: roleByName(f.valueOf("Role")), OrgID: f.valueOf("Organization"), Groups: parseGroupList(f.valueOf("Groups")),
		})
		c.add(err)
		in.Rows = rows
		if err := c.err(); err != nil {
			return nil, err
		}
		return func(ctx context.Context) (any, error) { return a.backend.CreateInvitationBatch(ctx, a.actor, in) }, nil
	}
	f.done = func(res any) tea.Cmd {
		results, _ := res.([]db.BatchResult)
		box := &batchResults{app: a, results: results, note: s.batchEmailNote(results)}
		a.setOK(box.summary())
		a.push(box)
		return s.load()
	}
	return f
}

// batchEmailNote says what becomes of the emails of a batch, as emailNote
// does for one invitation.
func (s *invitationsScreen) batchEmailNote(results []db.BatchResult) string {
	for _, r := range results {
		if r.Invitation == nil {
			continue
		}
		switch {
		case r.Invitation.DisableEmail:
			return "No emails were sent: to show a person's link, resend their invitation (r)."
		case s.app.mode() == ModeServer:
			return "Their emails are queued: the server sends them now."
		default:
			return "Their emails are queued; they will be sent when the server starts (the server is not running)."
		}
	}
	return "Nobody was invited."
}

// batchResults shows what became of each address of a batch: a table
// that scrolls, and below it the whole reason of the selected row.
type batchResults struct {
	app     *app
	results []db.BatchResult
	note    string
	sel     int
	top     int
	height  int // rows shown at the last view
}

func (b *batchResults) summary() string {
	counts := map[string]int{}
	for _, r := range b.results {
		counts[r.Status]++
	}
	var parts []string
	for _, st := range []string{db.BatchInvited, db.BatchHasAccount, db.BatchAlreadyInvited, db.BatchInvalid} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
	}
	return "Batch done: " + strings.Join(parts, ", ") + "."
}

func (b *batchResults) update(msg tea.Msg) (bool, tea.Cmd) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return false, nil
	}
	keys := b.app.keys
	page := max(1, b.height)
	switch {
	case key.Matches(k, keys.Close):
		return true, nil
	case key.Matches(k, keys.Down):
		b.sel++
	case key.Matches(k, keys.Up):
		b.sel--
	case key.Matches(k, keys.PageDown):
		b.sel += page
	case key.Matches(k, keys.PageUp):
		b.sel -= page
	case key.Matches(k, keys.Top):
		b.sel = 0
	case key.Matches(k, keys.Bottom):
		b.sel = len(b.results) - 1
	}
	b.sel = max(0, min(b.sel, len(b.results)-1))
	return false, nil
}

func (b *batchResults) view(w, h int) string {
	s := b.app.styles
	inner := max(30, w-2)
	var head []string
	head = append(head, s.Title.Render("Batch results"))
	for _, l := range wrap(b.summary()+" "+b.note, inner) {
		head = append(head, s.Faint.Render(l))
	}
	head = append(head, "")
	statusW := len(db.BatchAlreadyInvited)
	emailW := max(12, min(40, inner/3))
	errW := max(10, inner-emailW-statusW-6)
	head = append(head, s.Label.Render("  "+padRight("Address", emailW)+"  "+padRight("Status", statusW)+"  "+"Error"))
	// Below the table: where we are, and the selected row's whole error.
	var foot []string
	if len(b.results) > 0 {
		r := b.results[b.sel]
		foot = append(foot, s.Faint.Render(fmt.Sprintf("row %d of %d", b.sel+1, len(b.results))))
		if r.Err != nil {
			foot = append(foot, wrap(r.Email+": "+r.Err.Message, inner)...)
		}
	}
	b.height = max(1, h-len(head)-len(foot)-1)
	switch {
	case b.sel < b.top:
		b.top = b.sel
	case b.sel >= b.top+b.height:
		b.top = b.sel - b.height + 1
	}
	out := head
	for i := b.top; i < len(b.results) && i < b.top+b.height; i++ {
		r := b.results[i]
		st := padRight(r.Status, statusW)
		switch r.Status {
		case db.BatchInvited:
			st = s.Focused.Render(st)
		case db.BatchInvalid:
			st = s.FieldError.Render(st)
		}
		msg := ""
		if r.Err != nil {
			msg = r.Err.Message
		}
		marker := "  "
		if i == b.sel {
			marker = s.Focused.Render("> ")
		}
		out = append(out, marker+padRight(truncate(r.Email, emailW), emailW)+"  "+st+"  "+truncate(msg, errW))
	}
	out = append(out, "")
	out = append(out, foot...)
	return lipgloss.NewStyle().PaddingLeft(1).Render(strings.Join(out, "\n"))
}

func (b *batchResults) help() helpKeys {
	k := b.app.keys
	return helpKeys{short: []key.Binding{k.Up, k.Down, k.PageDown, withHelp(k.Close, "close")}, full: [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {withHelp(k.Close, "close")},
	}}
}
