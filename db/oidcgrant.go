package db

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Lifetimes of what the OpenID Connect provider keeps between requests.
const (
	// OIDCAuthRequestTTL bounds the time from an app's authorization
	// request to the user having signed in.
	OIDCAuthRequestTTL = 10 * time.Minute
	// OIDCCodeTTL bounds the time from the redirect carrying an
	// authorization code to the app redeeming it. One minute is plenty for
	// a server-to-server call and keeps a leaked code short-lived.
	OIDCCodeTTL = time.Minute
	// OIDCRefreshTTL is how long a refresh token lasts unused. Each use
	// replaces it by a new token that lasts this long again.
	OIDCRefreshTTL = 30 * 24 * time.Hour
)

// OIDCAuthRequest is an app's authorization request, kept while the user
// signs in. The provider fills it from the request; the store gives it
// its ID and CreatedAt, and UserID and AuthTime once the user signed in.
type OIDCAuthRequest struct {
	ID                  string
	ClientID            string
	RedirectURI         string
	ResponseType        string
	ResponseMode        string
	Scopes              []string
	State               string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              []string
	// MaxAge is the app's max_age: a sign-in longer ago than this must be
	// repeated (zero: always). Nil when the app sent none.
	MaxAge *time.Duration
	// UserID is the user who signed in, or 0 while nobody did.
	UserID   uint64
	AuthTime time.Time
	// AMR is how that user proved who they are (the session's methods,
	// RFC 8176 values); empty while nobody signed in.
	AMR []string
	// CreatedAt is when the request arrived; it expires
	// OIDCAuthRequestTTL later.
	CreatedAt time.Time
}

// Done reports whether a user signed in for the request.
func (r OIDCAuthRequest) Done() bool { return r.UserID != 0 }

type oidcAuthRequestRecord struct {
	V                   int       `json:"v"`
	ID                  string    `json:"id"`
	ClientID            string    `json:"client_id"`
	RedirectURI         string    `json:"redirect_uri"`
	ResponseType        string    `json:"response_type,omitempty"`
	ResponseMode        string    `json:"response_mode,omitempty"`
	Scopes              []string  `json:"scopes,omitempty"`
	State               string    `json:"state,omitempty"`
	Nonce               string    `json:"nonce,omitempty"`
	CodeChallenge       string    `json:"code_challenge,omitempty"`
	CodeChallengeMethod string    `json:"code_challenge_method,omitempty"`
	Prompt              []string  `json:"prompt,omitempty"`
	MaxAgeSeconds       *uint64   `json:"max_age,omitempty"`
	UserID              uint64    `json:"user_id,omitempty"`
	AuthTime            time.Time `json:"auth_time,omitzero"`
	AMR                 []string  `json:"amr,omitempty"`
	CreatedAt           time.Time `json:"created_at"`
	// CodeHash is hex(sha256(code)) of the code issued for it, if any,
	// so that deleting the request deletes its code.
	CodeHash string `json:"code_hash,omitempty"`
}

func (r oidcAuthRequestRecord) request() OIDCAuthRequest {
	return OIDCAuthRequest{
		ID: r.ID, ClientID: r.ClientID, RedirectURI: r.RedirectURI, ResponseType: r.ResponseType,
		ResponseMode: r.ResponseMode, Scopes: r.Scopes, State: r.State, Nonce: r.Nonce,
		CodeChallenge: r.CodeChallenge, CodeChallengeMethod: r.CodeChallengeMethod, Prompt: r.Prompt,
		UserID: r.UserID, AuthTime: r.AuthTime, AMR: amrOrPassword(r.UserID, r.AMR), CreatedAt: r.CreatedAt, MaxAge: r.maxAge(),
	}
}

// amrOrPassword is amr, or a password for a sign-in recorded before
// methods were (none when nobody signed in).
func amrOrPassword(userID uint64, amr []string) []string {
	if userID != 0 && len(amr) == 0 {
		return slices.Clone(amrPassword)
	}
	return amr
}

func (r oidcAuthRequestRecord) maxAge() *time.Duration {
	if r.MaxAgeSeconds == nil {
		return nil
	}
	d := time.Duration(min(*r.MaxAgeSeconds, uint64(math.MaxInt64/int64(time.Second)))) * time.Second
	return &d
}

type oidcCodeRecord struct {
	V             int       `json:"v"`
	AuthRequestID string    `json:"auth_request_id"`
	ExpiresAt     time.Time `json:"expires_at"`
}

