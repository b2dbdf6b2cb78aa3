package db

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the version of the bucket layout and record formats this
// build writes. Open migrates older files up to it.
//
// Version 2 normalised the stored addresses (NormalizeEmail).
const SchemaVersion = 2

// schemaVersion is SchemaVersion, but one more for every migration a test
// adds.
func schemaVersion() int { return 1 + len(migrations) }

// Bucket names. Every bucket is top level.
var (
	bucketMeta              = []byte("meta")                 // "schema_version" → decimal string
	bucketUsers             = []byte("users")                // id → userRecord
	bucketUsersByEmail      = []byte("users_by_email")       // lower(email) → id
	bucketUsersByUsername   = []byte("users_by_username")    // lower(username) → id
	bucketLinks             = []byte("links")                // id → linkRecord
	bucketLinksBySecret     = []byte("links_by_secret")      // secret → id
	bucketLinkUsers         = []byte("link_users")           // link id + user id → empty: who joined through a link
	bucketAPIKeys           = []byte("apikeys")              // id → apiKeyRecord
	bucketAPIKeysByHash     = []byte("apikeys_by_hash")      // hex(sha256(key)) → id
	bucketEvents            = []byte("events")               // id → eventRecord
	bucketSessions          = []byte("sessions")             // hex(sha256(token)) → sessionRecord
	bucketSessionsByUser    = []byte("sessions_by_user")     // user id + hex(sha256(token)) → empty
	bucketOutbox            = []byte("outbox")               // id → emailRecord
	bucketOutboxDue         = []byte("outbox_due")           // next attempt (unix ns) + id → empty, for pending emails only
	bucketOrgs              = []byte("organizations")        // org id (a slug) → orgRecord
	bucketInvitations       = []byte("invitations")          // id → invitationRecord
	bucketInvitesByToken    = []byte("invitations_by_token") // hex(sha256(token)) → id
	bucketInvitesByEmail    = []byte("invitations_by_email") // lower(email) → id of its pending invitation
	bucketGroups            = []byte("groups")               // group id (a slug) → groupRecord
	bucketApps              = []byte("apps")                 // app id (a slug) → appRecord
	bucketAppsByDomain      = []byte("apps_by_domain")       // domain ("*." first for a wildcard) → app id
	bucketSigningKeys       = []byte("signing_keys")         // id → signingKeyRecord, oldest first
	bucketAppsByClientID    = []byte("apps_by_client_id")    // oidc client id → app id
	bucketOIDCAuthRequests  = []byte("oidc_auth_requests")   // random id → oidcAuthRequestRecord
	bucketOIDCAuthByTime    = []byte("oidc_auth_by_time")    // created at (unix ns) + id → empty, oldest first
	bucketOIDCCodes         = []byte("oidc_codes")           // hex(sha256(code)) → oidcCodeRecord
	bucketOIDCRefresh       = []byte("oidc_refresh")         // hex(sha256(token)) → oidcRefreshRecord
	bucketOIDCRefreshByUser = []byte("oidc_refresh_by_user") // user id + hex(sha256(token)) → empty
	bucketUserTokens        = []byte("user_tokens")          // hex(sha256(token)) → userTokenRecord
	bucketUserTokensByUser  = []byte("user_tokens_by_user")  // user id + purpose → hex(sha256(token)) of its live token
	bucketPasskeys          = []byte("passkeys")             // user id + raw credential id → passkeyRecord
	bucketWebhooks          = []byte("webhooks")             // id → webhookRecord
	bucketWebhookDeliveries = []byte("webhook_deliveries")   // id → webhookDeliveryRecord
	bucketWebhookDue        = []byte("webhook_due")          // next attempt (unix ns) + id → empty, for pending deliveries only
	bucketWebhookByHook     = []byte("webhook_by_hook")      // webhook id + delivery id → empty
	bucketSSHKeys           = []byte("ssh_keys")             // user id + key id → sshKeyRecord
	bucketSSHKeysByFP       = []byte("ssh_keys_by_fp")       // SHA256 fingerprint → user id + key id

	allBuckets = [][]byte{
		bucketMeta, bucketUsers, bucketUsersByEmail, bucketUsersByUsername,
		bucketLinks, bucketLinksBySecret, bucketLinkUsers, bucketAPIKeys, bucketAPIKeysByHash,
		bucketEvents, bucketSessions, bucketSessionsByUser, bucketOutbox, bucketOutboxDue,
		bucketOrgs, bucketInvitations, bucketInvitesByToken, bucketInvitesByEmail, bucketGroups,
		bucketApps, bucketAppsByDomain, bucketAppsByClientID, bucketSigningKeys,
		bucketOIDCAuthRequests, bucketOIDCAuthByTime, bucketOIDCCodes, bucketOIDCRefresh, bucketOIDCRefreshByUser,
		bucketUserTokens, bucketUserTokensByUser,
		bucketPasskeys,
		bucketWebhooks, bucketWebhookDeliveries, bucketWebhookDue, bucketWebhookByHook,
		bucketSSHKeys, bucketSSHKeysByFP,
	}

	keySchemaVersion = []byte("schema_version")
)

