package db

import (
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// User is a person who can sign in. The API shows it as seed 000's
// userSchema; that shape is the server's, built from this.
type User struct {
	ID            uint64
	Name          string
	Email         string
	Username      string
	RootRole      Role
	LoginAttempts int
	EmailSent     bool
	SeenAt        *time.Time
	CreatedAt     time.Time
	// LinkID is the signup link the user joined through, or 0.
	LinkID uint64
	// InvitationID is the invitation the user accepted to join, or 0.
	InvitationID uint64
	// OrganizationID is the organization the user belongs to.
	OrganizationID string
	// Groups are the ids of the user's groups, sorted.
	Groups []string

	// ThrottledUntil is the end of the last wait that failed logins gave
	// the account (nil when none since the last good login or unlock); the
	// account is slowed down while the clock is before it. The API does
	// not show it.
	ThrottledUntil *time.Time

	// Disabled says an Admin disabled the account: it cannot log in and
	// no session of it is accepted, but its data stays (Store.DisableUser).
	Disabled bool

	// EmailVerified says the user proved they read the mail of Email: by
	// accepting an invitation sent there, by opening the verification link
	// emailed after a signup that needed it (Options.VerifyEmail), or
	// because they joined before verification existed or without it.
	EmailVerified bool

	// PendingApproval says the user signed up through a link that asks
	// for an Admin's approval (requireApproval) and no Admin approved them
	// yet (Store.ApproveUser): like an unverified user, they are let in
	// nowhere.
	PendingApproval bool
}

// Active says whether the user may be let in at all: by a login, a
// session, the gate and single sign-on. It is the one place that decides;
// every check that lets someone in calls it. A disabled user is not let
// in, nor is one whose address is still unverified, nor one who waits
// for an Admin's approval.
func (u User) Active() bool { return !u.Disabled && u.EmailVerified && !u.PendingApproval }

// userRecord is how a user is stored.
type userRecord struct {
	V             int        `json:"v"`
	ID            uint64     `json:"id"`
	Name          string     `json:"name"`
	Email         string     `json:"email"`
	Username      string     `json:"username,omitempty"`
	PasswordHash  string     `json:"password_hash"`
	RootRole      Role       `json:"root_role"`
	LoginAttempts int        `json:"login_attempts"`
	EmailSent     bool       `json:"email_sent"`
	SeenAt        *time.Time `json:"seen_at,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	LinkID        uint64     `json:"link_id,omitempty"`
	InvitationID  uint64     `json:"invitation_id,omitempty"`
	OrgID         string     `json:"org_id,omitempty"`
	Groups        []string   `json:"groups,omitempty"`

	// ThrottledUntil is User.ThrottledUntil.
	ThrottledUntil *time.Time `json:"throttled_until,omitempty"`

	// Disabled is User.Disabled.
	Disabled bool `json:"disabled,omitempty"`

	// Unverified is the opposite of User.EmailVerified, stored this way
	// round so that its zero value, in every record written before
	// verification existed, means verified.
	Unverified bool `json:"unverified,omitempty"`
	// VerifyMails are when the last verification emails were queued (at
	// most VerifyEmailsPerHour, within the last hour), for the cap on
	// resending; dropped once the address is verified.
	VerifyMails []time.Time `json:"verify_mails,omitempty"`
	// Pending is User.PendingApproval (its zero value, in every record
	// written before approval existed, means approved).
	Pending bool `json:"pending_approval,omitempty"`
	// TOTPSecret is the authenticator app's shared secret (base32), or
	// "" when TOTP is off. It is stored as it is, not hashed: the server
	// must read it to compute the codes it checks. TOTPPending is a
	// secret being set up, not yet confirmed with a code.
	TOTPSecret    string     `json:"totp_secret,omitempty"`
	TOTPPending   string     `json:"totp_pending,omitempty"`
	TOTPEnabledAt *time.Time `json:"totp_enabled_at,omitempty"`
	// TOTPLastStep is the time step of the last code accepted: a code of
	// that step or an older one is refused (no replay).
	TOTPLastStep int64 `json:"totp_last_step,omitempty"`
	// RecoveryCodes are the SHA-256 (hex) of the unused recovery codes.
	RecoveryCodes []string `json:"recovery_codes,omitempty"`
	// SecondFactorFails counts wrong codes given with the current login
	// continuation.
	SecondFactorFails int `json:"second_factor_fails,omitempty"`
}

// orgID is the user's organization; records written before organizations
// existed belong to the default one.
func (r userRecord) orgID() string {
	if r.OrgID == "" {
		return DefaultOrganization
	}
	return r.OrgID
}

func (r userRecord) user() User {
	return User{
		ID: r.ID, Name: r.Name, Email: r.Email, Username: r.Username, RootRole: r.RootRole,
		LoginAttempts: r.LoginAttempts, EmailSent: r.EmailSent, SeenAt: r.SeenAt,
		CreatedAt: r.CreatedAt, LinkID: r.LinkID, InvitationID: r.InvitationID, OrganizationID: r.orgID(),
		Groups: r.Groups, ThrottledUntil: r.ThrottledUntil, Disabled: r.Disabled,
		EmailVerified: !r.Unverified, PendingApproval: r.Pending,
	}
}

// NewUser is what it takes to create a user. Email, Name and Username must
// already be normalised (NormalizeEmail, CleanText, NormalizeUsername) and
// the password hashed.
type NewUser struct {
	Email        string
	Name         string
	Username     string
	PasswordHash string
}

// emailKey is the key of an address in the email indexes: the key of its
// NormalizeEmail form, so that every spelling of a mailbox finds the same
// entry whoever calls, and of the text as given when the rules refuse it
// (what someone typed to log in, or an address stored before the rules
// existed). Folding the case both ways makes the letters that have two
// lower-case forms (Greek sigma, dotless i) meet.
func emailKey(email string) string {
	if normal, err := NormalizeEmail("email", email); err == nil {
		email = normal
	}
	return strings.ToLower(strings.ToUpper(strings.TrimSpace(email)))
}

func usernameKey(username string) string { return strings.ToLower(username) }

// checkAvailableTx returns ECONFLICT when the email or the username is
// taken (both compared without case).
func checkAvailableTx(tx *bolt.Tx, email, username string) error {
	if lookup(tx, bucketUsersByEmail, emailKey(email)) != 0 {
		return &Error{Code: ECONFLICT, Message: "A user with the email " + strconv.Quote(email) + " already exists; sign in instead, or use another address.",
			Details: []FieldError{{Path: "email", Message: "is taken"}}}
	}
	if username != "" && lookup(tx, bucketUsersByUsername, usernameKey(username)) != 0 {
		return &Error{Code: ECONFLICT, Message: "The username " + strconv.Quote(username) + " is taken; choose another one.",
			Details: []FieldError{{Path: "username", Message: "is taken"}}}
	}
	return nil
}

// placement says where a new user comes from and what it gets.
type placement struct {
	role         Role
	orgID        string
	linkID       uint64
	invitationID uint64
	groups       []string // of the link or invitation
	// unverified creates the user with an address still to verify.
	unverified bool
	// pending creates the user waiting for an Admin's approval.
	pending bool
}

// createUserTx stores a new user with its indexes and audit event.
func (s *Store) createUserTx(tx *bolt.Tx, actor Actor, in NewUser, at placement) (userRecord, error) {
	// Callers normalise already; doing it again here means no path can
	// store an address in any other form.
	email, err := NormalizeEmail("email", in.Email)
	if err != nil {
		return userRecord{}, err
	}
	in.Email = email
	if err := checkAvailableTx(tx, in.Email, in.Username); err != nil {
		return userRecord{}, err
	}
	b := tx.Bucket(bucketUsers)
	id, err := nextID(b)
	if err != nil {
		return userRecord{}, err
	}
	rec := userRecord{
		V: 1, ID: id, Name: in.Name, Email: in.Email, Username: in.Username,
		PasswordHash: in.PasswordHash, RootRole: at.role, CreatedAt: s.clock(), LinkID: at.linkID,
		InvitationID: at.invitationID, OrgID: at.orgID, Groups: liveGroupsTx(tx, at.groups),
		Unverified: at.unverified, Pending: at.pending,
	}
	if err := putJSON(b, itob(id), rec); err != nil {
		return userRecord{}, err
	}
	if err := tx.Bucket(bucketUsersByEmail).Put([]byte(emailKey(in.Email)), itob(id)); err != nil {
		return userRecord{}, err
	}
	if in.Username != "" {
		if err := tx.Bucket(bucketUsersByUsername).Put([]byte(usernameKey(in.Username)), itob(id)); err != nil {
			return userRecord{}, err
		}
	}
	err = s.addEventTx(tx, actor, EventUserCreated, "user", id, map[string]any{
		"email": rec.Email, "username": rec.Username, "name": rec.Name, "rootRole": at.role, "organizationId": rec.orgID(),
		"groups": rec.Groups, "emailVerified": !rec.Unverified, "pendingApproval": rec.Pending,
	})
	return rec, err
}

func getUserTx(tx *bolt.Tx, id uint64) (userRecord, error) {
	var rec userRecord
	ok, err := getJSON(tx.Bucket(bucketUsers), itob(id), &rec)
	if err != nil {
		return rec, err
	}
	if !ok {
		return rec, Errorf(ENOTFOUND, "There is no user with id %d.", id)
	}
	return rec, nil
}

// FindUserByID returns the user, or ENOTFOUND.
func (s *Store) FindUserByID(id uint64) (User, error) {
	gen := s.gen.Load()
	key := strconv.FormatUint(id, 10)
	if u, ok := s.users.get(gen, key); ok {
		return cloneUser(u), nil
	}
	var u User
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := getUserTx(tx, id)
		u = rec.user()
		return err
	})
	if err != nil {
		return u, err
	}
	s.users.put(gen, s.gen.Load(), key, cloneUser(u))
	return u, nil
}

// FindUserByLogin returns the user whose email or username is login (case
// does not matter), or ENOTFOUND.
func (s *Store) FindUserByLogin(login string) (User, error) {
	var u User
	err := s.db.View(func(tx *bolt.Tx) error {
		login = strings.TrimSpace(login)
		id := lookup(tx, bucketUsersByEmail, emailKey(login))
		if id == 0 {
			id = lookup(tx, bucketUsersByUsername, usernameKey(login))
		}
		if id == 0 {
			return Errorf(ENOTFOUND, "No user has the email or username %q.", login)
		}
		rec, err := getUserTx(tx, id)
		u = rec.user()
		return err
	})
	return u, err
}

// CountUsers returns how many users exist.
func (s *Store) CountUsers() (int, error) {
	var n int
	err := s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketUsers).Stats().KeyN
		return nil
	})
	return n, err
}

func usersTx(tx *bolt.Tx, ids []uint64) ([]User, error) {
	users := make([]User, 0, len(ids))
	for _, id := range ids {
		rec, err := getUserTx(tx, id)
		if ErrorCode(err) == ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		users = append(users, rec.user())
	}
	return users, nil
}

// LoginCandidate returns the id and password hash of the user whose email
// or username is login, or ENOTFOUND.
func (s *Store) LoginCandidate(login string) (uint64, string, error) {
	var id uint64
	var hash string
	err := s.db.View(func(tx *bolt.Tx) error {
		login = strings.TrimSpace(login)
		id = lookup(tx, bucketUsersByEmail, emailKey(login))
		if id == 0 {
			id = lookup(tx, bucketUsersByUsername, usernameKey(login))
		}
		if id == 0 {
			return ErrBadLogin
		}
		rec, err := getUserTx(tx, id)
		hash = rec.PasswordHash
		return err
	})
	return id, hash, err
}
