package tui

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"invited/db"
)

// fmtTime renders an instant in local time to the minute, as tables and
// details show it: "2026-12-02 16:04".
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// fmtFull renders an instant for detail views: local time, and how far
// from now, "2026-12-02 16:04 (in 7 days)".
func fmtFull(t, now time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return fmtTime(t) + " (" + relative(t, now) + ")"
}

// relative renders t as seen from now, in the largest unit that reads
// naturally: "just now", "in 5 minutes", "3 hours ago", "in 7 days",
// "in 2 months", "in 3 years". Each unit is rounded to the nearest, so a
// link made for 7 days reads "in 7 days", not "in 6 days" a second later.
func relative(t, now time.Time) string {
	d := t.Sub(now)
	past := d < 0
	if past {
		d = -d
	}
	const day = 24 * time.Hour
	round := func(d, unit time.Duration) int { return int((d + unit/2) / unit) }
	var s string
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		s = plural(int(d/time.Minute), "minute", "minutes")
	case d < 48*time.Hour:
		s = plural(round(d, time.Hour), "hour", "hours")
	case d < 60*day:
		s = plural(round(d, day), "day", "days")
	case d < 365*day:
		s = plural(round(d, 30*day), "month", "months")
	default:
		s = plural(round(d, 365*day), "year", "years")
	}
	if past {
		return s + " ago"
	}
	return "in " + s
}

// usesText says how often a link was used and what it allows, as a
// person would: "1 use, no limit", "2 uses of 10".
func usesText(uses, maxUses int) string {
	s := plural(uses, "use", "uses")
	if maxUses <= 0 {
		return s + ", no limit"
	}
	return s + " of " + strconv.Itoa(maxUses)
}

// fmtDuration renders a duration the way the forms accept it: "7d",
// "36h", "90m".
func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "h"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "m"
	}
	return d.String()
}

var daysWeeks = regexp.MustCompile(`^(\d+)([dw])(.*)$`)

// parseDuration reads a positive duration as an admin types it: "7d",
// "2w", "1d12h", "48h", "90m", or the API's "604800s".
func parseDuration(s string) (time.Duration, bool) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return 0, false
	}
	var d time.Duration
	if m := daysWeeks.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 100000 {
			return 0, false
		}
		unit := 24 * time.Hour
		if m[2] == "w" {
			unit *= 7
		}
		d = time.Duration(n) * unit
		s = m[3]
		if s == "" {
			return d, d > 0
		}
	}
	rest, ok := db.ParseDuration(s)
	if !ok {
		return 0, false
	}
	d += rest
	return d, d > 0
}

// expiryHelp is the hint and error text of expiry fields.
const expiryHelp = "give a duration such as 7d or 48h, or an RFC 3339 time such as 2030-01-31T12:00:00Z"

// parseExpiry reads an expiry as a duration from now or an RFC 3339 time.
// The error names field.
func parseExpiry(field, s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, db.FieldErrorf(field, "is required: %s", expiryHelp)
	}
	if d, ok := parseDuration(s); ok {
		return now.Add(d).UTC().Truncate(time.Second), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, db.FieldErrorf(field, "%q is not an expiry: %s", s, expiryHelp)
}

// roleNames renders role choices.
func roleNames(roles []db.Role) []string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = r.Name()
	}
	return names
}

// grantable lists the roles the actor may give, most powerful first.
func grantable(actor db.Role, among []db.Role) []db.Role {
	var out []db.Role
	for _, r := range among {
		if actor.AtLeast(r) {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return among
	}
	return out
}

// fit makes s exactly w columns wide and h lines high: longer lines are
// cut, missing lines added. h < 0 keeps the number of lines.
func fit(s string, w, h int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if h >= 0 {
		if len(lines) > h {
			lines = lines[:h]
		}
		for len(lines) < h {
			lines = append(lines, "")
		}
	}
	for i, l := range lines {
		lines[i] = padRight(ansi.Truncate(l, w, "…"), w)
	}
	return strings.Join(lines, "\n")
}

// padRight pads s with spaces to w columns.
func padRight(s string, w int) string {
	if n := w - ansi.StringWidth(s); n > 0 {
		return s + strings.Repeat(" ", n)
	}
	return s
}

// truncate cuts s to w columns with an ellipsis.
func truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	return ansi.Truncate(s, w, "…")
}

// wrap breaks plain text into lines of at most w columns, breaking long
// words (URLs) where they must.
func wrap(s string, w int) []string {
	if w <= 0 {
		return []string{s}
	}
	var out []string
	for _, para := range strings.Split(s, "\n") {
		out = append(out, strings.Split(ansi.Wrap(para, w, " -/&?"), "\n")...)
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

// plural renders a count with its noun.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