// migrations[i] moves a file from schema version i+1 to i+2. Each runs in
// the same transaction as the version bump, so a crash leaves the old
// version intact, and adds to the report what an admin must look at.
var migrations = []migration{
	(*Store).normalizeAddressesTx, // 1 → 2
}

// migration is one step of migrations.
type migration func(s *Store, tx *bolt.Tx, report *MigrationReport) error

// Store is the domain's persistence over one bbolt file.
//
// Layout: every record bucket maps an 8-byte big-endian id, taken from the
// bucket's sequence, to a versioned JSON record (the unexported xxxRecord
// types, never the API's JSON). Index buckets map a normalised unique value
// (lower-cased email or username, a link secret, a key hash) to that id and
// are written in the same transaction as the record, so they cannot
// disagree with it. Organizations and groups are keyed by their slug id
// instead; users, links and invitations hold group ids in their records
// (a record without them reads as having none), and DeleteGroup removes an
// id from all of them in its one transaction. Apps are keyed by their slug
// id too, and hold group ids as users do; apps_by_domain maps each domain
// of a proxy app (a host name, or "*." and a domain for its wildcard) to
// the app's id, so that a host belongs to one app at most, and
// apps_by_client_id maps an oidc app's random client id to its app id (an
// oidc app's record holds only a hash of its client secret). signing_keys
// holds the OpenID Connect signing keys by sequence, so the newest is
// last; a new bucket is made on open, so adding one needs no migration.
// The OpenID Connect provider's state between requests lives in
// oidc_auth_requests (by random id, until signed in and redeemed; its
// index oidc_auth_by_time lets each new request delete the expired ones),
// oidc_codes and oidc_refresh (by the SHA-256 of the code or token, never
// the token itself), with oidc_refresh_by_user to revoke a user's tokens.
// passkeys holds WebAuthn credentials under the user's id followed by the
// raw credential id, so a user's passkeys are one prefix (passkey.go).
// ssh_keys holds the public keys that open the admin TUI over SSH under
// the user's id and the key's own id, so a user's keys are one prefix;
// ssh_keys_by_fp maps each key's fingerprint to that record, so that a key
// belongs to one user at most (sshkey.go).
// The meta bucket holds the schema version and the provider's 32-byte
// secret (oidc_crypto_key).
// Prune (prune.go) deletes expired sessions, grants and tokens, and old
// events and finished emails, each with its index entries in the same
// transaction; records that only admins delete are never pruned.
//
// Every exported method runs in one transaction. Writes are fsynced before
// they return, so a nil error means the change is on disk.
type Store struct {
	db *bolt.DB
	// Migration says what Open did to an older file, for the log.
	Migration      MigrationReport
	now            func() time.Time
	rand           io.Reader
	welcomeEnabled bool
	notifyInviter  bool
	// verifyEmail is Options.VerifyEmail, checked.
	verifyEmail VerifyEmailMode
	// ownHost is Options.OwnHost, normalised; apps may not claim it.
	ownHost string
	// links caches decoded link records for CheckSignupToken.
	links linkCache

	// gen counts committed write transactions (Store.update); sessions
	// and apps cache what AuthenticateSession and AppForHost read, each
	// entry valid only at the generation it was read at; so do users and
	// signingKeys.
	gen      atomic.Uint64
	sessions genCache[cachedSession]
	apps     genCache[appForHost]
	// users caches FindUserByID (the OpenID Connect provider's userinfo
	// and refresh read a user per request); signingKeys caches the
	// signing key records, under the key "".
	users       genCache[User]
	signingKeys genCache[[]signingKeyEntry]
}

