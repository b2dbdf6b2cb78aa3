package db

import (
	"encoding/json"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Event types of the audit log.
const (
	EventLinkCreated   = "signup-link-created"
	EventLinkUpdated   = "signup-link-updated"
	EventLinkUserAdded = "signup-link-user-added"
	EventLinkDeleted   = "signup-link-deleted"
	EventUserCreated   = "user-created"
	EventUserUpdated   = "user-updated"
	EventUserDeleted   = "user-deleted"
	EventUserLocked    = "user-locked"
	EventUserUnlocked  = "user-unlocked"
	EventUserDisabled  = "user-disabled"
	EventUserEnabled   = "user-enabled"
	EventAPIKeyCreated = "api-key-created"
	EventAPIKeyDeleted = "api-key-deleted"
	EventOrgCreated    = "organization-created"
	EventOrgDeleted    = "organization-deleted"
	EventInviteCreated = "invitation-created"
	EventInviteResent  = "invitation-resent"
	EventInviteRevoked = "invitation-revoked"
	EventInviteAccept  = "invitation-accepted"
	EventGroupCreated  = "group-created"
	EventGroupUpdated  = "group-updated"
	EventGroupDeleted  = "group-deleted"
	EventAppCreated    = "app-created"
	EventAppUpdated    = "app-updated"
	EventAppDeleted    = "app-deleted"
	// EventSigningKeyCreated records the first signing key, made by
	// EnsureSigningKey; EventSigningKeysRotated a rotation, with the kids
	// it retired and deleted.
	EventSigningKeyCreated  = "signing-key-created"
	EventSigningKeysRotated = "signing-keys-rotated"
	// EventAppSecretRotated records a new client secret of an oidc app
	// (never the secret, nor its hash).
	EventAppSecretRotated = "app-secret-rotated"
	// EventPasskeyAdded and EventPasskeyRemoved record a user's passkey
	// (by its name) added or removed.
	EventPasskeyAdded   = "passkey-added"
	EventPasskeyRemoved = "passkey-removed"
	// EventSSHKeyAdded and EventSSHKeyRemoved record an SSH key of a user
	// (by its name and fingerprint) added or removed.
	EventSSHKeyAdded   = "ssh-key-added"
	EventSSHKeyRemoved = "ssh-key-removed"
	// EventSchemaMigrated records a migration of the file's schema, with
	// the warnings of its MigrationReport.
	EventSchemaMigrated = "schema-migrated"
	// Second factors: an authenticator app turned on or off by its user,
	// a recovery code used at login, and an admin clearing them all.
	EventTOTPEnabled          = "totp-enabled"
	EventTOTPRemoved          = "totp-removed"
	EventRecoveryCodeUsed     = "recovery-code-used"
	EventSecondFactorsCleared = "second-factors-cleared"
)

// EventTypes lists every event type, for filters.
var EventTypes = []string{
	EventLinkCreated, EventLinkUpdated, EventLinkUserAdded, EventLinkDeleted, EventUserCreated,
	EventUserUpdated, EventUserDeleted, EventUserLocked, EventUserUnlocked, EventUserDisabled, EventUserEnabled,
	EventAPIKeyCreated, EventAPIKeyDeleted, EventOrgCreated, EventOrgDeleted,
	EventInviteCreated, EventInviteResent, EventInviteRevoked, EventInviteAccept,
	EventPasswordChanged, EventSchemaMigrated, EventGroupCreated, EventGroupUpdated, EventGroupDeleted,
	EventAppCreated, EventAppUpdated, EventAppDeleted, EventAppSecretRotated, EventSigningKeyCreated, EventSigningKeysRotated,
	EventPasswordReset, EventResetLinkCreated,
	EventPasskeyAdded, EventPasskeyRemoved, EventSSHKeyAdded, EventSSHKeyRemoved,
	EventEmailVerified,
	EventTOTPEnabled, EventTOTPRemoved, EventRecoveryCodeUsed, EventSecondFactorsCleared,
	EventWebhookCreated, EventWebhookDeleted,
	EventUserApproved, EventUserRejected,
}

// Event is one entry of the audit log: who changed what, and when. It
// never holds a secret or a password.
type Event struct {
	ID         uint64
	Type       string
	CreatedAt  time.Time
	CreatedBy  string
	ObjectType string
	ObjectID   string
	Data       map[string]any // what changed; nil for none
}

type eventRecord struct {
	V          int            `json:"v"`
	Type       string         `json:"type"`
	CreatedAt  time.Time      `json:"created_at"`
	CreatedBy  string         `json:"created_by"`
	ObjectType string         `json:"object_type"`
	ObjectID   string         `json:"object_id"`
	Data       map[string]any `json:"data,omitempty"`
}

func (s *Store) addEventTx(tx *bolt.Tx, actor Actor, typ, objectType string, objectID uint64, data map[string]any) error {
	return s.addEventTxKey(tx, actor, typ, objectType, strconv.FormatUint(objectID, 10), data)
}

// addEventTxKey records an event about an object whose id is not a number.
func (s *Store) addEventTxKey(tx *bolt.Tx, actor Actor, typ, objectType, objectID string, data map[string]any) error {
	b := tx.Bucket(bucketEvents)
	id, err := nextID(b)
	if err != nil {
		return err
	}
	if err := putJSON(b, itob(id), eventRecord{
		V: 1, Type: typ, CreatedAt: s.clock(), CreatedBy: actor.String(),
		ObjectType: objectType, ObjectID: objectID, Data: data,
	}); err != nil {
		return err
	}
	// A change a webhook can hear of queues its deliveries here, in the
	// same transaction (webhook.go).
	return s.enqueueWebhooksTx(tx, typ, objectID, data)
}

// ListEvents returns up to limit events, newest first, skipping offset of
// them; with typ set, only events of that type. It also returns how many
// events match in all.
func (s *Store) ListEvents(typ string, offset, limit int) ([]Event, int, error) {
	var events []Event
	total := 0
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var rec eventRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			if typ != "" && rec.Type != typ {
				continue
			}
			total++
			if total <= offset || len(events) >= limit {
				continue
			}
			events = append(events, Event{
				ID: btoi(k), Type: rec.Type, CreatedAt: rec.CreatedAt, CreatedBy: rec.CreatedBy,
				ObjectType: rec.ObjectType, ObjectID: rec.ObjectID, Data: rec.Data,
			})
		}
		return nil
	})
	return events, total, err
}
