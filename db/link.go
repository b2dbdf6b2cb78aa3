package db

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SignupToken is a shareable signup link ("public signup token"). The API
// shows it as seed 002's publicSignupTokenSchema plus description,
// maxUses, uses and allowedDomains; that shape, and the link's address
// (weburl.SignupLink of its Secret), are built by the server.
type SignupToken struct {
	ID     uint64
	Secret string
	// Name is private: only admins see it, never a public page.
	Name string
	// Description is public: the signup page shows it to whoever has the
	// link ("" for none).
	Description string
	// Enabled is false when an admin switched the link off or it expired.
	Enabled bool
	// Switched is the admin's on/off switch alone; Expired tells the rest.
	Switched       bool
	Expired        bool
	ExpiresAt      time.Time
	CreatedAt      time.Time
	CreatedBy      string
	Role           Role
	MaxUses        int // 0: no limit
	Uses           int
	AllowedDomains []string
	// Groups are the ids of the groups whoever signs up gets, sorted.
	Groups []string
	// AppID is the app whoever signs up is sent on to ("" for none).
	AppID string
	// RequireApproval says whoever signs up through the link waits for
	// an Admin's approval before they may log in (approval.go).
	RequireApproval bool
	Users           []User
}

type linkRecord struct {
	V              int       `json:"v"`
	ID             uint64    `json:"id"`
	Secret         string    `json:"secret"`
	Name           string    `json:"name"`
	Description    string    `json:"description,omitempty"`
	Enabled        bool      `json:"enabled"`
	ExpiresAt      time.Time `json:"expires_at"`
	CreatedAt      time.Time `json:"created_at"`
	CreatedBy      string    `json:"created_by"`
	Role           Role      `json:"role"`
	MaxUses        int       `json:"max_uses,omitempty"`
	AllowedDomains []string  `json:"allowed_domains,omitempty"`
	Groups         []string  `json:"groups,omitempty"`
	AppID          string    `json:"app_id,omitempty"`
	// RequireApproval is SignupToken.RequireApproval.
	RequireApproval bool `json:"require_approval,omitempty"`
	// Uses counts signups ever made through the link; deleting a user
	// does not give a use back. Who joined is in bucketLinkUsers, so the
	// record stays small however often the link is used.
	Uses int `json:"uses"`
}

// linkUserKey is a key of bucketLinkUsers: the link id, then the user id,
// so a link's users are one prefix scan in signup order.
func linkUserKey(linkID, userID uint64) []byte { return append(itob(linkID), itob(userID)...) }

// linkUserIDsTx lists the ids of the users who joined through a link and
// still exist.
func linkUserIDsTx(tx *bolt.Tx, linkID uint64) []uint64 {
	var ids []uint64
	prefix := itob(linkID)
	c := tx.Bucket(bucketLinkUsers).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ids = append(ids, btoi(k[8:]))
	}
	return ids
}

// NewSignupToken is what an admin gives to create a link.
type NewSignupToken struct {
	Name        string // private: for admins only
	Description string // public: shown on the signup page; optional
	ExpiresAt   time.Time
	Role        Role // 0 means Viewer
	// MaxUses is how many signups the link allows, at least 1; nil means
	// no limit. A pointer, so that a limit of 0 given by a caller is
	// refused here rather than read as "none".
	MaxUses        *int
	AllowedDomains []string
	// Groups whoever signs up gets; the actor may hand out only groups
	// they are in (Admins: any).
	Groups []string
	// AppID is the app whoever signs up is sent on to, signed in; "" for
	// none. The app must exist.
	AppID string
	// RequireApproval makes whoever signs up wait for an Admin's approval.
	RequireApproval bool
}

