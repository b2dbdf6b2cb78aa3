package db

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Webhook event types (DESIGN §12): what a webhook may subscribe to, and
// the type of the deliveries it gets.
const (
	WebhookUserCreated        = "user.created"
	WebhookUserUpdated        = "user.updated"
	WebhookUserDisabled       = "user.disabled"
	WebhookUserDeleted        = "user.deleted"
	WebhookInvitationCreated  = "invitation.created"
	WebhookInvitationAccepted = "invitation.accepted"
	WebhookInvitationRevoked  = "invitation.revoked"
)

// WebhookEvents lists every webhook event type.
var WebhookEvents = []string{
	WebhookUserCreated, WebhookUserUpdated, WebhookUserDisabled, WebhookUserDeleted,
	WebhookInvitationCreated, WebhookInvitationAccepted, WebhookInvitationRevoked,
}

// webhookEventOf maps the audit log's event types to webhook events. Every
// change a webhook can hear of already records one of these audit events
// in its own transaction (addEventTxKey), so the delivery is queued there:
// it exists exactly when the change does. user-created covers a link
// signup, an accepted invitation and a user made by an admin (all go
// through createUserTx); user-updated is recorded only when the role,
// groups, name or email changed. Enabling a user, verifying an address
// and approving a waiting user change what the user shape says
// (disabled, emailVerified, pendingApproval), so they are user.updated
// too; rejecting a waiting user deletes it, so it is user.deleted.
var webhookEventOf = map[string]string{
	EventUserCreated:   WebhookUserCreated,
	EventUserUpdated:   WebhookUserUpdated,
	EventUserEnabled:   WebhookUserUpdated,
	EventEmailVerified: WebhookUserUpdated,
	EventUserApproved:  WebhookUserUpdated,
	EventUserDisabled:  WebhookUserDisabled,
	EventUserDeleted:   WebhookUserDeleted,
	EventUserRejected:  WebhookUserDeleted,
	EventInviteCreated: WebhookInvitationCreated,
	EventInviteAccept:  WebhookInvitationAccepted,
	EventInviteRevoked: WebhookInvitationRevoked,
}

// Audit events of webhooks themselves (never with the secret).
const (
	EventWebhookCreated = "webhook-created"
	EventWebhookDeleted = "webhook-deleted"
)

// States of a webhook delivery.
const (
	WebhookPending   = "pending"
	WebhookDelivered = "delivered"
	WebhookFailed    = "failed"
)

// Limits of a webhook.
const (
	MaxWebhookURLLength = 2000
	// MaxWebhooks caps how many webhooks there may be, since every change
	// writes one delivery per subscribed webhook in its transaction.
	MaxWebhooks = 50
	// MaxWebhookDeliveries caps one listing of a webhook's deliveries.
	MaxWebhookDeliveries = 200
)

// Webhook is a subscriber to changes: deliveries of the events it names
// are posted to its URL, signed with its secret.
type Webhook struct {
	ID          uint64
	URL         string
	Events      []string
	Description string
	// Secret is the signing secret, "whsec_" and the base64 of 24 random
	// bytes. It is set only in what CreateWebhook returns: the caller
	// shows it once; listings leave it empty.
	Secret    string
	CreatedAt time.Time
	CreatedBy string
}

// NewWebhook is what it takes to create a webhook.
type NewWebhook struct {
	URL         string
	Events      []string
	Description string
}

// WebhookAttempt is one try at a delivery: when, how long it took, and the
// receiver's status code or, when there was no answer, the error.
type WebhookAttempt struct {
	At         time.Time
	Duration   time.Duration
	StatusCode int
	Error      string
}

// WebhookDelivery is one event for one webhook, in the outbox until it is
// delivered or given up on, then in the delivery log until pruned.
type WebhookDelivery struct {
	ID        uint64
	WebhookID uint64
	// MessageID is the Standard Webhooks message id ("msg_…"), the same
	// for every attempt so the receiver can drop duplicates.
	MessageID string
	Event     string
	// Timestamp is when the change happened.
	Timestamp time.Time
	// User or Invitation is the object as it was right after the change
	// (a deleted user as it was just before); the server renders the body
	// from it in the API's shape, the same way on every attempt.
	User          *User
	Invitation    *Invitation
	State         string
	Attempts      []WebhookAttempt
	NextAttemptAt time.Time
	FinishedAt    *time.Time
	// URL and Secret are the webhook's, set by DueWebhookDeliveries for
	// the worker.
	URL    string
	Secret string
}

