package db

import (
	"bytes"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TokenPurpose says what a one-time user token is for. A user has at most
// one live token per purpose: issuing a new one replaces the old.
type TokenPurpose string

// The purposes of one-time user tokens.
const (
	// TokenResetPassword is a forgot-password or admin reset link.
	TokenResetPassword TokenPurpose = "reset"
	// TokenVerifyEmail is an email verification link.
	TokenVerifyEmail TokenPurpose = "verify"
	// TokenSecondFactor continues a login whose password was right but
	// which still needs the second factor.
	TokenSecondFactor TokenPurpose = "login2"
)

func (p TokenPurpose) valid() bool {
	switch p {
	case TokenResetPassword, TokenVerifyEmail, TokenSecondFactor:
		return true
	}
	return false
}

// ErrUserTokenNotFound answers a one-time token that is unknown, used,
// replaced by a newer one, expired, or meant for another purpose. The
// caller says which link it was in its own words.
var ErrUserTokenNotFound = Errorf(ENOTFOUND, "The link is unknown, was used already, was replaced by a newer one or has expired.")

// UserToken is what a live one-time token stands for.
type UserToken struct {
	Purpose   TokenPurpose
	UserID    uint64
	CreatedAt time.Time
	ExpiresAt time.Time
}

type userTokenRecord struct {
	V         int          `json:"v"`
	Purpose   TokenPurpose `json:"purpose"`
	UserID    uint64       `json:"user_id"`
	CreatedAt time.Time    `json:"created_at"`
	ExpiresAt time.Time    `json:"expires_at"`
}

func userTokenUserKey(userID uint64, p TokenPurpose) []byte {
	return append(itob(userID), p...)
}

// issueUserTokenTx makes a new 256-bit token for purpose, valid for ttl,
// and replaces the user's previous token of that purpose. Only its SHA-256
// is stored; the secret is returned once.
func (s *Store) issueUserTokenTx(tx *bolt.Tx, p TokenPurpose, userID uint64, ttl time.Duration) (string, UserToken, error) {
	if !p.valid() || userID == 0 || ttl <= 0 {
		return "", UserToken{}, Errorf(EINVALID, "A one-time token needs a known purpose, a user and a positive lifetime.")
	}
	secret, err := s.newSecret(32)
	if err != nil {
		return "", UserToken{}, err
	}
	hash := hashToken(secret)
	byUser := tx.Bucket(bucketUserTokensByUser)
	ukey := userTokenUserKey(userID, p)
	if old := byUser.Get(ukey); old != nil {
		if err := tx.Bucket(bucketUserTokens).Delete(old); err != nil {
			return "", UserToken{}, err
		}
	}
	now := s.clock()
	rec := userTokenRecord{V: 1, Purpose: p, UserID: userID, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := putJSON(tx.Bucket(bucketUserTokens), []byte(hash), rec); err != nil {
		return "", UserToken{}, err
	}
	if err := byUser.Put(ukey, []byte(hash)); err != nil {
		return "", UserToken{}, err
	}
	return secret, rec.token(), nil
}

func (r userTokenRecord) token() UserToken {
	return UserToken{Purpose: r.Purpose, UserID: r.UserID, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}
}

// IssueUserToken is issueUserTokenTx in its own transaction.
func (s *Store) IssueUserToken(p TokenPurpose, userID uint64, ttl time.Duration) (string, UserToken, error) {
	var secret string
	var t UserToken
	err := s.update(func(tx *bolt.Tx) error {
		if _, err := getUserTx(tx, userID); err != nil {
			return err
		}
		var err error
		secret, t, err = s.issueUserTokenTx(tx, p, userID, ttl)
		return err
	})
	return secret, t, err
}

// userTokenTx reads a live token of purpose p without using it:
// ErrUserTokenNotFound when there is none.
func (s *Store) userTokenTx(tx *bolt.Tx, p TokenPurpose, secret string) (UserToken, error) {
	if secret == "" || len(secret) > 128 {
		return UserToken{}, ErrUserTokenNotFound
	}
	var rec userTokenRecord
	ok, err := getJSON(tx.Bucket(bucketUserTokens), []byte(hashToken(secret)), &rec)
	if err != nil {
		return UserToken{}, err
	}
	if !ok || rec.Purpose != p || !s.now().Before(rec.ExpiresAt) {
		return UserToken{}, ErrUserTokenNotFound
	}
	return rec.token(), nil
}

// PeekUserToken returns a live token of purpose p without using it, so
// that a page can show its form; ErrUserTokenNotFound otherwise.
func (s *Store) PeekUserToken(p TokenPurpose, secret string) (UserToken, error) {
	var t UserToken
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		t, err = s.userTokenTx(tx, p, secret)
		return err
	})
	return t, err
}

// consumeUserTokenTx uses up a live token of purpose p: it is deleted, so
// a second use fails with ErrUserTokenNotFound.
func (s *Store) consumeUserTokenTx(tx *bolt.Tx, p TokenPurpose, secret string) (UserToken, error) {
	t, err := s.userTokenTx(tx, p, secret)
	if err != nil {
		return t, err
	}
	hash := hashToken(secret)
	if err := tx.Bucket(bucketUserTokens).Delete([]byte(hash)); err != nil {
		return t, err
	}
	return t, tx.Bucket(bucketUserTokensByUser).Delete(userTokenUserKey(t.UserID, p))
}

// deleteUserTokenTx deletes the user's live token of purpose p, if any.
func deleteUserTokenTx(tx *bolt.Tx, userID uint64, p TokenPurpose) error {
	byUser := tx.Bucket(bucketUserTokensByUser)
	ukey := userTokenUserKey(userID, p)
	hash := byUser.Get(ukey)
	if hash == nil {
		return nil
	}
	if err := tx.Bucket(bucketUserTokens).Delete(append([]byte(nil), hash...)); err != nil {
		return err
	}
	return byUser.Delete(ukey)
}

// deleteUserTokensTx deletes every one-time token of a user, of every
// purpose: on deletion, and where a change makes them moot.
func deleteUserTokensTx(tx *bolt.Tx, userID uint64) error {
	prefix := itob(userID)
	byUser := tx.Bucket(bucketUserTokensByUser)
	var keys [][]byte
	c := byUser.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if err := tx.Bucket(bucketUserTokens).Delete(v); err != nil {
			return err
		}
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := byUser.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