// SignupTokenUpdate changes a link; nil fields stay as they are.
type SignupTokenUpdate struct {
	ExpiresAt *time.Time
	Enabled   *bool
	// Description replaces the public description; "" removes it.
	Description *string
	// Name renames the link (private: only admins see it).
	Name *string
	// Role is the role of people who sign up from now on; it may not be
	// above the actor's own.
	Role *Role
	// MaxUses sets how many signups the link allows in all; 0 removes the
	// limit. A limit at or below the uses so far makes the link used up.
	MaxUses *int
	// AllowedDomains replaces the allowed domains; empty allows any.
	AllowedDomains *[]string
	// Groups replaces the groups people who sign up from now on get; the
	// actor may hand out only groups they are in (Admins: any).
	Groups *[]string
	// AppID replaces the app people who sign up are sent on to; ""
	// removes it.
	AppID *string
	// RequireApproval turns approval on or off for signups from now on;
	// people already waiting keep waiting until an Admin decides.
	RequireApproval *bool
}

// empty reports whether the update changes nothing.
func (in SignupTokenUpdate) empty() bool {
	return in.ExpiresAt == nil && in.Enabled == nil && in.Description == nil && in.Name == nil &&
		in.Role == nil && in.MaxUses == nil && in.AllowedDomains == nil && in.Groups == nil &&
		in.AppID == nil && in.RequireApproval == nil
}

// SecretLength is the length of a link secret: 32 lowercase hex characters.
const SecretLength = 32

