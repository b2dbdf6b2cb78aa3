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
)

// webhooksScreen lists the webhooks (DESIGN §12): create one (its signing
// secret is shown once), delete one, and read its recent deliveries.
// Webhooks are an Admin's, as in the API.
type webhooksScreen struct {
	records[db.Webhook]
}

// webhookDeliveriesShown is how many of a webhook's newest deliveries the
// deliveries box shows: as many as fit a 24-line terminal.
const webhookDeliveriesShown = 8

func newWebhooksScreen(a *app) *webhooksScreen {
	s := &webhooksScreen{}
	s.app = a
	s.list = newList(a, []column{
		{title: "ID", width: 4},
		{title: "URL", flex: 3, min: 16},
		{title: "Events", flex: 3, min: 12},
		{title: "Description", flex: 2, min: 8},
		{title: "Created", width: 16},
	})
	s.what = "webhooks"
	s.fetch = func(ctx context.Context, b Backend, _ db.Actor) ([]db.Webhook, any, error) {
		list, err := b.ListWebhooks(ctx)
		return list, nil, err
	}
	s.row = func(w db.Webhook, _ time.Time) row {
		id := strconv.FormatUint(w.ID, 10)
		return row{id: id, cells: []string{id, w.URL, strings.Join(w.Events, ", "), w.Description, fmtTime(w.CreatedAt)}}
	}
	s.detail = s.detailText
	return s
}

func (s *webhooksScreen) name() string    { return "Webhooks" }
func (s *webhooksScreen) tabName() string { return "Hooks" }

func (s *webhooksScreen) key(k tea.KeyMsg) tea.Cmd {
	if ok, cmd := s.listKey(k, s.detailText); ok {
		return cmd
	}
	a := s.app
	if key.Matches(k, a.keys.New) {
		a.push(s.createForm())
		return nil
	}
	w, ok := s.selected()
	if !ok {
		return nil
	}
	switch {
	case key.Matches(k, a.keys.Deliveries):
		return a.do("Could not read the deliveries", func(ctx context.Context) (any, error) {
			// One more than shown tells whether there are more.
			return a.backend.ListWebhookDeliveries(ctx, w.ID, webhookDeliveriesShown+1)
		}, func(res any) tea.Cmd {
			ds, _ := res.([]db.WebhookDelivery)
			s.showDeliveries(w, ds)
			return nil
		})
	case key.Matches(k, a.keys.Delete):
		a.ask(fmt.Sprintf("Delete the webhook %d (%s)? Its deliveries, queued or logged, go with it.", w.ID, w.URL),
			a.do("Could not delete", func(ctx context.Context) (any, error) {
				return nil, a.backend.DeleteWebhook(ctx, a.actor, w.ID)
			}, func(any) tea.Cmd {
				a.setOK(fmt.Sprintf("Deleted the webhook %d (%s).", w.ID, w.URL))
				return s.load()
			}))
	}
	return nil
}

// webhookEventsHint names the events a webhook may subscribe to.
var webhookEventsHint = "Comma separated, at least one of: " + strings.Join(db.WebhookEvents, ", ") + "."

func (s *webhooksScreen) createForm() *form {
	a := s.app
	f := newForm(a, "New webhook", nil, nil)
	f.text("URL", "", "https://hooks.example.com/invited", "Where deliveries are posted: an http or https address.", "url").input.CharLimit = db.MaxWebhookURLLength
	f.text("Events", "", "user.created, invitation.accepted", webhookEventsHint, "events").input.CharLimit = 400
	f.text("Description", "", "optional", "Optional: what it is for.", "description")
	f.submit = func(f *form) (func(ctx context.Context) (any, error), error) {
		in := db.NewWebhook{URL: f.valueOf("URL"), Events: parseGroupList(f.valueOf("Events")), Description: f.valueOf("Description")}
		return func(ctx context.Context) (any, error) {
			return a.backend.CreateWebhook(ctx, a.actor, in)
		}, nil
	}
	f.done = func(res any) tea.Cmd {
		w, _ := res.(db.Webhook)
		a.setOK(fmt.Sprintf("Created the webhook %d (%s) with its signing secret.", w.ID, w.URL))
		s.showSecret(w)
		s.selectNext = strconv.FormatUint(w.ID, 10)
		return s.load()
	}
	return f
}