// Options tune Open. The zero value is usable.
type Options struct {
	// LockTimeout bounds the wait for the file lock that another process
	// may hold; zero means one second.
	LockTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Rand is the source of secrets; nil means crypto/rand.
	Rand io.Reader
	// ReadOnly opens the file for reading only.
	ReadOnly bool
	// WelcomeEmails queues a welcome email for every new user. (Invitation
	// emails are always queued, unless an invitation disables its own.)
	// The outbox holds what to send; the mail worker renders it.
	WelcomeEmails bool
	// OwnHost is the host name of server.base_url. No proxy app may claim
	// it: the proxy must never ask the gate about invited's own pages.
	OwnHost string
	// VerifyEmail says which link signups must verify their address
	// before they may log in (auth.verify_email); "" means
	// VerifyEmailDomains.
	VerifyEmail VerifyEmailMode
	// NotifyInviter emails the user who made an invitation when it is
	// accepted (mail.notify_inviter).
	NotifyInviter bool
}

// ErrLocked is returned by Open when another process holds the file.
var ErrLocked = &Error{Code: EUNAVAILABLE, Message: "the database file is in use by another process (is `invited serve` or `invited admin` running?)"}

// Open opens (creating it and its folder if needed) the database at path
// and migrates it to SchemaVersion. It returns ErrLocked when another
// process holds the file, and an EINVALID error when the file was written
// by a newer build or is damaged (empty, cut short, not a database, or
// with pages that cannot be read): only a file that does not exist is
// created new.
func Open(path string, opts Options) (*Store, error) {
	if opts.LockTimeout == 0 {
		opts.LockTimeout = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.VerifyEmail == "" {
		opts.VerifyEmail = VerifyEmailDomains
	}
	if !opts.VerifyEmail.valid() {
		return nil, Errorf(EINVALID, "The email verification mode %q is not known; use %q, %q or %q.",
			opts.VerifyEmail, VerifyEmailDomains, VerifyEmailAlways, VerifyEmailNever)
	}
	if !opts.ReadOnly {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create data folder: %w", err)
		}
	}
	bdb, err := openBolt(path, &bolt.Options{Timeout: opts.LockTimeout, ReadOnly: opts.ReadOnly})
	if err != nil {
		return nil, err
	}
	s := &Store{db: bdb, now: opts.Now, rand: opts.Rand, welcomeEnabled: opts.WelcomeEmails, notifyInviter: opts.NotifyInviter, verifyEmail: opts.VerifyEmail}
	if opts.OwnHost != "" {
		// A host that is not a valid domain (an IP address, say) can
		// never match an app's domain, so it needs no guard.
		if h, err := NormalizeDomain("", opts.OwnHost); err == nil {
			s.ownHost = h
		}
	}
	if !opts.ReadOnly {
		// The first transactions read the file's records: a damaged page
		// there is refused like one found while opening.
		if err := guardDamage(path, s.migrate); err != nil {
			_ = closeQuietly(bdb)
			return nil, err
		}
	}
	return s, nil
}

// MigrationReport tells what Open did to a file of an older schema.
type MigrationReport struct {
	From, To int
	// Backup is the copy of the file taken before the migration.
	Backup string
	// Warnings are sentences for the log, each naming records the
	// migration left as they were for an admin to decide about (two
	// accounts of one mailbox, an address the rules now refuse) and what
	// to do. They are also kept in the audit log.
	Warnings []string
}

// Close releases the file.
func (s *Store) Close() error { return s.db.Close() }

// Path is the database file's path.
func (s *Store) Path() string { return s.db.Path() }

// Bolt exposes the underlying database for backups and statistics.
func (s *Store) Bolt() *bolt.DB { return s.db }