// ValidSecret reports whether s has the shape of a link secret, so that
// anything else can be refused before a lookup.
func ValidSecret(s string) bool {
	if len(s) != SecretLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Store) newSecret(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func (s *Store) token(tx *bolt.Tx, rec linkRecord, withUsers bool) (SignupToken, error) {
	now := s.now()
	t := SignupToken{
		ID: rec.ID, Secret: rec.Secret,
		Name: rec.Name, Description: rec.Description, Switched: rec.Enabled, Expired: !now.Before(rec.ExpiresAt),
		ExpiresAt: rec.ExpiresAt, CreatedAt: rec.CreatedAt, CreatedBy: rec.CreatedBy,
		Role: rec.Role, MaxUses: rec.MaxUses, Uses: rec.Uses, AllowedDomains: rec.AllowedDomains,
		Groups: rec.Groups, AppID: rec.AppID, RequireApproval: rec.RequireApproval,
	}
	t.Enabled = t.Switched && !t.Expired
	if withUsers {
		users, err := usersTx(tx, linkUserIDsTx(tx, rec.ID))
		if err != nil {
			return t, err
		}
		t.Users = users
	}
	return t, nil
}

// validateNewToken checks and normalises the input of CreateSignupToken.
func (s *Store) validateNewToken(actor Actor, in *NewSignupToken) error {
	var errs fieldErrors
	name, err := CleanText("name", in.Name, true, MaxNameLength)
	errs.addErr(err)
	in.Name = name
	description, err := CleanText("description", in.Description, false, MaxNameLength)
	errs.addErr(err)
	in.Description = description
	if in.ExpiresAt.IsZero() {
		errs.add("expiresAt", "is required: give an RFC 3339 time such as 2030-01-31T12:00:00Z")
	} else if err := CheckTime("expiresAt", in.ExpiresAt); err != nil {
		errs.addErr(err)
	} else if !in.ExpiresAt.After(s.now()) {
		errs.add("expiresAt", "must be in the future")
	}
	if in.Role == 0 {
		in.Role = RoleViewer
	}
	if !in.Role.Valid() {
		errs.add("role", RootRoleRule)
	} else if !actor.CanGrant(in.Role) {
		errs.add("role", fmt.Sprintf("may not be above your own role (%s)", actor.Role.Name()))
	}
	if in.MaxUses != nil && *in.MaxUses < 1 {
		errs.add("maxUses", "must be a positive whole number, or left out for no limit")
	}
	in.AllowedDomains = cleanDomains(&errs, in.AllowedDomains)
	cleanGroups(&errs, "groups", in.Groups)
	in.AppID = cleanAppID(&errs, "appId", in.AppID)
	return errs.err()
}

// cleanDomains normalises a link's allowed domains and drops repeats,
// adding what is wrong to errs.
func cleanDomains(errs *fieldErrors, in []string) []string {
	if len(in) > MaxDomains {
		errs.add("allowedDomains", fmt.Sprintf("may list at most %d domains", MaxDomains))
		return in
	}
	seen := map[string]bool{}
	var domains []string
	for i, d := range in {
		nd, err := NormalizeDomain(fmt.Sprintf("allowedDomains[%d]", i), d)
		if err != nil {
			errs.addErr(err)
			continue
		}
		if !seen[nd] {
			seen[nd] = true
			domains = append(domains, nd)
		}
	}
	return domains
}

// CreateSignupToken creates a link with a new random secret. It returns
// EINVALID, naming each bad field, when the input breaks a rule, including
// a role above the actor's own.
func (s *Store) CreateSignupToken(actor Actor, in NewSignupToken) (SignupToken, error) {
	if err := s.validateNewToken(actor, &in); err != nil {
		return SignupToken{}, err
	}
	secret, err := s.newSecret(SecretLength / 2)
	if err != nil {
		return SignupToken{}, err
	}
	var t SignupToken
	err = s.update(func(tx *bolt.Tx) error {
		if err := checkGroupsTx(tx, actor, "groups", in.Groups); err != nil {
			return err
		}
		if err := checkAppIDTx(tx, "appId", in.AppID); err != nil {
			return err
		}
		b := tx.Bucket(bucketLinks)
		id, err := nextID(b)
		if err != nil {
			return err
		}
		rec := linkRecord{
			V: 1, ID: id, Secret: secret, Name: in.Name, Description: in.Description, Enabled: true,
			ExpiresAt: in.ExpiresAt.UTC(), CreatedAt: s.clock(), CreatedBy: actor.Name,
			Role: in.Role, AllowedDomains: in.AllowedDomains, Groups: nonEmpty(cleanGroups(new(fieldErrors), "groups", in.Groups)),
			AppID:           in.AppID,
			RequireApproval: in.RequireApproval,
		}
		if in.MaxUses != nil {
			rec.MaxUses = *in.MaxUses
		}
		if err := s.putLinkTx(tx, rec); err != nil {
			return err
		}
		if err := tx.Bucket(bucketLinksBySecret).Put([]byte(secret), itob(id)); err != nil {
			return err
		}
		if err := s.addEventTx(tx, actor, EventLinkCreated, "signup-link", id, map[string]any{
			"name": rec.Name, "description": rec.Description, "expiresAt": FormatTime(rec.ExpiresAt), "role": rec.Role,
			"maxUses": rec.MaxUses, "allowedDomains": rec.AllowedDomains, "groups": rec.Groups, "appId": rec.AppID,
			"requireApproval": rec.RequireApproval,
		}); err != nil {
			return err
		}
		t, err = s.token(tx, rec, true)
		return err
	})
	return t, err
}

// errNoLink is the answer for an unknown link, and for a link the caller
// may not manage, so that the two cannot be told apart.
func errNoLink() error {
	return Errorf(ENOTFOUND, "There is no signup link with that secret; check the link, or ask an admin for a new one.")
}

func getLinkTx(tx *bolt.Tx, secret string) (linkRecord, error) {
	var rec linkRecord
	id := uint64(0)
	if ValidSecret(secret) {
		id = lookup(tx, bucketLinksBySecret, secret)
	}
	if id == 0 {
		return rec, errNoLink()
	}
	ok, err := getJSON(tx.Bucket(bucketLinks), itob(id), &rec)
	if err == nil && !ok {
		err = fmt.Errorf("index points at missing link %d", id)
	}
	return rec, err
}

// canManageLink reports whether actor may see a link's secret and change
// it: only when they could have given its role and its groups themselves.
func canManageLink(actor Actor, rec linkRecord) bool { return actor.CanHandOut(rec.Role, rec.Groups) }

// manageableLinkTx is getLinkTx for actor: a link they may not manage is
// ENOTFOUND, exactly as an unknown one.
func manageableLinkTx(tx *bolt.Tx, actor Actor, secret string) (linkRecord, error) {
	rec, err := getLinkTx(tx, secret)
	if err == nil && !canManageLink(actor, rec) {
		return linkRecord{}, errNoLink()
	}
	return rec, err
}

// FindSignupToken returns the link with that secret, with its users, or
// ENOTFOUND, also for a link whose role is above the actor's own.
func (s *Store) FindSignupToken(actor Actor, secret string) (SignupToken, error) {
	var t SignupToken
	err := s.db.View(func(tx *bolt.Tx) error {
		rec, err := manageableLinkTx(tx, actor, secret)
		if err != nil {
			return err
		}
		t, err = s.token(tx, rec, true)
		return err
	})
	return t, err
}

// ListSignupTokens returns every link the actor may manage (none whose
// role is above their own), oldest first, with their users.
func (s *Store) ListSignupTokens(actor Actor) ([]SignupToken, error) {
	tokens := []SignupToken{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLinks).ForEach(func(_, v []byte) error {
			var rec linkRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			if !canManageLink(actor, rec) {
				return nil
			}
			t, err := s.token(tx, rec, true)
			tokens = append(tokens, t)
			return err
		})
	})
	return tokens, err
}