// webhookRecord is a stored webhook. The secret is kept as it is, not
// hashed: the worker needs it to sign every delivery.
type webhookRecord struct {
	V           int       `json:"v"`
	ID          uint64    `json:"id"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Description string    `json:"description,omitempty"`
	Secret      string    `json:"secret"`
	CreatedAt   time.Time `json:"created_at"`
	CreatedBy   string    `json:"created_by"`
}

func (r webhookRecord) webhook() Webhook {
	return Webhook{ID: r.ID, URL: r.URL, Events: r.Events, Description: r.Description, CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy}
}

// webhookUserRecord is the snapshot of a user a delivery carries: the
// user's public facts, never its password hash, second factors or tokens.
type webhookUserRecord struct {
	ID            uint64     `json:"id"`
	Name          string     `json:"name,omitempty"`
	Email         string     `json:"email"`
	Username      string     `json:"username,omitempty"`
	RootRole      Role       `json:"root_role"`
	LoginAttempts int        `json:"login_attempts,omitempty"`
	EmailSent     bool       `json:"email_sent,omitempty"`
	SeenAt        *time.Time `json:"seen_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	OrgID         string     `json:"org_id,omitempty"`
	Groups        []string   `json:"groups,omitempty"`
	Disabled      bool       `json:"disabled,omitempty"`
	Unverified    bool       `json:"unverified,omitempty"`
}

type webhookAttemptRecord struct {
	At         time.Time     `json:"at"`
	Duration   time.Duration `json:"duration"`
	StatusCode int           `json:"status_code,omitempty"`
	Error      string        `json:"error,omitempty"`
}

type webhookDeliveryRecord struct {
	V             int                    `json:"v"`
	WebhookID     uint64                 `json:"webhook_id"`
	MessageID     string                 `json:"message_id"`
	Event         string                 `json:"event"`
	Timestamp     time.Time              `json:"timestamp"`
	User          *webhookUserRecord     `json:"user,omitempty"`
	Invitation    *invitationRecord      `json:"invitation,omitempty"`
	State         string                 `json:"state"`
	Attempts      []webhookAttemptRecord `json:"attempts,omitempty"`
	NextAttemptAt time.Time              `json:"next_attempt_at"`
	FinishedAt    *time.Time             `json:"finished_at,omitempty"`
}

func (s *Store) webhookDelivery(id uint64, r webhookDeliveryRecord) WebhookDelivery {
	d := WebhookDelivery{
		ID: id, WebhookID: r.WebhookID, MessageID: r.MessageID, Event: r.Event, Timestamp: r.Timestamp,
		State: r.State, NextAttemptAt: r.NextAttemptAt, FinishedAt: r.FinishedAt,
		Attempts: make([]WebhookAttempt, len(r.Attempts)),
	}
	for i, a := range r.Attempts {
		d.Attempts[i] = WebhookAttempt(a)
	}
	if u := r.User; u != nil {
		user := userRecord{
			ID: u.ID, Name: u.Name, Email: u.Email, Username: u.Username, RootRole: u.RootRole,
			LoginAttempts: u.LoginAttempts, EmailSent: u.EmailSent, SeenAt: u.SeenAt, CreatedAt: u.CreatedAt,
			OrgID: u.OrgID, Groups: u.Groups, Disabled: u.Disabled, Unverified: u.Unverified,
		}.user()
		d.User = &user
	}
	if r.Invitation != nil {
		inv := s.invitation(*r.Invitation)
		// The state is the one the change left, not as read today.
		inv.State = r.Invitation.State
		d.Invitation = &inv
	}
	return d
}

// webhookKey is the key of the index of a webhook's deliveries: the
// webhook id, then the delivery id.
func webhookKey(webhookID, deliveryID uint64) []byte {
	return append(itob(webhookID), itob(deliveryID)...)
}

