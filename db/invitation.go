package db

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Invitation states. EXPIRED is never stored: a PENDING invitation past its
// expiry reads as EXPIRED.
const (
	InvitationPending  = "PENDING"
	InvitationAccepted = "ACCEPTED"
	InvitationExpired  = "EXPIRED"
	InvitationRevoked  = "REVOKED"
)

// Limits on invitations.
const (
	MaxInvitationTTL = 365 * 24 * time.Hour
	MaxLabels        = 64
	MaxLabelKey      = 63
	MaxLabelValue    = 256
	// InvitationTokenBytes of randomness make a token: 256 bits.
	InvitationTokenBytes = 32
)

// Label is a key and value attached to an invitation. Its json tags are
// how invitation records store it (the API's shape is the server's).
type Label struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Invitation is a personal invitation for one email address. The API
// shows it as seed 004's UserInvitation plus roleId, organizationId and
// state; that shape, and the address where it is accepted
// (weburl.InvitationLink of its Token), are built by the server.
type Invitation struct {
	ID    uint64
	Email string
	// Token is set only in the answer that created the token (create and
	// resend); the store keeps only the token's hash.
	Token        string
	ExpiresAt    time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Creator      string
	Updater      string
	Inviter      string
	TTL          time.Duration
	DisableEmail bool
	Labels       []Label
	Role         Role
	OrgID        string
	State        string
	UserID       uint64 // the user who accepted, once ACCEPTED
	// Groups are the ids of the groups the invitee gets, sorted.
	Groups []string
	// AppID is the app the invitee is sent on to ("" for none).
	AppID string
}