// UpdateSignupToken changes a link: its expiry, on/off switch, public
// description, name, role, max uses and allowed domains. Any instant may be
// set, a past one ending the link now. It returns ENOTFOUND for an unknown
// secret or a link whose role is above the actor's own, and EINVALID when no
// field is given, a role above the actor's own is asked for, or a field
// breaks the rules of CreateSignupToken.
func (s *Store) UpdateSignupToken(actor Actor, secret string, in SignupTokenUpdate) (SignupToken, error) {
	if in.empty() {
		return SignupToken{}, &Error{Code: EINVALID,
			Message: "Nothing to change: give expiresAt, enabled, description, name, role, maxUses, allowedDomains, groups, appId or requireApproval.",
			Details: []FieldError{{Path: "", Message: "give expiresAt, enabled, description, name, role, maxUses, allowedDomains, groups, appId or requireApproval"}}}
	}
	var errs fieldErrors
	if in.Description != nil {
		d, err := CleanText("description", *in.Description, false, MaxNameLength)
		errs.addErr(err)
		in.Description = &d
	}
	if in.Name != nil {
		n, err := CleanText("name", *in.Name, true, MaxNameLength)
		errs.addErr(err)
		in.Name = &n
	}
	if in.ExpiresAt != nil {
		errs.addErr(CheckTime("expiresAt", *in.ExpiresAt))
	}
	if in.MaxUses != nil && *in.MaxUses < 0 {
		errs.add("maxUses", "must be a positive whole number, or 0 for no limit")
	}
	if in.AllowedDomains != nil {
		d := cleanDomains(&errs, *in.AllowedDomains)
		in.AllowedDomains = &d
	}
	var groups []string
	if in.Groups != nil {
		groups = cleanGroups(&errs, "groups", *in.Groups)
	}
	if in.AppID != nil {
		id := cleanAppID(&errs, "appId", *in.AppID)
		in.AppID = &id
	}
	if err := errs.err(); err != nil {
		return SignupToken{}, err
	}
	var t SignupToken
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := manageableLinkTx(tx, actor, secret)
		if err != nil {
			return err
		}
		// Checked only once the link is known to be the actor's to manage,
		// so a refusal never tells that a hidden link exists.
		if in.Role != nil {
			if !in.Role.Valid() {
				return FieldErrorf("role", "is not a root role: use 1 (Admin), 2 (Editor) or 3 (Viewer)")
			}
			if !actor.CanGrant(*in.Role) {
				return FieldErrorf("role", "may not be above your own role (%s)", actor.Role.Name())
			}
		}
		if in.Groups != nil {
			if err := checkGroupsTx(tx, actor, "groups", *in.Groups); err != nil {
				return err
			}
		}
		if in.AppID != nil {
			if err := checkAppIDTx(tx, "appId", *in.AppID); err != nil {
				return err
			}
		}
		data := map[string]any{"name": rec.Name}
		if in.ExpiresAt != nil {
			rec.ExpiresAt = in.ExpiresAt.UTC()
			data["expiresAt"] = FormatTime(rec.ExpiresAt)
		}
		if in.Enabled != nil {
			rec.Enabled = *in.Enabled
			data["enabled"] = rec.Enabled
		}
		if in.Description != nil {
			rec.Description = *in.Description
			data["description"] = rec.Description
		}
		if in.Name != nil && *in.Name != rec.Name {
			data["oldName"] = rec.Name
			rec.Name = *in.Name
			data["name"] = rec.Name
		}
		if in.Role != nil {
			rec.Role = *in.Role
			data["role"] = rec.Role
		}
		if in.MaxUses != nil {
			rec.MaxUses = *in.MaxUses
			data["maxUses"] = rec.MaxUses
		}
		if in.AllowedDomains != nil {
			rec.AllowedDomains = *in.AllowedDomains
			data["allowedDomains"] = rec.AllowedDomains
		}
		if in.Groups != nil {
			rec.Groups = nonEmpty(groups)
			data["groups"] = rec.Groups
		}
		if in.AppID != nil {
			rec.AppID = *in.AppID
			data["appId"] = rec.AppID
		}
		if in.RequireApproval != nil {
			rec.RequireApproval = *in.RequireApproval
			data["requireApproval"] = rec.RequireApproval
		}
		if err := s.putLinkTx(tx, rec); err != nil {
			return err
		}
		if err := s.addEventTx(tx, actor, EventLinkUpdated, "signup-link", rec.ID, data); err != nil {
			return err
		}
		t, err = s.token(tx, rec, true)
		return err
	})
	return t, err
}