// checkWebhookURL accepts an absolute http or https address with a host,
// no user name or password, and at most MaxWebhookURLLength bytes. Where
// it points is judged at delivery, after the host is resolved.
func checkWebhookURL(errs *fieldErrors, raw string) string {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		errs.add("url", "is required")
		return raw
	case len(raw) > MaxWebhookURLLength:
		errs.add("url", "must be at most "+strconv.Itoa(MaxWebhookURLLength)+" characters")
		return raw
	case strings.ContainsFunc(raw, func(r rune) bool { return r < 0x21 || r == 0x7f }):
		errs.add("url", "must not hold spaces or control characters")
		return raw
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		errs.add("url", "is not a valid address")
	case u.Scheme != "http" && u.Scheme != "https":
		errs.add("url", "must start with http or https")
	case u.User != nil:
		errs.add("url", "must not hold a user name or password")
	case u.Hostname() == "":
		errs.add("url", "must name a host")
	case u.Opaque != "":
		errs.add("url", "is not a valid address")
	}
	return raw
}

// CreateWebhook stores a new webhook with a fresh signing secret, which
// only the returned value holds. It returns EINVALID naming the field for
// a bad URL, an unknown or missing event, or a long description.
func (s *Store) CreateWebhook(actor Actor, in NewWebhook) (Webhook, error) {
	var errs fieldErrors
	in.URL = checkWebhookURL(&errs, in.URL)
	var events []string
	if len(in.Events) == 0 {
		errs.add("events", "name at least one event: "+strings.Join(WebhookEvents, ", "))
	}
	for _, e := range in.Events {
		if !slices.Contains(WebhookEvents, e) {
			errs.add("events", strconv.Quote(e)+" is not an event; use "+strings.Join(WebhookEvents, ", "))
			break
		}
		if !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	desc, err := CleanText("description", in.Description, false, MaxNameLength)
	errs.addErr(err)
	if err := errs.err(); err != nil {
		return Webhook{}, err
	}
	raw := make([]byte, 24)
	if _, err := io.ReadFull(s.rand, raw); err != nil {
		return Webhook{}, err
	}
	secret := "whsec_" + base64.StdEncoding.EncodeToString(raw)
	var w Webhook
	err = s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWebhooks)
		if b.Stats().KeyN >= MaxWebhooks {
			return Errorf(EINVALID, "There are already %d webhooks, the most there may be; delete one first.", MaxWebhooks)
		}
		id, err := nextID(b)
		if err != nil {
			return err
		}
		rec := webhookRecord{V: 1, ID: id, URL: in.URL, Events: events, Description: desc, Secret: secret,
			CreatedAt: s.clock(), CreatedBy: actor.String()}
		if err := putJSON(b, itob(id), rec); err != nil {
			return err
		}
		w = rec.webhook()
		w.Secret = secret
		return s.addEventTx(tx, actor, EventWebhookCreated, "webhook", id, map[string]any{
			"url": rec.URL, "events": rec.Events, "description": rec.Description,
		})
	})
	return w, err
}

// Webhooks lists every webhook, oldest first, without their secrets.
func (s *Store) Webhooks() ([]Webhook, error) {
	list := []Webhook{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketWebhooks).ForEach(func(_, v []byte) error {
			var rec webhookRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			list = append(list, rec.webhook())
			return nil
		})
	})
	return list, err
}

// DeleteWebhook removes a webhook with its deliveries, pending or not (it
// can sign nothing more). It returns ENOTFOUND for an unknown id.
func (s *Store) DeleteWebhook(actor Actor, id uint64) error {
	return s.update(func(tx *bolt.Tx) error {
		var rec webhookRecord
		ok, err := getJSON(tx.Bucket(bucketWebhooks), itob(id), &rec)
		if err != nil {
			return err
		}
		if !ok {
			return Errorf(ENOTFOUND, "There is no webhook with id %d.", id)
		}
		if err := tx.Bucket(bucketWebhooks).Delete(itob(id)); err != nil {
			return err
		}
		var ids []uint64
		c := tx.Bucket(bucketWebhookByHook).Cursor()
		prefix := itob(id)
		for k, _ := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, _ = c.Next() {
			ids = append(ids, btoi(k[8:]))
		}
		for _, did := range ids {
			if err := deleteWebhookDeliveryTx(tx, did); err != nil {
				return err
			}
		}
		return s.addEventTx(tx, actor, EventWebhookDeleted, "webhook", id, map[string]any{
			"url": rec.URL, "deliveriesDropped": len(ids),
		})
	})
}