// showSecret shows a new webhook's signing secret, the one time it leaves
// the store.
func (s *webhooksScreen) showSecret(w db.Webhook) {
	a := s.app
	a.push(&result{
		app: a, title: fmt.Sprintf("Signing secret of webhook %d", w.ID),
		note: "Copy it now; it is shown only this once. The receiver checks each delivery's signature with it (Standard Webhooks).",
		lines: []resultLine{
			{label: "URL", value: w.URL, wrapAnywhere: true},
			{label: "Events", value: strings.Join(w.Events, ", ")},
			{label: "Signing secret", value: w.Secret, wrapAnywhere: true, secret: true},
		},
		copyText: w.Secret, copyWhat: "the signing secret",
	})
}

// deliveryLineWidth is what one delivery's line is cut to: the inside of
// the result box on an 80-column terminal.
const deliveryLineWidth = 76

// showDeliveries shows a webhook's newest deliveries, one line each:
// when, the event, the state, the attempts, and the last answer or when
// the next attempt is due.
func (s *webhooksScreen) showDeliveries(w db.Webhook, ds []db.WebhookDelivery) {
	a := s.app
	now := a.now()
	note := "No deliveries yet: one is queued for each change it subscribes to."
	if len(ds) > webhookDeliveriesShown {
		ds = ds[:webhookDeliveriesShown]
		note = fmt.Sprintf("The %d newest deliveries, newest first.", webhookDeliveriesShown)
	} else if len(ds) > 0 {
		note = "Its deliveries, newest first."
	}
	lines := []resultLine{{label: "URL", value: w.URL, wrapAnywhere: true}, {}}
	if len(ds) > 0 {
		lines = append(lines, resultLine{value: deliveryRow("When", "Event", "State", "Tries", "Last answer; next")})
	}
	for _, d := range ds {
		lines = append(lines, resultLine{value: deliveryRow(fmtTime(d.Timestamp), d.Event, d.State, strconv.Itoa(len(d.Attempts)), deliveryOutcome(d, now))})
	}
	a.push(&result{app: a, title: fmt.Sprintf("Deliveries of webhook %d", w.ID), note: note, lines: lines})
}

// deliveryRow lays out one line of the deliveries box in columns.
func deliveryRow(when, event, state, tries, outcome string) string {
	return truncate(padRight(when, 16)+" "+padRight(event, 19)+" "+padRight(state, 9)+" "+padRight(tries, 5)+" "+outcome, deliveryLineWidth)
}

// deliveryOutcome is the receiver's last answer (its status code, or the
// error when there was none) and, while the delivery is pending, when
// the next attempt is due: "503; next in 5 minutes".
func deliveryOutcome(d db.WebhookDelivery, now time.Time) string {
	var parts []string
	if n := len(d.Attempts); n > 0 {
		last := d.Attempts[n-1]
		if last.Error != "" {
			parts = append(parts, last.Error)
		} else {
			parts = append(parts, strconv.Itoa(last.StatusCode))
		}
	}
	if d.State == db.WebhookPending && !d.NextAttemptAt.IsZero() {
		parts = append(parts, "next "+relative(d.NextAttemptAt, now))
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, "; ")
}

func (s *webhooksScreen) detailText() string {
	w, ok := s.selected()
	if !ok {
		return ""
	}
	lines := []resultLine{
		{label: "ID", value: strconv.FormatUint(w.ID, 10)},
		{label: "URL", value: w.URL, wrapAnywhere: true},
		{label: "Events", value: strings.Join(w.Events, ", ")},
		{label: "Description", value: w.Description},
		{label: "Signing secret", value: "shown only when it was created"},
		{label: "Created", value: fmtFull(w.CreatedAt, s.app.now())},
		{label: "Created by", value: w.CreatedBy},
	}
	return renderLines(s.app.styles, lines, s.list.w-1)
}

func (s *webhooksScreen) view(w, h int) string {
	info := s.infoLine(len(s.items), "webhook", "webhooks", func() string {
		wh, _ := s.selected()
		return fmt.Sprintf("Webhook %d", wh.ID)
	})
	return s.base.view(info, w, h)
}

func (s *webhooksScreen) help() helpKeys {
	k := s.app.keys
	return s.listHelp(k.New, k.Deliveries, k.Delete)
}