// DeleteSignupToken deletes a link: nobody can sign up through it any
// more. The people who joined through it keep their accounts. It returns
// ENOTFOUND for an unknown secret or a link whose role is above the
// actor's own.
func (s *Store) DeleteSignupToken(actor Actor, secret string) error {
	return s.update(func(tx *bolt.Tx) error {
		rec, err := manageableLinkTx(tx, actor, secret)
		if err != nil {
			return err
		}
		ids := linkUserIDsTx(tx, rec.ID)
		for _, uid := range ids {
			if err := tx.Bucket(bucketLinkUsers).Delete(linkUserKey(rec.ID, uid)); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketLinksBySecret).Delete([]byte(rec.Secret)); err != nil {
			return err
		}
		if err := s.deleteLinkTx(tx, rec.ID); err != nil {
			return err
		}
		return s.addEventTx(tx, actor, EventLinkDeleted, "signup-link", rec.ID, map[string]any{
			"name": rec.Name, "uses": rec.Uses,
		})
	})
}

// usableErr says why a link cannot be used now, or returns nil. email, when
// not empty, is checked against the allowed domains.
func (s *Store) usableErr(rec linkRecord, email string) error {
	switch {
	case !rec.Enabled:
		return Errorf(EGONE, "This signup link has been disabled by an admin; ask them for a new link.")
	case !s.now().Before(rec.ExpiresAt):
		return Errorf(EGONE, "This signup link expired on %s; ask an admin for a new link.", rec.ExpiresAt.UTC().Format("2 January 2006 15:04 MST"))
	case rec.MaxUses > 0 && rec.Uses >= rec.MaxUses:
		return Errorf(EGONE, "This signup link has been used %s, as often as it allows; ask an admin for a new link.", timesText(rec.MaxUses))
	}
	if email != "" && len(rec.AllowedDomains) > 0 {
		domain := email[strings.LastIndexByte(email, '@')+1:]
		if nd, err := normalizeDomain(domain); err == nil {
			domain = nd // compared in the form the allowed domains are stored in
		}
		for _, d := range rec.AllowedDomains {
			if strings.EqualFold(d, domain) {
				return nil
			}
		}
		return &Error{Code: EINVALID,
			Message: fmt.Sprintf("email: this signup link accepts only addresses at %s", strings.Join(rec.AllowedDomains, ", ")),
			Details: []FieldError{{Path: "email", Message: "must be an address at " + strings.Join(rec.AllowedDomains, ", ")}}}
	}
	return nil
}