// FormatDuration renders d as a protobuf JSON duration: seconds with an
// "s" suffix ("604800s", "1.5s").
func FormatDuration(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

// ParseDuration reads a protobuf JSON duration ("604800s", "3600.5s").
// Go duration strings such as "168h" are accepted too.
func ParseDuration(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if strings.HasSuffix(s, "s") {
		if f, err := strconv.ParseFloat(strings.TrimSuffix(s, "s"), 64); err == nil && f == f && f < 1e10 && f > -1e10 {
			return time.Duration(f * float64(time.Second)), true
		}
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

// InvitationName is the resource name of an invitation id.
func InvitationName(id uint64) string { return "userInvitations/" + strconv.FormatUint(id, 10) }

type invitationRecord struct {
	V            int           `json:"v"`
	ID           uint64        `json:"id"`
	Email        string        `json:"email"`
	TokenHash    string        `json:"token_hash,omitempty"`
	ExpiresAt    time.Time     `json:"expires_at"`
	CreatedAt    time.Time     `json:"created_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
	Creator      string        `json:"creator"`
	Updater      string        `json:"updater"`
	Inviter      string        `json:"inviter,omitempty"`
	TTL          time.Duration `json:"ttl"`
	DisableEmail bool          `json:"disable_email,omitempty"`
	Labels       []Label       `json:"labels,omitempty"`
	Role         Role          `json:"role"`
	OrgID        string        `json:"org_id"`
	State        string        `json:"state"`
	UserID       uint64        `json:"user_id,omitempty"`
	Groups       []string      `json:"groups,omitempty"`
	AppID        string        `json:"app_id,omitempty"`
	// CreatorUserID is the user who made the invitation, when a user did
	// (not an API key, the CLI or the TUI on the file): the one told when
	// it is accepted. Zero in records written before it was kept.
	CreatorUserID uint64 `json:"creator_user_id,omitempty"`
}

func (s *Store) invitation(rec invitationRecord) Invitation {
	inv := Invitation{
		ID: rec.ID, Email: rec.Email, ExpiresAt: rec.ExpiresAt, CreatedAt: rec.CreatedAt, UpdatedAt: rec.UpdatedAt,
		Creator: rec.Creator, Updater: rec.Updater, Inviter: rec.Inviter, TTL: rec.TTL, DisableEmail: rec.DisableEmail,
		Labels: rec.Labels, Role: rec.Role, OrgID: rec.OrgID, State: rec.State, UserID: rec.UserID,
		Groups: rec.Groups, AppID: rec.AppID,
	}
	if inv.State == InvitationPending && !s.now().Before(inv.ExpiresAt) {
		inv.State = InvitationExpired
	}
	return inv
}

// NewInvitation is what it takes to invite someone.
type NewInvitation struct {
	Email string
	// TTL or ExpiresAt (not both) set the expiry; neither means
	// DefaultTTL. TTL is a pointer so that a ttl given as 0 is refused
	// rather than read as "none"; CreateInvitation sets it to the ttl used.
	TTL          *time.Duration
	ExpiresAt    time.Time
	DefaultTTL   time.Duration
	Inviter      string
	DisableEmail bool
	Labels       []Label
	Role         Role   // 0 means Viewer
	OrgID        string // "" means the default organization
	// Groups the invitee gets; the actor may hand out only groups they
	// are in (Admins: any).
	Groups []string
	// AppID is the app the invitee is sent on to, signed in, once they
	// accept; "" for none. The app must exist.
	AppID string
}

func (s *Store) validateInvitation(actor Actor, in *NewInvitation) error {
	var errs fieldErrors
	email, err := NormalizeEmail("invitedEmail", in.Email)
	errs.addErr(err)
	in.Email = email
	ttl := in.DefaultTTL
	if in.TTL != nil {
		ttl = *in.TTL
	}
	switch {
	case in.TTL != nil && !in.ExpiresAt.IsZero():
		errs.add("ttl", "give either ttl or expirationTime, not both")
	case !in.ExpiresAt.IsZero():
		if err := CheckTime("expirationTime", in.ExpiresAt); err != nil {
			errs.addErr(err)
		} else if !in.ExpiresAt.After(s.now()) {
			errs.add("expirationTime", "must be in the future")
		} else if in.ExpiresAt.Sub(s.now()) > MaxInvitationTTL {
			errs.add("expirationTime", "may be at most 365 days ahead")
		}
		ttl = in.ExpiresAt.Sub(s.clock()).Round(time.Second)
	case ttl <= 0:
		errs.add("ttl", "must be a positive duration such as \"604800s\"")
	case ttl > MaxInvitationTTL:
		errs.add("ttl", "may be at most 365 days (\"31536000s\")")
	}
	in.TTL = &ttl
	// The expiry the ttl makes must be a time the records can hold too.
	if in.ExpiresAt.IsZero() && ttl > 0 {
		errs.addErr(CheckTime("ttl", s.now().Add(ttl)))
	}
	inviter, err := CleanText("inviter", in.Inviter, false, MaxNameLength)
	errs.addErr(err)
	in.Inviter = inviter
	if in.Role == 0 {
		in.Role = RoleViewer
	}
	if !in.Role.Valid() {
		errs.add("roleId", RootRoleRule)
	} else if !actor.CanGrant(in.Role) {
		errs.add("roleId", fmt.Sprintf("may not be above your own role (%s)", actor.Role.Name()))
	}
	if in.OrgID == "" {
		in.OrgID = DefaultOrganization
	}
	if len(in.Labels) > MaxLabels {
		errs.add("labels", fmt.Sprintf("may hold at most %d labels", MaxLabels))
	}
	seen := map[string]bool{}
	for i, l := range in.Labels {
		path := fmt.Sprintf("labels[%d]", i)
		key, err := CleanText(path+".key", l.Key, true, MaxLabelKey)
		errs.addErr(err)
		value, err2 := CleanText(path+".value", l.Value, false, MaxLabelValue)
		errs.addErr(err2)
		if err == nil && seen[key] {
			errs.add(path+".key", fmt.Sprintf("%q is given twice", key))
		}
		seen[key] = true
		in.Labels[i] = Label{Key: key, Value: value}
	}
	cleanGroups(&errs, "groups", in.Groups)
	in.AppID = cleanAppID(&errs, "appId", in.AppID)
	return errs.err()
}

// CreateInvitation invites one email address. With email not disabled, the
// invitation email is queued in the same transaction (as data: the mail
// worker renders it when it sends it). The result holds the token, which
// is not stored and not shown again. It returns EINVALID (bad fields,
// unknown organization), or ECONFLICT when the address has an account or
// a pending invitation.
func (s *Store) CreateInvitation(actor Actor, in NewInvitation) (Invitation, error) {
	if err := s.validateInvitation(actor, &in); err != nil {
		return Invitation{}, err
	}
	token, err := s.newSecret(InvitationTokenBytes)
	if err != nil {
		return Invitation{}, err
	}
	var inv Invitation
	err = s.update(func(tx *bolt.Tx) error {
		var err error
		inv, err = s.createInvitationTx(tx, actor, in, token)
		return err
	})
	return inv, err
}

// createInvitationTx is the write of CreateInvitation, for in as
// validateInvitation left it, in the caller's transaction: it checks the
// organization, the groups, an account or a pending invitation for the
// address, and only then writes anything (the invitation, its index, its
// event and its email), so an error leaves nothing of it behind.
func (s *Store) createInvitationTx(tx *bolt.Tx, actor Actor, in NewInvitation, token string) (Invitation, error) {
	var inv Invitation
	err := func() error {
		if !orgExistsTx(tx, in.OrgID) {
			return FieldErrorf("organizationId", "%q is not an organization; create it first or leave it out for %q", in.OrgID, DefaultOrganization)
		}
		if err := checkGroupsTx(tx, actor, "groups", in.Groups); err != nil {
			return err
		}
		if err := checkAppIDTx(tx, "appId", in.AppID); err != nil {
			return err
		}
		if lookup(tx, bucketUsersByEmail, emailKey(in.Email)) != 0 {
			return &Error{Code: ECONFLICT, Message: fmt.Sprintf("%s already has an account; there is nothing to invite.", in.Email),
				Details: []FieldError{{Path: "invitedEmail", Message: "has an account"}}}
		}
		if id := lookup(tx, bucketInvitesByEmail, emailKey(in.Email)); id != 0 {
			prev, err := getInvitationTx(tx, id)
			if err != nil {
				return err
			}
			if s.invitation(prev).State == InvitationPending {
				msg := fmt.Sprintf("%s has a pending invitation (%s); resend that one instead of inviting again.", in.Email, InvitationName(id))
				// One the actor may not see is not named: resending it
				// would answer 404.
				if !canManageInvitation(actor, prev) {
					msg = fmt.Sprintf("%s already has a pending invitation from someone with more rights than yours; ask an Admin to resend or revoke it.", in.Email)
				}
				return &Error{Code: ECONFLICT, Message: msg,
					Details: []FieldError{{Path: "invitedEmail", Message: "has a pending invitation"}}}
			}
		}
		b := tx.Bucket(bucketInvitations)
		id, err := nextID(b)
		if err != nil {
			return err
		}
		now := s.clock()
		rec := invitationRecord{
			V: 1, ID: id, Email: in.Email, TokenHash: hashToken(token), ExpiresAt: now.Add(*in.TTL),
			CreatedAt: now, UpdatedAt: now, Creator: actor.String(), Updater: actor.String(),
			Inviter: in.Inviter, TTL: *in.TTL, DisableEmail: in.DisableEmail, Labels: in.Labels,
			Role: in.Role, OrgID: in.OrgID, State: InvitationPending,
			Groups: nonEmpty(cleanGroups(new(fieldErrors), "groups", in.Groups)),
			AppID:  in.AppID,
		}
		rec.CreatorUserID = actor.PersonID()
		if !in.ExpiresAt.IsZero() {
			rec.ExpiresAt = in.ExpiresAt.UTC()
		}
		if err := s.putInvitationTx(tx, rec); err != nil {
			return err
		}
		if err := tx.Bucket(bucketInvitesByEmail).Put([]byte(emailKey(in.Email)), itob(id)); err != nil {
			return err
		}
		if err := s.addEventTx(tx, actor, EventInviteCreated, "invitation", id, map[string]any{
			"email": rec.Email, "roleId": rec.Role, "organizationId": rec.OrgID, "expirationTime": FormatTime(rec.ExpiresAt),
			"groups": rec.Groups, "appId": rec.AppID,
		}); err != nil {
			return err
		}
		inv = s.invitation(rec)
		inv.Token = token
		if in.DisableEmail {
			return nil
		}
		return s.sendInvitationTx(tx, inv)
	}()
	return inv, err
}

// sendInvitationTx queues the email of an invitation that was just given
// token. The outbox keeps the token in clear until the email is sent, as
// the link needs it; see OutboxEmail.Token.
func (s *Store) sendInvitationTx(tx *bolt.Tx, inv Invitation) error {
	return s.enqueueEmailTx(tx, emailRecord{
		Kind: EmailInvitation, To: inv.Email, InvitationID: inv.ID, Inviter: inv.Inviter, Token: inv.Token,
	})
}

func (s *Store) putInvitationTx(tx *bolt.Tx, rec invitationRecord) error {
	if err := putJSON(tx.Bucket(bucketInvitations), itob(rec.ID), rec); err != nil {
		return err
	}
	if rec.TokenHash == "" {
		return nil
	}
	return tx.Bucket(bucketInvitesByToken).Put([]byte(rec.TokenHash), itob(rec.ID))
}

// retireTokenTx forgets an invitation's token, for a resend that replaces
// it: the old link then reads as unknown. Accepted and revoked invitations
// keep theirs, so their links can say what became of them.
func retireTokenTx(tx *bolt.Tx, rec *invitationRecord) error {
	if rec.TokenHash == "" {
		return nil
	}
	if err := tx.Bucket(bucketInvitesByToken).Delete([]byte(rec.TokenHash)); err != nil {
		return err
	}
	rec.TokenHash = ""
	return nil
}

// endPendingTx drops an invitation from the index of pending invitations
// by email, so the address may be invited again.
func endPendingTx(tx *bolt.Tx, rec *invitationRecord) error {
	byEmail := tx.Bucket(bucketInvitesByEmail)
	if btoi(byEmail.Get([]byte(emailKey(rec.Email)))) == rec.ID {
		return byEmail.Delete([]byte(emailKey(rec.Email)))
	}
	return nil
}

// errNoInvitation is the answer for an unknown invitation, and for one the
// caller may not manage, so that the two cannot be told apart.
func errNoInvitation(id uint64) error {
	return Errorf(ENOTFOUND, "There is no invitation %s.", InvitationName(id))
}

func getInvitationTx(tx *bolt.Tx, id uint64) (invitationRecord, error) {
	var rec invitationRecord
	ok, err := getJSON(tx.Bucket(bucketInvitations), itob(id), &rec)
	if err != nil {
		return rec, err
	}
	if !ok {
		return rec, errNoInvitation(id)
	}
	return rec, nil
}

// canManageInvitation reports whether actor may see, revoke or resend an
// invitation: only when they could have given its role themselves.
func canManageInvitation(actor Actor, rec invitationRecord) bool {
	return actor.CanHandOut(rec.Role, rec.Groups)
}

// manageableInvitationTx is getInvitationTx for actor: an invitation they
// may not manage is ENOTFOUND, exactly as an unknown one.
func manageableInvitationTx(tx *bolt.Tx, actor Actor, id uint64) (invitationRecord, error) {
	rec, err := getInvitationTx(tx, id)
	if err == nil && !canManageInvitation(actor, rec) {
		return invitationRecord{}, errNoInvitation(id)
	}
	return rec, err
}

// GetInvitation returns an invitation (without its token), or ENOTFOUND,
// also for one whose role is above the actor's own.
func (s *Store) GetInvitation(actor Actor, id uint64) (Invitation, error) {
	var inv Invitation
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := manageableInvitationTx(tx, actor, id)
		inv = s.invitation(rec)
		return err
	})
	return inv, err
}

// ListInvitations returns up to limit invitations with ids above after,
// oldest first, only those in state when it is not empty and none whose
// role is above the actor's own, and the id to continue after (0 when
// there are no more).
func (s *Store) ListInvitations(actor Actor, state string, after uint64, limit int) ([]Invitation, uint64, error) {
	list := []Invitation{}
	var next uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketInvitations).Cursor()
		for k, v := c.Seek(itob(after + 1)); k != nil; k, v = c.Next() {
			var rec invitationRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			inv := s.invitation(rec)
			if (state != "" && inv.State != state) || !canManageInvitation(actor, rec) {
				continue
			}
			if len(list) == limit {
				next = list[len(list)-1].ID
				return nil
			}
			list = append(list, inv)
		}
		return nil
	})
	return list, next, err
}

// RevokeInvitation ends a pending or expired invitation so that its token
// no longer works. Revoking a revoked invitation changes nothing. It
// returns ENOTFOUND (also for an invitation whose role is above the
// actor's own), or EINVALID for an accepted one.
func (s *Store) RevokeInvitation(actor Actor, id uint64) (Invitation, error) {
	var inv Invitation
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := manageableInvitationTx(tx, actor, id)
		if err != nil {
			return err
		}
		switch rec.State {
		case InvitationRevoked:
			inv = s.invitation(rec)
			return nil
		case InvitationAccepted:
			return Errorf(EINVALID, "%s was already accepted; delete the user instead.", InvitationName(id))
		}
		if err := endPendingTx(tx, &rec); err != nil {
			return err
		}
		rec.State, rec.UpdatedAt, rec.Updater = InvitationRevoked, s.clock(), actor.String()
		if err := s.putInvitationTx(tx, rec); err != nil {
			return err
		}
		inv = s.invitation(rec)
		return s.addEventTx(tx, actor, EventInviteRevoked, "invitation", id, map[string]any{"email": rec.Email})
	})
	return inv, err
}

// ResendInvitation gives a pending or expired invitation a new token (the
// old one stops working), renews its expiry by its ttl, and queues the
// email again. It returns ENOTFOUND (also for an invitation whose role is
// above the actor's own), or EINVALID for an accepted or revoked
// invitation, or ECONFLICT when the address got an account or another
// pending invitation meanwhile.
func (s *Store) ResendInvitation(actor Actor, id uint64) (Invitation, error) {
	return s.ResendInvitationWithTTL(actor, id, 0)
}

// ResendInvitationWithTTL is ResendInvitation with a new ttl: the link
// works for ttl from now, and ttl becomes the invitation's own. ttl 0
// keeps the invitation's ttl; above MaxInvitationTTL or below 0 is
// EINVALID.
func (s *Store) ResendInvitationWithTTL(actor Actor, id uint64, ttl time.Duration) (Invitation, error) {
	if ttl < 0 || ttl > MaxInvitationTTL {
		return Invitation{}, FieldErrorf("ttl", "must be more than 0 and at most 365 days")
	}
	token, err := s.newSecret(InvitationTokenBytes)
	if err != nil {
		return Invitation{}, err
	}
	var inv Invitation
	err = s.update(func(tx *bolt.Tx) error {
		rec, err := manageableInvitationTx(tx, actor, id)
		if err != nil {
			return err
		}
		if rec.State != InvitationPending {
			return Errorf(EINVALID, "%s is %s and cannot be resent; create a new invitation instead.", InvitationName(id), strings.ToLower(rec.State))
		}
		if lookup(tx, bucketUsersByEmail, emailKey(rec.Email)) != 0 {
			return Errorf(ECONFLICT, "%s has an account now; there is nothing to resend.", rec.Email)
		}
		if other := lookup(tx, bucketInvitesByEmail, emailKey(rec.Email)); other != 0 && other != id {
			if _, err := manageableInvitationTx(tx, actor, other); err != nil {
				if ErrorCode(err) != ENOTFOUND {
					return err
				}
				return Errorf(ECONFLICT, "%s has a newer pending invitation from someone with more rights than yours; ask an Admin about it.", rec.Email)
			}
			return Errorf(ECONFLICT, "%s has a newer pending invitation (%s); resend that one.", rec.Email, InvitationName(other))
		}
		if err := retireTokenTx(tx, &rec); err != nil {
			return err
		}
		now := s.clock()
		if ttl > 0 {
			rec.TTL = ttl
		}
		rec.TokenHash, rec.ExpiresAt, rec.UpdatedAt, rec.Updater = hashToken(token), now.Add(rec.TTL), now, actor.String()
		if err := s.putInvitationTx(tx, rec); err != nil {
			return err
		}
		if err := tx.Bucket(bucketInvitesByEmail).Put([]byte(emailKey(rec.Email)), itob(id)); err != nil {
			return err
		}
		if err := s.addEventTx(tx, actor, EventInviteResent, "invitation", id, map[string]any{"email": rec.Email, "expirationTime": FormatTime(rec.ExpiresAt)}); err != nil {
			return err
		}
		inv = s.invitation(rec)
		inv.Token = token
		return s.sendInvitationTx(tx, inv)
	})
	return inv, err
}

// invitationByTokenTx finds the invitation of a token and checks that it
// can be accepted: ENOTFOUND for an unknown token, EGONE for an accepted,
// revoked or expired one.
func (s *Store) invitationByTokenTx(tx *bolt.Tx, token string) (invitationRecord, error) {
	id := uint64(0)
	if len(token) == 2*InvitationTokenBytes && strings.Trim(token, "0123456789abcdef") == "" {
		id = lookup(tx, bucketInvitesByToken, hashToken(token))
	}
	if id == 0 {
		return invitationRecord{}, Errorf(ENOTFOUND, "This invitation link is not valid: it may be mistyped, or replaced by a newer email. Use the link in the latest email, or ask for a new invitation.")
	}
	rec, err := getInvitationTx(tx, id)
	if err != nil {
		return rec, err
	}
	switch s.invitation(rec).State {
	case InvitationAccepted:
		return rec, Errorf(EGONE, "This invitation was already accepted; log in instead.")
	case InvitationRevoked:
		return rec, Errorf(EGONE, "This invitation was withdrawn by an admin; ask them for a new one.")
	case InvitationExpired:
		return rec, Errorf(EGONE, "This invitation expired on %s; ask an admin to send it again.", rec.ExpiresAt.UTC().Format("2 January 2006 15:04 MST"))
	}
	return rec, nil
}

// FindInvitationByToken returns the invitation a token belongs to when it
// can still be accepted; errors as AcceptInvitation.
func (s *Store) FindInvitationByToken(token string) (Invitation, error) {
	var inv Invitation
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := s.invitationByTokenTx(tx, token)
		inv = s.invitation(rec)
		return err
	})
	return inv, err
}

// AcceptInvitation creates the invited user (with the invitation's email,
// role and organization), marks the invitation ACCEPTED and queues the
// welcome email, in one transaction: the write step of
// Accounts.AcceptInvitation, which checks the input and hashes the
// password first. in.Email is ignored. It returns
// ENOTFOUND for an unknown token, EGONE for one that cannot be used, and
// ECONFLICT for a taken username (or an email that got an account).
func (s *Store) AcceptInvitation(token string, in NewUser) (User, error) {
	j, err := s.acceptInvitation(token, in, nil)
	return j.User, err
}

// acceptInvitation is AcceptInvitation that, with si, also signs the new
// user in when the invitation names an app (see Joined).
func (s *Store) acceptInvitation(token string, in NewUser, si *joinSignIn) (Joined, error) {
	var j Joined
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := s.invitationByTokenTx(tx, token)
		if err != nil {
			return err
		}
		in.Email = rec.Email
		actor := Actor{Kind: "invitation", ID: rec.ID, Name: InvitationName(rec.ID), Role: rec.Role}
		urec, err := s.createUserTx(tx, actor, in, placement{role: rec.Role, orgID: rec.OrgID, invitationID: rec.ID, groups: rec.Groups})
		if err != nil {
			return err
		}
		if err := endPendingTx(tx, &rec); err != nil {
			return err
		}
		rec.State, rec.UserID, rec.UpdatedAt, rec.Updater = InvitationAccepted, urec.ID, s.clock(), actor.String()
		if err := s.putInvitationTx(tx, rec); err != nil {
			return err
		}
		if err := s.addEventTx(tx, actor, EventInviteAccept, "invitation", rec.ID, map[string]any{"email": rec.Email, "userId": urec.ID}); err != nil {
			return err
		}
		if err := s.welcomeTx(tx, urec); err != nil {
			return err
		}
		if err := s.notifyInviterTx(tx, rec); err != nil {
			return err
		}
		j, err = s.joinTx(tx, &urec, rec.AppID, si)
		return err
	})
	return j, err
}

// notifyInviterTx queues the email that tells the user who made an
// invitation that it was accepted (DESIGN §12), when Options.NotifyInviter
// is on and a user made it: an API key, the CLI or the TUI on the file
// have nobody to tell. Whether the inviter still exists and is active is
// judged when the email is sent, not here.
func (s *Store) notifyInviterTx(tx *bolt.Tx, rec invitationRecord) error {
	if !s.notifyInviter || rec.CreatorUserID == 0 {
		return nil
	}
	inviter, err := getUserTx(tx, rec.CreatorUserID)
	if ErrorCode(err) == ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	return s.enqueueEmailTx(tx, emailRecord{Kind: EmailInviteAccepted, To: inviter.Email, UserID: inviter.ID, InvitationID: rec.ID})
}

// CountInvitations counts invitations by state (EXPIRED as read now).
func (s *Store) CountInvitations() (map[string]int, error) {
	counts := map[string]int{InvitationPending: 0, InvitationAccepted: 0, InvitationExpired: 0, InvitationRevoked: 0}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketInvitations).ForEach(func(_, v []byte) error {
			var rec invitationRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			counts[s.invitation(rec).State]++
			return nil
		})
	})
	return counts, err
}
