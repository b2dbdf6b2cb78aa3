package db

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Inviting straight into an app (DESIGN §12): a signup link or an
// invitation may name an app (AppID). Whoever joins through it and may log
// in at once (an address that needs no verification) is signed in by the
// same write that creates them, as a login would sign them in, and the
// pages send them on to the app's url. Deleting an app clears it from
// every link and invitation that named it, in the same transaction, as
// deleting a group does: the links and invitations keep working, without
// the app.

// cleanAppID trims an app id and checks its shape, adding what is wrong
// to errs; "" means no app. Whether the app exists is checked in the
// write (checkAppIDTx).
func cleanAppID(errs *fieldErrors, path, id string) string {
	id = strings.TrimSpace(id)
	if id != "" && !orgIDPattern.MatchString(id) {
		errs.add(path, fmt.Sprintf("%q is not an app id: ids are lower-case letters, digits and hyphens", id))
	}
	return id
}

// checkAppIDTx checks, inside the write, that app id exists ("" is no
// app and always right).
func checkAppIDTx(tx *bolt.Tx, path, id string) error {
	if id == "" {
		return nil
	}
	if _, err := getAppTx(tx, id); err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return FieldErrorf(path, "%q is not an app; create it first (the apps list shows them) or leave %s out", id, path)
		}
		return err
	}
	return nil
}

// dropAppTx clears app id from every signup link and invitation that
// names it, and says how many of each there were. Links are written
// through putLinkTx, which keeps the validate cache exact.
func (s *Store) dropAppTx(tx *bolt.Tx, id string) (links, invitations int, err error) {
	links, err = clearAppTx(tx, bucketLinks, id, func(r *linkRecord) *string { return &r.AppID },
		func(_ []byte, r linkRecord) error { return s.putLinkTx(tx, r) })
	if err != nil {
		return 0, 0, err
	}
	invitations, err = clearAppTx(tx, bucketInvitations, id, func(r *invitationRecord) *string { return &r.AppID },
		func(k []byte, r invitationRecord) error { return putJSON(tx.Bucket(bucketInvitations), k, r) })
	return links, invitations, err
}

// clearAppTx sets to "" the app of every record of bucket that names app
// id, writing each changed record with put, and says how many there were.
func clearAppTx[R any](tx *bolt.Tx, bucket []byte, id string, app func(*R) *string, put func(key []byte, rec R) error) (int, error) {
	return rewriteTx(tx, bucket, func(rec *R) bool {
		a := app(rec)
		if *a != id {
			return false
		}
		*a = ""
		return true
	}, put)
}

// Joined is what a signup through a link, or an accepted invitation, made.
type Joined struct {
	User User
	// App is the app the link or invitation names, when it still exists
	// (nil otherwise).
	App *App
	// Login is set when the join was asked to sign the person in and they
	// may be: Login.Token is a new session, or Login.SecondFactor the
	// login's second step (a role that must have a second factor sets one
	// up first), exactly as a right password would give. It is zero when
	// the link or invitation names no app (or the app no longer exists,
	// or does not admit the new user), when the address still has to be
	// verified, or when signing in was not asked.
	Login LoginResult
}

// joinSignIn is how a join signs the new user in: a session token made
// before the transaction, its lifetime, and the roles that must have a
// second factor. nil: the join signs nobody in.
type joinSignIn struct {
	token   string
	ttl     time.Duration
	require []Role
}

// join runs the write of a join whose checks and hash are done (err is
// theirs): with signIn, it makes the session token first, outside the
// transaction.
func (a *Accounts) join(err error, signIn bool, write func(*joinSignIn) (Joined, error)) (Joined, error) {
	if err != nil {
		return Joined{}, err
	}
	var si *joinSignIn
	if signIn {
		token, err := a.Store.newSecret(32)
		if err != nil {
			return Joined{}, err
		}
		si = &joinSignIn{token: token, ttl: a.SessionTTL, require: a.RequireSecondFactor}
	}
	a.hookBeforeWrite()
	return write(si)
}

// joinTx finishes a join inside its write transaction: it finds the app
// appID names and, when in asks it, the app admits the user and the user
// may log in now, signs them in as a right password would (a session, or
// the second step when they must have a second factor).
func (s *Store) joinTx(tx *bolt.Tx, urec *userRecord, appID string, in *joinSignIn) (Joined, error) {
	j := Joined{User: urec.user()}
	if appID == "" {
		return j, nil
	}
	arec, err := getAppTx(tx, appID)
	if ErrorCode(err) == ENOTFOUND {
		return j, nil
	} else if err != nil {
		return j, err
	}
	app := arec.app()
	j.App = &app
	if in == nil || !app.Admits(j.User) {
		return j, nil
	}
	if methods := methodsTx(tx, *urec, slices.Contains(in.require, urec.RootRole)); len(methods) > 0 {
		pending, err := s.pendLoginTx(tx, urec, methods)
		if err != nil {
			return j, err
		}
		j.Login = LoginResult{User: urec.user(), SecondFactor: pending}
		return j, putJSON(tx.Bucket(bucketUsers), itob(urec.ID), urec)
	}
	j.Login, err = s.openSessionTx(tx, urec, in.token, in.ttl, amrPassword)
	j.User = j.Login.User
	return j, err
}

// JoinWithLink is SignupWithLink that also says which app the link names
// and, when signIn is true, signs the new user in (see Joined.Login). The
// pages ask it; the JSON signup does not, so its answer stays seed 000's.
func (a *Accounts) JoinWithLink(ctx context.Context, secret string, in NewAccount, signIn bool) (Joined, error) {
	valid, hash, err := a.checkSignup(ctx, secret, in)
	return a.join(err, signIn, func(si *joinSignIn) (Joined, error) {
		return a.Store.redeemSignupToken(secret, NewUser{Email: valid.Email, Name: valid.Name, Username: valid.Username, PasswordHash: hash}, si)
	})
}

// JoinInvitation is AcceptInvitation that also says which app the
// invitation names and, when signIn is true, signs the new user in (see
// Joined.Login).
func (a *Accounts) JoinInvitation(ctx context.Context, token string, in NewAccount, signIn bool) (Joined, error) {
	valid, hash, err := a.checkAccept(ctx, token, in)
	return a.join(err, signIn, func(si *joinSignIn) (Joined, error) {
		return a.Store.acceptInvitation(token, NewUser{Name: valid.Name, Username: valid.Username, PasswordHash: hash}, si)
	})
}

// JoinedApp returns the app named by the link or invitation user u joined
// through, or false when there is none (any more). The verification page
// uses it to send a person on to the app once their address is verified.
func (s *Store) JoinedApp(u User) (App, bool, error) {
	var app App
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var appID string
		switch {
		case u.LinkID != 0:
			var rec linkRecord
			if _, err := getJSON(tx.Bucket(bucketLinks), itob(u.LinkID), &rec); err != nil {
				return err
			}
			appID = rec.AppID
		case u.InvitationID != 0:
			var rec invitationRecord
			if _, err := getJSON(tx.Bucket(bucketInvitations), itob(u.InvitationID), &rec); err != nil {
				return err
			}
			appID = rec.AppID
		}
		if appID == "" {
			return nil
		}
		arec, err := getAppTx(tx, appID)
		if ErrorCode(err) == ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		app, found = arec.app(), true
		return nil
	})
	return app, found, err
}