// deleteWebhookDeliveryTx removes a delivery with its index entries.
func deleteWebhookDeliveryTx(tx *bolt.Tx, id uint64) error {
	var rec webhookDeliveryRecord
	ok, err := getJSON(tx.Bucket(bucketWebhookDeliveries), itob(id), &rec)
	if err != nil || !ok {
		return err
	}
	if rec.State == WebhookPending {
		if err := tx.Bucket(bucketWebhookDue).Delete(dueKey(rec.NextAttemptAt, id)); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketWebhookByHook).Delete(webhookKey(rec.WebhookID, id)); err != nil {
		return err
	}
	return tx.Bucket(bucketWebhookDeliveries).Delete(itob(id))
}

// enqueueWebhooksTx queues one delivery of the webhook event an audit
// event maps to (if any) for every webhook subscribed to it, in the
// transaction of the change. The object is read from that transaction, as
// the change left it.
func (s *Store) enqueueWebhooksTx(tx *bolt.Tx, auditType, objectID string, data map[string]any) error {
	event, ok := webhookEventOf[auditType]
	if !ok {
		return nil
	}
	hooks := tx.Bucket(bucketWebhooks)
	if k, _ := hooks.Cursor().First(); k == nil {
		return nil
	}
	var subscribed []uint64
	err := hooks.ForEach(func(k, v []byte) error {
		var rec webhookRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return err
		}
		if slices.Contains(rec.Events, event) {
			subscribed = append(subscribed, btoi(k))
		}
		return nil
	})
	if err != nil || len(subscribed) == 0 {
		return err
	}
	id, err := strconv.ParseUint(objectID, 10, 64)
	if err != nil {
		return Errorf(EINTERNAL, "webhook event %s: object id %q is not a number", event, objectID)
	}
	now := s.clock()
	rec := webhookDeliveryRecord{V: 1, Event: event, Timestamp: now, State: WebhookPending, NextAttemptAt: now}
	if strings.HasPrefix(event, "user.") {
		u, err := getUserTx(tx, id)
		if err != nil {
			return err
		}
		rec.User = &webhookUserRecord{
			ID: u.ID, Name: u.Name, Email: u.Email, Username: u.Username, RootRole: u.RootRole,
			LoginAttempts: u.LoginAttempts, EmailSent: u.EmailSent, SeenAt: u.SeenAt, CreatedAt: u.CreatedAt,
			OrgID: u.orgID(), Groups: u.Groups, Disabled: u.Disabled, Unverified: u.Unverified,
		}
	} else {
		inv, err := getInvitationTx(tx, id)
		if err != nil {
			return err
		}
		inv.TokenHash = ""
		rec.Invitation = &inv
	}
	deliveries := tx.Bucket(bucketWebhookDeliveries)
	for _, hook := range subscribed {
		did, err := nextID(deliveries)
		if err != nil {
			return err
		}
		msg := make([]byte, 16)
		if _, err := io.ReadFull(s.rand, msg); err != nil {
			return err
		}
		rec.WebhookID, rec.MessageID = hook, "msg_"+hex.EncodeToString(msg)
		if err := putJSON(deliveries, itob(did), rec); err != nil {
			return err
		}
		if err := tx.Bucket(bucketWebhookDue).Put(dueKey(now, did), nil); err != nil {
			return err
		}
		if err := tx.Bucket(bucketWebhookByHook).Put(webhookKey(hook, did), nil); err != nil {
			return err
		}
	}
	return nil
}

// DueWebhookDeliveries returns up to limit pending deliveries due at now,
// oldest first, each with its webhook's URL and secret.
func (s *Store) DueWebhookDeliveries(now time.Time, limit int) ([]WebhookDelivery, error) {
	var due []WebhookDelivery
	err := s.db.View(func(tx *bolt.Tx) error {
		end := uint64(now.UnixNano())
		c := tx.Bucket(bucketWebhookDue).Cursor()
		for k, _ := c.First(); k != nil && len(due) < limit && btoi(k[:8]) <= end; k, _ = c.Next() {
			id := btoi(k[8:])
			var rec webhookDeliveryRecord
			ok, err := getJSON(tx.Bucket(bucketWebhookDeliveries), itob(id), &rec)
			if err != nil {
				return err
			}
			if !ok || rec.State != WebhookPending {
				continue
			}
			var hook webhookRecord
			if ok, err := getJSON(tx.Bucket(bucketWebhooks), itob(rec.WebhookID), &hook); err != nil {
				return err
			} else if !ok {
				continue
			}
			d := s.webhookDelivery(id, rec)
			d.URL, d.Secret = hook.URL, hook.Secret
			due = append(due, d)
		}
		return nil
	})
	return due, err
}