// migrate brings the file to the current schema. Before it changes an
// older file it writes a copy beside it, so an upgrade can be undone by
// putting the copy back and running the older build.
func (s *Store) migrate() error {
	onDisk := 0
	if err := s.db.View(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bucketMeta); meta != nil {
			fmt.Sscan(string(meta.Get(keySchemaVersion)), &onDisk)
		}
		return nil
	}); err != nil {
		return err
	}
	if onDisk > 0 && onDisk < schemaVersion() {
		backup := fmt.Sprintf("%s.before-schema-%d-%s.bak", s.db.Path(), schemaVersion(), s.now().UTC().Format("20060102T150405Z"))
		if err := s.backupTo(backup); err != nil {
			return fmt.Errorf("back up before migrating the schema: %w", err)
		}
		s.Migration = MigrationReport{From: onDisk, To: schemaVersion(), Backup: backup}
	}
	return s.update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		version := 0
		if v := meta.Get(keySchemaVersion); v != nil {
			if _, err := fmt.Sscan(string(v), &version); err != nil {
				return fmt.Errorf("read schema version %q: %w", v, err)
			}
		} else {
			version = schemaVersion() // a new file starts at the current layout
		}
		if version > schemaVersion() {
			return Errorf(EINVALID, "the database has schema version %d, but this build of invited knows only up to %d: run a newer invited", version, schemaVersion())
		}
		report := MigrationReport{From: version, To: schemaVersion()}
		for ; version < schemaVersion(); version++ {
			if err := migrations[version-1](s, tx, &report); err != nil {
				return fmt.Errorf("migrate schema %d to %d: %w", version, version+1, err)
			}
		}
		if report.From < report.To {
			// The audit log keeps what the log says once, so that an admin
			// who migrated with `invited admin` sees it too.
			if err := s.addEventTxKey(tx, SystemActor, EventSchemaMigrated, "database", "schema", map[string]any{
				"from": report.From, "to": report.To, "warnings": append([]string{}, report.Warnings...),
			}); err != nil {
				return err
			}
			s.Migration.Warnings = report.Warnings
		}
		if err := ensureDefaultOrgTx(tx, s.clock()); err != nil {
			return err
		}
		return meta.Put(keySchemaVersion, []byte(fmt.Sprint(version)))
	})
}

// SchemaVersionOnDisk reads the schema version stored in the file.
func (s *Store) SchemaVersionOnDisk() (int, error) {
	var version int
	err := s.db.View(func(tx *bolt.Tx) error {
		_, err := fmt.Sscan(string(tx.Bucket(bucketMeta).Get(keySchemaVersion)), &version)
		return err
	})
	return version, err
}

// clock returns the current time in UTC, to the millisecond, so that what
// is stored is exactly what the API shows.
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// Now is the store's clock (Options.Now), for rules of time kept outside
// the file, such as the server's passkey ceremonies.
func (s *Store) Now() time.Time { return s.now() }

func itob(id uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, id)
	return b
}

func btoi(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

func getJSON(b *bolt.Bucket, key []byte, v any) (bool, error) {
	data := b.Get(key)
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("decode record %x: %w", key, err)
	}
	return true, nil
}

// nextID takes the next id of a record bucket.
func nextID(b *bolt.Bucket) (uint64, error) { return b.NextSequence() }

// lookup resolves an index key to the id it points at, or 0.
func lookup(tx *bolt.Tx, index []byte, key string) uint64 {
	return btoi(tx.Bucket(index).Get([]byte(key)))
}

// Backup writes a consistent copy of the database from one read
// transaction, while other reads and writes go on. to is called with the
// copy's size and a function that writes it.
func (s *Store) Backup(to func(size int64, write func(io.Writer) error) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		return to(tx.Size(), func(w io.Writer) error {
			_, err := tx.WriteTo(w)
			return err
		})
	})
}

// backupTo writes a consistent copy of the database to path, fsynced.
func (s *Store) backupTo(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	err = s.Backup(func(_ int64, write func(io.Writer) error) error { return write(f) })
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// FileSize is the size of the database file in bytes.
func (s *Store) FileSize() (int64, error) {
	var size int64
	err := s.db.View(func(tx *bolt.Tx) error {
		size = tx.Size()
		return nil
	})
	return size, err
}