// CheckSignupToken returns nil when the link can be used now (by email,
// when given): ENOTFOUND for an unknown secret, EGONE for a disabled,
// expired or used-up link, EINVALID for an email outside allowedDomains.
// It reads through the link cache (linkcache.go), which is exact.
func (s *Store) CheckSignupToken(secret, email string) error {
	rec, err := s.usableLink(secret)
	if err != nil {
		return err
	}
	return s.usableErr(*rec, email)
}

// RedeemSignupToken creates a user through a link, with the link's role,
// records the user on the link and queues the welcome email (or, when the
// address must be verified first, creates the user unverified and queues
// the verification email), all in one transaction: either all of it is on
// disk or none. It is the write step
// of Accounts.SignupWithLink, which checks the input and hashes the
// password first; in must be normalised and hashed already. It fails as
// CheckSignupToken does, or with ECONFLICT when the email or username is
// taken.
func (s *Store) RedeemSignupToken(secret string, in NewUser) (User, error) {
	j, err := s.redeemSignupToken(secret, in, nil)
	return j.User, err
}

// redeemSignupToken is RedeemSignupToken that, with si, also signs the new
// user in when the link names an app (see Joined).
func (s *Store) redeemSignupToken(secret string, in NewUser, si *joinSignIn) (Joined, error) {
	var j Joined
	err := s.update(func(tx *bolt.Tx) error {
		rec, err := getLinkTx(tx, secret)
		if err != nil {
			return err
		}
		if err := s.usableErr(rec, in.Email); err != nil {
			return err
		}
		actor := Actor{Kind: "signup-link", ID: rec.ID, Name: rec.Name, Role: rec.Role}
		verify := s.needsVerification(rec)
		urec, err := s.createUserTx(tx, actor, in, placement{role: rec.Role, orgID: DefaultOrganization, linkID: rec.ID,
			groups: rec.Groups, unverified: verify, pending: rec.RequireApproval})
		if err != nil {
			return err
		}
		// An address still to verify gets the verification email now and
		// the welcome email once it is verified (VerifyEmail). A user who
		// waits for approval gets no welcome email: the email that says
		// they were approved takes its place (ApproveUser), and the Admins
		// are told now, whatever the state of the address.
		if verify {
			_, err = s.startVerificationTx(tx, &urec)
		} else {
			err = s.welcomeTx(tx, urec)
		}
		if err != nil {
			return err
		}
		if urec.Pending {
			if err := s.askApprovalTx(tx, urec); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bucketLinkUsers).Put(linkUserKey(rec.ID, urec.ID), nil); err != nil {
			return err
		}
		rec.Uses++
		if err := s.putLinkTx(tx, rec); err != nil {
			return err
		}
		if err := s.addEventTx(tx, actor, EventLinkUserAdded, "signup-link", rec.ID, map[string]any{
			"name": rec.Name, "userId": urec.ID, "email": urec.Email,
		}); err != nil {
			return err
		}
		j, err = s.joinTx(tx, &urec, rec.AppID, si)
		return err
	})
	return j, err
}

// welcomeTx queues the welcome email of a new user, when welcome emails
// are on; the mail worker renders it from the user when it sends it.
func (s *Store) welcomeTx(tx *bolt.Tx, urec userRecord) error {
	if !s.welcomeEnabled || urec.Pending {
		return nil
	}
	return s.enqueueEmailTx(tx, emailRecord{Kind: EmailWelcome, To: urec.Email, UserID: urec.ID})
}

// timesText says how often something happened: "once", "twice", "5 times".
func timesText(n int) string {
	switch n {
	case 1:
		return "once"
	case 2:
		return "twice"
	}
	return fmt.Sprintf("%d times", n)
}