// NextWebhookDue returns when the earliest pending delivery is due, and
// false when none is pending.
func (s *Store) NextWebhookDue() (time.Time, bool, error) {
	var next time.Time
	found := false
	err := s.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketWebhookDue).Cursor().First(); k != nil {
			next, found = time.Unix(0, int64(btoi(k[:8]))).UTC(), true
		}
		return nil
	})
	return next, found, err
}

// RecordWebhookAttempt adds an attempt to a pending delivery's log. An
// attempt answered with a 2xx status delivers it; otherwise, with final
// the delivery fails for good, and without it is tried again at next. It
// returns ENOTFOUND when the delivery is gone (its webhook deleted) and
// does nothing to a delivery that is no longer pending.
func (s *Store) RecordWebhookAttempt(id uint64, a WebhookAttempt, next time.Time, final bool) error {
	return s.update(func(tx *bolt.Tx) error {
		var rec webhookDeliveryRecord
		ok, err := getJSON(tx.Bucket(bucketWebhookDeliveries), itob(id), &rec)
		if err != nil {
			return err
		}
		if !ok {
			return Errorf(ENOTFOUND, "There is no webhook delivery with id %d.", id)
		}
		if rec.State != WebhookPending {
			return nil
		}
		due := tx.Bucket(bucketWebhookDue)
		if err := due.Delete(dueKey(rec.NextAttemptAt, id)); err != nil {
			return err
		}
		rec.Attempts = append(rec.Attempts, webhookAttemptRecord{
			At: a.At.UTC(), Duration: a.Duration, StatusCode: a.StatusCode, Error: capReason(a.Error),
		})
		now := s.clock()
		switch {
		case a.StatusCode >= 200 && a.StatusCode < 300:
			rec.State, rec.FinishedAt = WebhookDelivered, &now
		case final:
			rec.State, rec.FinishedAt = WebhookFailed, &now
		default:
			rec.NextAttemptAt = next.UTC()
			if err := due.Put(dueKey(rec.NextAttemptAt, id), nil); err != nil {
				return err
			}
		}
		return putJSON(tx.Bucket(bucketWebhookDeliveries), itob(id), rec)
	})
}

// WebhookDeliveries returns a webhook's deliveries, newest first, at most
// limit (capped at MaxWebhookDeliveries), with their attempts. It returns
// ENOTFOUND for an unknown webhook.
func (s *Store) WebhookDeliveries(webhookID uint64, limit int) ([]WebhookDelivery, error) {
	limit = min(max(limit, 1), MaxWebhookDeliveries)
	list := []WebhookDelivery{}
	err := s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketWebhooks).Get(itob(webhookID)) == nil {
			return Errorf(ENOTFOUND, "There is no webhook with id %d.", webhookID)
		}
		c := tx.Bucket(bucketWebhookByHook).Cursor()
		// Seek past the last key of this webhook, then walk back.
		k, _ := c.Seek(itob(webhookID + 1))
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		for ; k != nil && btoi(k[:8]) == webhookID && len(list) < limit; k, _ = c.Prev() {
			id := btoi(k[8:])
			var rec webhookDeliveryRecord
			ok, err := getJSON(tx.Bucket(bucketWebhookDeliveries), itob(id), &rec)
			if err != nil {
				return err
			}
			if ok {
				list = append(list, s.webhookDelivery(id, rec))
			}
		}
		return nil
	})
	return list, err
}

// pruneWebhookDeliveriesTx deletes up to max finished deliveries
// (delivered or failed) that finished at or before before, and returns
// how many. Pending ones stay whatever their age.
func pruneWebhookDeliveriesTx(tx *bolt.Tx, before time.Time, max int) (int, error) {
	var ids []uint64
	c := tx.Bucket(bucketWebhookDeliveries).Cursor()
	for k, v := c.First(); k != nil && len(ids) < max; k, v = c.Next() {
		var rec struct {
			State      string     `json:"state"`
			FinishedAt *time.Time `json:"finished_at"`
		}
		if err := json.Unmarshal(v, &rec); err != nil {
			return 0, err
		}
		if rec.State != WebhookPending && rec.FinishedAt != nil && !rec.FinishedAt.After(before) {
			ids = append(ids, btoi(k))
		}
	}
	for _, id := range ids {
		if err := deleteWebhookDeliveryTx(tx, id); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}
