package tui

import (
	"context"
	"strings"

	"invited/db"
)

// Inviting straight into an app (DESIGN §12): the link and invitation
// forms offer the apps as a choice, and the details name the app.

// noApp is the app choice that names no app.
const noApp = "none"

// listAppsForForms reads the apps the forms offer. An actor who may not
// read apps gets no choice rather than a screen that fails to load.
func listAppsForForms(ctx context.Context, b Backend) []db.App {
	apps, err := b.ListApps(ctx)
	if err != nil {
		return nil
	}
	return apps
}

// appField adds the optional app choice to f, with current ("" for none)
// chosen; a form stays as it was when there are no apps and none is set.
func (a *app) appField(f *form, current, hint string) {
	if len(a.apps) == 0 && current == "" {
		return
	}
	values, chosen := []string{noApp}, 0
	names := make([]string, 0, len(a.apps))
	for _, ap := range a.apps {
		values = append(values, ap.ID)
		names = append(names, ap.ID+" = "+ap.Name)
		if ap.ID == current {
			chosen = len(values) - 1
		}
	}
	if current != "" && chosen == 0 {
		values = append(values, current)
		chosen = len(values) - 1
	}
	if len(names) > 0 {
		hint += " (" + strings.Join(names, ", ") + ")"
	}
	f.choose("App", values, chosen, hint, "appId")
}

// appOf is the app chosen on f, "" for none (or no app field).
func appOf(f *form) string {
	if v := f.valueOf("App"); v != noApp {
		return v
	}
	return ""
}

// appText names app id for a detail view: its name and url when the app
// is known.
func (a *app) appText(id string) string {
	for _, ap := range a.apps {
		if ap.ID == id {
			return ap.Name + " (" + ap.ID + "), " + ap.URL
		}
	}
	return id
}
