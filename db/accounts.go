package db

import (
	"context"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Accounts runs the four flows a person goes through on their own:
// signing up through a link, accepting an invitation, logging in and
// changing their password. Each is one call, shaped the same way:
//
//  1. one cheap read transaction that refuses early what can be refused
//     without a hash (an unknown, disabled, expired or used-up link, an
//     address outside its domains, a taken address or username) and
//     finds what the rest needs (a login's account and stored hash, and
//     whether failed logins make it wait: then its password is not
//     checked, though the same hash cost is paid, so the answer tells
//     nothing);
//  2. the password policy (length and guessability), then the argon2id
//     hash or check, outside any transaction and bounded by the Hasher's
//     slots;
//  3. one write transaction (the Store method of the same step) that
//     checks again whatever may have changed since the read, and commits
//     the change with its audit event and its email in the outbox.
//
// The HTTP handlers and the HTML pages call these and nothing else for
// these flows, so every rule holds on every path.
type Accounts struct {
	// Store holds the accounts; each flow ends in one of its writes.
	Store *Store
	// Hasher hashes and checks passwords, a bounded number at once.
	Hasher *Hasher
	// Policy says which new passwords are acceptable.
	Policy PasswordPolicy
	// Throttle is how failed logins slow an account down.
	Throttle Throttle
	// SessionTTL is how long a login lasts; it must be positive.
	SessionTTL time.Duration
	// RequireSecondFactor lists the roles whose users must have a second
	// factor (auth.require_second_factor): one without any sets an
	// authenticator app up during their next login, before a session.
	RequireSecondFactor []Role

	// beforeWrite, when set, runs after the hash and before the write
	// transaction: tests use it to change the data in between.
	beforeWrite func()
}

// NewAccount is what a person types to create an account.
type NewAccount struct {
	// Email is ignored by AcceptInvitation: the invitation's address is
	// used.
	Email    string
	Name     string
	Username string
	Password string
	// PasswordAgain is the password typed a second time, for a form that
	// asks for it twice; nil when it was not asked for.
	PasswordAgain *string
}

// PasswordChange is what a person types to change their password.
type PasswordChange struct {
	Current string
	New     string
	// NewAgain is the new password typed a second time, for a form that
	// asks for it twice; nil when it was not asked for.
	NewAgain *string
	// KeepSession is the token of the session the change is made from,
	// which stays open; every other session of the user ends. "" ends
	// them all.
	KeepSession string
}

func (a *Accounts) hookBeforeWrite() {
	if a.beforeWrite != nil {
		a.beforeWrite()
	}
}

// validate checks every field of in at once, the password against the
// policy with the person's own details counted as guessable, and that the
// password was typed the same twice when it was asked for twice.
func (a *Accounts) validate(in NewAccount) (UserInput, error) {
	valid, err := a.Policy.ValidateUserInput(UserInput{Email: in.Email, Name: in.Name, Username: in.Username, Password: in.Password})
	if in.PasswordAgain == nil || *in.PasswordAgain == in.Password {
		return valid, err
	}
	var errs fieldErrors
	errs.addErr(err)
	errs.add("passwordAgain", "does not match the password; type the same password in both fields")
	return valid, errs.err()
}

// SignupWithLink creates a user through the signup link secret, with the
// link's role, and queues the welcome email in the same transaction (or,
// when the store's VerifyEmail mode asks it of this link, creates the user
// unverified and queues the verification email instead). The
// checks come in this order, each answer standing alone: ENOTFOUND for an
// unknown secret, EGONE for a disabled, expired or used-up link; EINVALID
// (on email) for an address outside the link's allowedDomains, said before
// anything about the other fields, since the password's strength is judged
// against the address too; EINVALID listing every bad field (and
// passwordAgain when it differs); ECONFLICT when the email or username is
// taken; EUNAVAILABLE when every hashing slot stayed busy. Nothing is
// hashed unless every check passed, and the write checks the link and the
// names again, so a link used up or an address taken meanwhile is refused
// the same way.
func (a *Accounts) SignupWithLink(ctx context.Context, secret string, in NewAccount) (User, error) {
	j, err := a.JoinWithLink(ctx, secret, in, false)
	return j.User, err
}

// checkSignup is the part of a signup before its write: the early read,
// the policy and the hash, with SignupWithLink's answers.
func (a *Accounts) checkSignup(ctx context.Context, secret string, in NewAccount) (UserInput, string, error) {
	// Normalising is cheap and needs no transaction; an address or a
	// username that does not normalise is reported by validate below.
	email, emailErr := NormalizeEmail("email", in.Email)
	username, usernameErr := NormalizeUsername("username", in.Username)
	var domainErr, takenErr error
	err := a.Store.db.View(func(tx *bolt.Tx) error {
		rec, err := getLinkTx(tx, secret)
		if err != nil {
			return err
		}
		if err := a.Store.usableErr(rec, ""); err != nil {
			return err
		}
		if emailErr == nil {
			domainErr = a.Store.usableErr(rec, email)
			if usernameErr == nil {
				takenErr = checkAvailableTx(tx, email, username)
			}
		}
		return nil
	})
	if err != nil {
		return UserInput{}, "", err
	}
	if domainErr != nil {
		return UserInput{}, "", domainErr
	}
	valid, err := a.validate(in)
	if err != nil {
		return UserInput{}, "", err
	}
	// A taken name is said only once the input is otherwise right, as
	// the fields' own problems are what the person must fix first.
	if takenErr != nil {
		return UserInput{}, "", takenErr
	}
	hash, err := a.Hasher.Hash(ctx, valid.Password)
	return valid, hash, err
}

// AcceptInvitation creates the invited user with the invitation's email,
// role and organization, marks the invitation ACCEPTED and queues the
// welcome email, in one transaction; in.Email is ignored. It returns
// ENOTFOUND for an unknown token, EGONE for an accepted, revoked or
// expired invitation, EINVALID listing every bad field (the password is
// also judged against the invited address), ECONFLICT for a taken username
// (or an address that got an account meanwhile), EUNAVAILABLE when every
// hashing slot stayed busy. Nothing is hashed unless every check passed,
// and the write checks the invitation and the names again.
func (a *Accounts) AcceptInvitation(ctx context.Context, token string, in NewAccount) (User, error) {
	j, err := a.JoinInvitation(ctx, token, in, false)
	return j.User, err
}

// checkAccept is the part of accepting an invitation before its write:
// the early read, the policy and the hash, with AcceptInvitation's
// answers.
func (a *Accounts) checkAccept(ctx context.Context, token string, in NewAccount) (UserInput, string, error) {
	username, usernameErr := NormalizeUsername("username", in.Username)
	var takenErr error
	err := a.Store.db.View(func(tx *bolt.Tx) error {
		rec, err := a.Store.invitationByTokenTx(tx, token)
		if err != nil {
			return err
		}
		in.Email = rec.Email
		if usernameErr == nil {
			takenErr = checkAvailableTx(tx, rec.Email, username)
		}
		return nil
	})
	if err != nil {
		return UserInput{}, "", err
	}
	valid, err := a.validate(in)
	if err != nil {
		return UserInput{}, "", err
	}
	if takenErr != nil {
		return UserInput{}, "", takenErr
	}
	hash, err := a.Hasher.Hash(ctx, valid.Password)
	return valid, hash, err
}

// Login checks the password of the user whose email or username is login
// and, when it is right and the account is not waiting, opens a session
// lasting SessionTTL (see Store.RecordLogin for how failures count). It
// returns EINVALID when either is empty, EUNAVAILABLE when every hashing
// slot stayed busy, and otherwise ErrBadLogin for every refusal: an
// unknown login, a wrong password, and any password while the account is
// throttled cost the same hash and get the same answer, so answers never
// tell whether an account exists nor whether it is being slowed down. The
// exceptions are ErrAccountDisabled, ErrEmailUnverified and
// ErrPendingApproval (EFORBIDDEN), for a right password of a disabled
// account, of one whose address is not verified yet or of one that waits
// for an Admin's approval (the last two name the user in the result):
// only someone who knows the password learns any of them.
//
// A right password of a user who has a second factor, or whose role is in
// RequireSecondFactor, opens no session: Login returns
// ErrSecondFactorRequired or ErrSecondFactorSetupRequired with the
// continuation in LoginResult.SecondFactor (see CompleteSecondFactor).
func (a *Accounts) Login(ctx context.Context, login, password string) (LoginResult, error) {
	switch {
	case login == "" || password == "":
		return LoginResult{}, &Error{Code: EINVALID, Message: "Give both username (or email) and password.",
			Details: []FieldError{{Path: "username", Message: "is required"}, {Path: "password", Message: "is required"}}}
	case len(login) > MaxEmailLength || len(password) > MaxPasswordBytes:
		return LoginResult{}, ErrBadLogin
	}
	var id uint64
	var hash string
	var waiting bool
	err := a.Store.db.View(func(tx *bolt.Tx) error {
		login := strings.TrimSpace(login)
		id = lookup(tx, bucketUsersByEmail, emailKey(login))
		if id == 0 {
			id = lookup(tx, bucketUsersByUsername, usernameKey(login))
		}
		if id == 0 {
			return nil
		}
		rec, err := getUserTx(tx, id)
		hash, waiting = rec.PasswordHash, rec.throttled(a.Store.clock())
		return err
	})
	if err != nil {
		return LoginResult{}, err
	}
	check := PasswordWrong
	if waiting {
		// While the account waits its password is not looked at, so a
		// guess teaches nothing; a hash of the same cost is still paid,
		// so the time taken does not tell the wait either.
		check = PasswordUnchecked
		err = a.Hasher.Simulate(ctx, password, hash)
	} else {
		var ok bool
		ok, err = a.Hasher.Verify(ctx, password, hash) // an empty hash (no account) checks the dummy
		if ok {
			check = PasswordRight
		}
	}
	if err != nil {
		return LoginResult{}, err
	}
	if id == 0 {
		return LoginResult{}, ErrBadLogin
	}
	a.hookBeforeWrite()
	return a.Store.recordLogin(id, check, hash, a.Throttle, a.SessionTTL, a.RequireSecondFactor)
}

// ChangePassword replaces the password of user userID, made by actor (the
// user themself), ends every other session of the user (all of them when
// ch.KeepSession is "") and records a password-changed event, once the
// current password is checked. It returns ENOTFOUND for an unknown user;
// EINVALID naming every problem the cheap checks find at once
// (currentPassword missing, newPassword breaking the policy or equal to
// the current one, newPasswordAgain differing), then EINVALID on
// currentPassword when it is not right, or was changed by another request
// meanwhile; EUNAVAILABLE when every hashing slot stayed busy.
func (a *Accounts) ChangePassword(ctx context.Context, actor Actor, userID uint64, ch PasswordChange) error {
	var rec userRecord
	err := a.Store.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = getUserTx(tx, userID)
		return err
	})
	if err != nil {
		return err
	}
	var errs fieldErrors
	if ch.Current == "" {
		errs.add("currentPassword", "is required")
	}
	if err := a.Policy.Check("newPassword", ch.New, rec.Email, rec.Name, rec.Username); err != nil {
		errs.addErr(err)
	} else if ch.New == ch.Current {
		errs.add("newPassword", "is the same as your current password; choose a different one")
	}
	if ch.NewAgain != nil && *ch.NewAgain != ch.New {
		errs.add("newPasswordAgain", "does not match the new password; type the same password in both fields")
	}
	if err := errs.err(); err != nil {
		return err
	}
	ok, err := a.Hasher.Verify(ctx, ch.Current, rec.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		return FieldErrorf("currentPassword", "is not right; type the password you log in with now")
	}
	newHash, err := a.Hasher.Hash(ctx, ch.New)
	if err != nil {
		return err
	}
	keep := ""
	if ch.KeepSession != "" {
		keep = hashToken(ch.KeepSession)
	}
	a.hookBeforeWrite()
	return a.Store.changePassword(actor, userID, newHash, keep, rec.PasswordHash)
}

// UserActor is a logged-in user as the actor of what they do: named by
// their username, else their email, with their groups for the ceiling of
// what they may hand out.
func UserActor(u User) Actor {
	name := u.Username
	if name == "" {
		name = u.Email
	}
	return Actor{Kind: "user", ID: u.ID, Name: name, Role: u.RootRole, Groups: u.Groups}
}