// OIDCRefreshGrant is what a refresh token stands for.
type OIDCRefreshGrant struct {
	UserID   uint64
	ClientID string
	Scopes   []string
	// AuthTime is when the user signed in for the first grant, and AMR
	// how; both stay the same across rotations.
	AuthTime  time.Time
	AMR       []string
	CreatedAt time.Time
	ExpiresAt time.Time
}

type oidcRefreshRecord struct {
	V         int       `json:"v"`
	UserID    uint64    `json:"user_id"`
	ClientID  string    `json:"client_id"`
	Scopes    []string  `json:"scopes,omitempty"`
	AuthTime  time.Time `json:"auth_time"`
	AMR       []string  `json:"amr,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (r oidcRefreshRecord) grant() OIDCRefreshGrant {
	return OIDCRefreshGrant{UserID: r.UserID, ClientID: r.ClientID, Scopes: r.Scopes,
		AuthTime: r.AuthTime, AMR: amrOrPassword(r.UserID, r.AMR), CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt}
}

// ErrOIDCAuthRequestNotFound answers an unknown or expired auth request.
var ErrOIDCAuthRequestNotFound = Errorf(ENOTFOUND, "The sign-in request is unknown or has expired: go back to the app and sign in again.")

// ErrOIDCCodeNotFound answers an unknown, used or expired code.
var ErrOIDCCodeNotFound = Errorf(ENOTFOUND, "The authorization code is unknown, was used already or has expired.")

// ErrOIDCRefreshNotFound answers an unknown, used, revoked or expired
// refresh token.
var ErrOIDCRefreshNotFound = Errorf(ENOTFOUND, "The refresh token is unknown, was replaced, revoked or has expired: sign in again.")

func oidcRefreshUserKey(userID uint64, hash string) []byte {
	return append(itob(userID), hash...)
}

// CreateOIDCAuthRequest stores in with a new random ID, created now, and
// no user yet.
func (s *Store) CreateOIDCAuthRequest(in OIDCAuthRequest) (OIDCAuthRequest, error) {
	id, err := s.newSecret(16)
	if err != nil {
		return OIDCAuthRequest{}, err
	}
	rec := oidcAuthRequestRecord{
		V: 1, ID: id, ClientID: in.ClientID, RedirectURI: in.RedirectURI, ResponseType: in.ResponseType,
		ResponseMode: in.ResponseMode, Scopes: in.Scopes, State: in.State, Nonce: in.Nonce,
		CodeChallenge: in.CodeChallenge, CodeChallengeMethod: in.CodeChallengeMethod, Prompt: in.Prompt,
		CreatedAt: s.clock(),
	}
	if in.MaxAge != nil {
		secs := uint64(max(*in.MaxAge, 0) / time.Second)
		rec.MaxAgeSeconds = &secs
	}
	err = s.update(func(tx *bolt.Tx) error {
		if _, err := pruneOIDCAuthRequestsTx(tx, s.now(), oidcPruneBatch); err != nil {
			return err
		}
		if err := tx.Bucket(bucketOIDCAuthByTime).Put(oidcAuthTimeKey(rec.CreatedAt, id), nil); err != nil {
			return err
		}
		return putJSON(tx.Bucket(bucketOIDCAuthRequests), []byte(id), rec)
	})
	if err != nil {
		return OIDCAuthRequest{}, err
	}
	return rec.request(), nil
}

// oidcPruneBatch bounds how many expired auth requests one new request
// deletes, so that a write stays short; more new requests than expired
// ones keep the bucket to the requests of the last OIDCAuthRequestTTL.
const oidcPruneBatch = 64

func oidcAuthTimeKey(at time.Time, id string) []byte {
	return append(itob(uint64(at.UnixNano())), id...)
}

// pruneOIDCAuthRequestsTx deletes up to max auth requests that are
// OIDCAuthRequestTTL old or older at now, oldest first, with their codes.
func pruneOIDCAuthRequestsTx(tx *bolt.Tx, now time.Time, max int) (int, error) {
	cutoff := uint64(now.Add(-OIDCAuthRequestTTL).UnixNano())
	idx := tx.Bucket(bucketOIDCAuthByTime)
	var dead [][]byte
	c := idx.Cursor()
	for k, _ := c.First(); k != nil && len(dead) < max; k, _ = c.Next() {
		if len(k) < 8 || btoi(k[:8]) > cutoff {
			break
		}
		dead = append(dead, append([]byte(nil), k...))
	}
	for _, k := range dead {
		if err := deleteOIDCAuthRequestTx(tx, string(k[8:])); err != nil {
			return 0, err
		}
		if err := idx.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(dead), nil
}

// deleteOIDCAuthRequestTx deletes an auth request, its code and its time
// index entry; one that is gone is no error.
func deleteOIDCAuthRequestTx(tx *bolt.Tx, id string) error {
	b := tx.Bucket(bucketOIDCAuthRequests)
	var rec oidcAuthRequestRecord
	ok, err := getJSON(b, []byte(id), &rec)
	if err != nil || !ok {
		return err
	}
	if rec.CodeHash != "" {
		if err := tx.Bucket(bucketOIDCCodes).Delete([]byte(rec.CodeHash)); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketOIDCAuthByTime).Delete(oidcAuthTimeKey(rec.CreatedAt, id)); err != nil {
		return err
	}
	return b.Delete([]byte(id))
}

// oidcAuthRequestTx reads a live auth request: ErrOIDCAuthRequestNotFound
// when it is unknown or older than OIDCAuthRequestTTL.
func (s *Store) oidcAuthRequestTx(tx *bolt.Tx, id string) (oidcAuthRequestRecord, error) {
	var rec oidcAuthRequestRecord
	if id == "" {
		return rec, ErrOIDCAuthRequestNotFound
	}
	ok, err := getJSON(tx.Bucket(bucketOIDCAuthRequests), []byte(id), &rec)
	if err != nil {
		return rec, err
	}
	if !ok || !s.now().Before(rec.CreatedAt.Add(OIDCAuthRequestTTL)) {
		return rec, ErrOIDCAuthRequestNotFound
	}
	return rec, nil
}

// OIDCAuthRequestByID returns a live auth request, or
// ErrOIDCAuthRequestNotFound.
func (s *Store) OIDCAuthRequestByID(id string) (OIDCAuthRequest, error) {
	var rec oidcAuthRequestRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = s.oidcAuthRequestTx(tx, id)
		return err
	})
	if err != nil {
		return OIDCAuthRequest{}, err
	}
	return rec.request(), nil
}

// OIDCSignInFresh reports whether u's last sign-in is recent enough for
// the request: with prompt=login it must be since the request arrived;
// with max_age, since then or at most max_age ago. Otherwise any sign-in
// will do (single sign-on).
func (s *Store) OIDCSignInFresh(req OIDCAuthRequest, u User) bool {
	wantsLogin := slices.Contains(req.Prompt, "login")
	if !wantsLogin && req.MaxAge == nil {
		return true
	}
	if u.SeenAt == nil {
		return false
	}
	if !u.SeenAt.Before(req.CreatedAt) {
		return true // signed in for this very request
	}
	return !wantsLogin && s.now().Sub(*u.SeenAt) <= *req.MaxAge
}

// CompleteOIDCAuthRequest records that the user signed in for the auth
// request, now, with the methods amr (their session's, SessionAMR). It
// returns ErrOIDCAuthRequestNotFound for an unknown or expired request
// and EINVALID for user id 0.
func (s *Store) CompleteOIDCAuthRequest(id string, userID uint64, amr []string) (OIDCAuthRequest, error) {
	if userID == 0 {
		return OIDCAuthRequest{}, Errorf(EINVALID, "A sign-in request is completed by a user; got none.")
	}
	var rec oidcAuthRequestRecord
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		if rec, err = s.oidcAuthRequestTx(tx, id); err != nil {
			return err
		}
		// auth_time is when the user last typed their credentials, not
		// now: with single sign-on that may be hours ago, and an app
		// judging max_age needs the truth.
		rec.UserID, rec.AuthTime, rec.AMR = userID, s.clock(), slices.Clone(amr)
		if u, err := getUserTx(tx, userID); err == nil && u.SeenAt != nil {
			rec.AuthTime = *u.SeenAt
		}
		return putJSON(tx.Bucket(bucketOIDCAuthRequests), []byte(id), rec)
	})
	if err != nil {
		return OIDCAuthRequest{}, err
	}
	return rec.request(), nil
}

// DeleteOIDCAuthRequest deletes the auth request and its code, if any.
// Deleting one that is gone is not an error.
func (s *Store) DeleteOIDCAuthRequest(id string) error {
	return s.update(func(tx *bolt.Tx) error { return deleteOIDCAuthRequestTx(tx, id) })
}

// PruneOIDCGrants deletes expired auth requests (with their codes),
// expired codes and expired refresh tokens, in transactions of at most
// DefaultPruneBatch records, and returns how many records it deleted. New
// auth requests prune old ones as they come; the rest waits for this,
// which the server's pruning pass (Prune) runs every hour.
func (s *Store) PruneOIDCGrants() (int, error) {
	now, total := s.now(), 0
	for _, prune := range []pruneFunc{pruneOIDCCodesTx, pruneOIDCAuthRequestsTx, pruneOIDCRefreshTx} {
		n, err := s.pruneInBatches(now, DefaultPruneBatch, prune)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// SaveOIDCCode stores (a hash of) the authorization code issued for the
// auth request; the code expires OIDCCodeTTL from now and replaces any
// code issued for it before. It returns ErrOIDCAuthRequestNotFound for an
// unknown or expired request and EINVALID for a request nobody signed in
// for or an empty code.
func (s *Store) SaveOIDCCode(authRequestID, code string) error {
	if code == "" {
		return Errorf(EINVALID, "An authorization code must not be empty.")
	}
	hash := hashToken(code)
	return s.update(func(tx *bolt.Tx) error {
		rec, err := s.oidcAuthRequestTx(tx, authRequestID)
		if err != nil {
			return err
		}
		if rec.UserID == 0 {
			return Errorf(EINVALID, "No user has signed in for this request yet, so it gets no code.")
		}
		codes := tx.Bucket(bucketOIDCCodes)
		if rec.CodeHash != "" {
			if err := codes.Delete([]byte(rec.CodeHash)); err != nil {
				return err
			}
		}
		rec.CodeHash = hash
		if err := putJSON(tx.Bucket(bucketOIDCAuthRequests), []byte(authRequestID), rec); err != nil {
			return err
		}
		return putJSON(codes, []byte(hash), oidcCodeRecord{V: 1, AuthRequestID: authRequestID, ExpiresAt: s.clock().Add(OIDCCodeTTL)})
	})
}

// RedeemOIDCCode returns the auth request a code was issued for and
// deletes the code in the same transaction, so a code works once. It
// returns ErrOIDCCodeNotFound for a code that is unknown, used already or
// expired, or whose request expired.
func (s *Store) RedeemOIDCCode(code string) (OIDCAuthRequest, error) {
	var rec oidcAuthRequestRecord
	err := s.update(func(tx *bolt.Tx) error {
		codes := tx.Bucket(bucketOIDCCodes)
		key := []byte(hashToken(code))
		var c oidcCodeRecord
		ok, err := getJSON(codes, key, &c)
		if err != nil {
			return err
		}
		if !ok {
			return ErrOIDCCodeNotFound
		}
		if err := codes.Delete(key); err != nil {
			return err
		}
		if !s.now().Before(c.ExpiresAt) {
			return nil // deleted, and refused below
		}
		rec, err = s.oidcAuthRequestTx(tx, c.AuthRequestID)
		if ErrorCode(err) == ENOTFOUND {
			return nil
		}
		return err
	})
	if err != nil {
		return OIDCAuthRequest{}, err
	}
	if rec.ID == "" || rec.UserID == 0 {
		return OIDCAuthRequest{}, ErrOIDCCodeNotFound
	}
	return rec.request(), nil
}

// CreateOIDCRefreshToken stores a new refresh token for grant (its
// CreatedAt and ExpiresAt are set here: OIDCRefreshTTL from now) and
// returns the token. When replacing is not empty it is the refresh token
// being used, deleted in the same transaction: if it is unknown, used
// already, revoked or expired, nothing is made and the error is
// ErrOIDCRefreshNotFound, so of two uses of one token only one wins.
// The grant must name a user and a client (EINVALID).
func (s *Store) CreateOIDCRefreshToken(grant OIDCRefreshGrant, replacing string) (string, OIDCRefreshGrant, error) {
	if grant.UserID == 0 || grant.ClientID == "" {
		return "", OIDCRefreshGrant{}, Errorf(EINVALID, "A refresh token is for a user and a client; one is missing.")
	}
	raw := make([]byte, 32)
	if _, err := io.ReadFull(s.rand, raw); err != nil {
		return "", OIDCRefreshGrant{}, fmt.Errorf("read random bytes: %w", err)
	}
	token := hex.EncodeToString(raw)
	now := s.clock()
	rec := oidcRefreshRecord{V: 1, UserID: grant.UserID, ClientID: grant.ClientID, Scopes: grant.Scopes,
		AuthTime: grant.AuthTime, AMR: slices.Clone(grant.AMR), CreatedAt: now, ExpiresAt: now.Add(OIDCRefreshTTL)}
	err := s.update(func(tx *bolt.Tx) error {
		if replacing != "" {
			old, err := s.oidcRefreshTx(tx, replacing)
			if err != nil {
				return err
			}
			if old.UserID != grant.UserID || old.ClientID != grant.ClientID {
				return ErrOIDCRefreshNotFound
			}
			if err := deleteOIDCRefreshTx(tx, hashToken(replacing), old.UserID); err != nil {
				return err
			}
		}
		hash := hashToken(token)
		if err := putJSON(tx.Bucket(bucketOIDCRefresh), []byte(hash), rec); err != nil {
			return err
		}
		return tx.Bucket(bucketOIDCRefreshByUser).Put(oidcRefreshUserKey(rec.UserID, hash), nil)
	})
	if err != nil {
		return "", OIDCRefreshGrant{}, err
	}
	return token, rec.grant(), nil
}

func (s *Store) oidcRefreshTx(tx *bolt.Tx, token string) (oidcRefreshRecord, error) {
	var rec oidcRefreshRecord
	if token == "" {
		return rec, ErrOIDCRefreshNotFound
	}
	ok, err := getJSON(tx.Bucket(bucketOIDCRefresh), []byte(hashToken(token)), &rec)
	if err != nil {
		return rec, err
	}
	if !ok || !s.now().Before(rec.ExpiresAt) {
		return rec, ErrOIDCRefreshNotFound
	}
	return rec, nil
}

func deleteOIDCRefreshTx(tx *bolt.Tx, hash string, userID uint64) error {
	if err := tx.Bucket(bucketOIDCRefresh).Delete([]byte(hash)); err != nil {
		return err
	}
	return tx.Bucket(bucketOIDCRefreshByUser).Delete(oidcRefreshUserKey(userID, hash))
}

// OIDCRefreshToken returns what a live refresh token stands for, or
// ErrOIDCRefreshNotFound.
func (s *Store) OIDCRefreshToken(token string) (OIDCRefreshGrant, error) {
	var rec oidcRefreshRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		rec, err = s.oidcRefreshTx(tx, token)
		return err
	})
	if err != nil {
		return OIDCRefreshGrant{}, err
	}
	return rec.grant(), nil
}

// RevokeOIDCRefreshToken deletes a refresh token. It reports whether
// there was one (expired ones count: they are deleted too).
func (s *Store) RevokeOIDCRefreshToken(token string) (bool, error) {
	found := false
	err := s.update(func(tx *bolt.Tx) error {
		hash := hashToken(token)
		var rec oidcRefreshRecord
		ok, err := getJSON(tx.Bucket(bucketOIDCRefresh), []byte(hash), &rec)
		if err != nil || !ok {
			return err
		}
		found = true
		return deleteOIDCRefreshTx(tx, hash, rec.UserID)
	})
	return found, err
}

// RevokeUserOIDCRefreshTokens deletes every refresh token of the user,
// for every app, and returns how many there were.
func (s *Store) RevokeUserOIDCRefreshTokens(userID uint64) (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		n, err = revokeUserOIDCRefreshTx(tx, userID)
		return err
	})
	return n, err
}

func revokeUserOIDCRefreshTx(tx *bolt.Tx, userID uint64) (int, error) {
	prefix := itob(userID)
	var hashes []string
	c := tx.Bucket(bucketOIDCRefreshByUser).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		hashes = append(hashes, string(k[len(prefix):]))
	}
	for _, h := range hashes {
		if err := deleteOIDCRefreshTx(tx, h, userID); err != nil {
			return 0, err
		}
	}
	return len(hashes), nil
}

// oidcCryptoKeyName is the meta key of the provider's 32-byte secret.
var oidcCryptoKeyName = []byte("oidc_crypto_key")

// EnsureOIDCCryptoKey returns the provider's 32-byte secret (the op
// package encrypts its authorization codes with it), making it on first
// use. It is kept in the meta bucket, so it survives restarts.
func (s *Store) EnsureOIDCCryptoKey() ([32]byte, error) {
	var key [32]byte
	var fresh [32]byte
	if _, err := io.ReadFull(s.rand, fresh[:]); err != nil {
		return key, fmt.Errorf("read random bytes: %w", err)
	}
	read := func(tx *bolt.Tx) bool {
		v := tx.Bucket(bucketMeta).Get(oidcCryptoKeyName)
		if len(v) != len(key) {
			return false
		}
		copy(key[:], v)
		return true
	}
	var ok bool
	if err := s.db.View(func(tx *bolt.Tx) error { ok = read(tx); return nil }); err != nil || ok {
		return key, err
	}
	err := s.update(func(tx *bolt.Tx) error {
		if read(tx) {
			return nil
		}
		key = fresh
		return tx.Bucket(bucketMeta).Put(oidcCryptoKeyName, fresh[:])
	})
	return key, err
}
