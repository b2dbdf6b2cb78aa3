package db

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/ssh"
)

// SSH keys let Admins and Editors open the admin TUI over SSH (DESIGN §13).
// They are kept in the ssh_keys bucket under the user's 8-byte id followed
// by the key's own 8-byte id (from the bucket's sequence), so a user's keys
// are one prefix scan and deleting the user deletes them. ssh_keys_by_fp
// maps the key's SHA256 fingerprint to that 16-byte record key: a public
// key belongs to one user at most, so a login by key names one person.
//
// Who may hold a key: only a user whose role is Editor or above when the
// key is added. A user later demoted to Viewer keeps the stored key, but it
// stops working: SSHLogin checks the role (and that the account is active)
// at every connection, so a role change or a disable takes effect at the
// next connection without deleting anything.
//
// Who may change keys: an Admin, on any Admin's or Editor's account; an
// Editor, on their own account only (an Editor adding a key to an Admin's
// account would be one step from that Admin's rights). API keys are
// actors of their role with no account of their own, so only Admin keys
// may manage SSH keys.

// MaxSSHKeysPerUser bounds how many SSH keys one account may hold.
const MaxSSHKeysPerUser = 20

// MaxSSHKeyNameLength is the longest SSH key name, in characters.
const MaxSSHKeyNameLength = 64

// maxSSHKeyLineBytes bounds an authorized_keys line; the largest common
// keys (RSA 16384) fit easily.
const maxSSHKeyLineBytes = 16 << 10

// SSHKey is a public key registered to a user.
type SSHKey struct {
	ID     uint64
	UserID uint64
	Name   string
	// Type is the key's algorithm as SSH names it ("ssh-ed25519").
	Type string
	// Key is the public key in the base64 of an authorized_keys line.
	Key string
	// Fingerprint is "SHA256:" and the unpadded base64 of the key's
	// SHA-256, as `ssh-keygen -l` prints it.
	Fingerprint string
	CreatedAt   time.Time
	// LastUsedAt is the last SSH login with it; nil when never used.
	LastUsedAt *time.Time
}

// AuthorizedKey is the key as one authorized_keys line, with its name as
// the comment.
func (k SSHKey) AuthorizedKey() string { return k.Type + " " + k.Key + " " + k.Name }

type sshKeyRecord struct {
	V           int        `json:"v"`
	Name        string     `json:"name"`
	Type        string     `json:"type"`
	Key         string     `json:"key"`
	Fingerprint string     `json:"fingerprint"`
	CreatedAt   time.Time  `json:"created_at"`
	LastUsedAt  *time.Time `json:"last_used_at,omitempty"`
}

func (r sshKeyRecord) key(k []byte) SSHKey {
	return SSHKey{UserID: btoi(k[:8]), ID: btoi(k[8:]), Name: r.Name, Type: r.Type, Key: r.Key,
		Fingerprint: r.Fingerprint, CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt}
}

// ParseSSHKey reads one public key in the authorized_keys line format
// ("ssh-ed25519 AAAA… comment"; options before the type are refused, as
// they would mean nothing here). It returns the key, its comment, and
// EINVALID on "key" when the line is not one public key.
func ParseSSHKey(line string) (ssh.PublicKey, string, error) {
	line = strings.TrimSpace(line)
	if line == "" {
		return nil, "", FieldErrorf("key", "is required; paste one line of your ~/.ssh/id_ed25519.pub (or another .pub file)")
	}
	if len(line) > maxSSHKeyLineBytes || strings.ContainsAny(line, "\r\n") {
		return nil, "", FieldErrorf("key", "must be one public key on one line, as in a .pub file")
	}
	pk, comment, options, rest, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return nil, "", FieldErrorf("key", "is not an SSH public key; paste the whole line of a .pub file, such as \"ssh-ed25519 AAAA… you@host\" (never the private key)")
	}
	if len(options) > 0 || len(bytes.TrimSpace(rest)) > 0 {
		return nil, "", FieldErrorf("key", "must be one public key without authorized_keys options")
	}
	return pk, strings.TrimSpace(comment), nil
}

// SSHFingerprint is the fingerprint of a public key as SSHKey holds it.
func SSHFingerprint(pk ssh.PublicKey) string { return ssh.FingerprintSHA256(pk) }

// checkSSHKeyName trims a key's name and checks it: 1 to
// MaxSSHKeyNameLength characters, no control characters.
func checkSSHKeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", FieldErrorf("name", "is required; name the key after where its private half lives, such as laptop")
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxSSHKeyNameLength:
		return "", FieldErrorf("name", "must be at most %d characters", MaxSSHKeyNameLength)
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", FieldErrorf("name", "must not hold control characters")
	}
	return name, nil
}

// mayManageSSHKeysOf says whether actor may list, add or remove the SSH
// keys of target (see the rules at the top of this file).
func mayManageSSHKeysOf(actor Actor, target userRecord) bool {
	switch {
	case actor.Role == RoleAdmin:
		return true
	case actor.Role == RoleEditor && actor.PersonID() == target.ID:
		return true
	}
	return false
}

var errSSHKeysForbidden = Errorf(EFORBIDDEN, "You may manage only your own SSH keys; ask an Admin to manage this user's.")

// SSHKeys lists the SSH keys of user userID, oldest first. It returns
// ENOTFOUND for an unknown user and EFORBIDDEN when actor may not manage
// that user's keys.
func (s *Store) SSHKeys(actor Actor, userID uint64) ([]SSHKey, error) {
	var out []SSHKey
	err := s.db.View(func(tx *bolt.Tx) error {
		u, err := getUserTx(tx, userID)
		if err != nil {
			return err
		}
		if !mayManageSSHKeysOf(actor, u) {
			return errSSHKeysForbidden
		}
		prefix := itob(userID)
		c := tx.Bucket(bucketSSHKeys).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var rec sshKeyRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("decode record %x: %w", k, err)
			}
			out = append(out, rec.key(k))
		}
		return nil
	})
	return out, err
}

// AddSSHKey registers the public key in line (an authorized_keys line) to
// user userID under name (the line's comment when name is empty), with an
// ssh-key-added event. It returns ENOTFOUND for an unknown user,
// EFORBIDDEN when actor may not manage that user's keys, EINVALID for a
// bad key or name, for a user below Editor, or past MaxSSHKeysPerUser, and
// ECONFLICT when the key is registered already (to anyone).
func (s *Store) AddSSHKey(actor Actor, userID uint64, name, line string) (SSHKey, error) {
	pk, comment, err := ParseSSHKey(line)
	if err != nil {
		return SSHKey{}, err
	}
	if strings.TrimSpace(name) == "" {
		name = comment
	}
	if name, err = checkSSHKeyName(name); err != nil {
		return SSHKey{}, err
	}
	rec := sshKeyRecord{V: 1, Name: name, Type: pk.Type(),
		Key: base64.StdEncoding.EncodeToString(pk.Marshal()), Fingerprint: SSHFingerprint(pk)}
	var key []byte
	err = s.update(func(tx *bolt.Tx) error {
		u, err := getUserTx(tx, userID)
		if err != nil {
			return err
		}
		if !mayManageSSHKeysOf(actor, u) {
			return errSSHKeysForbidden
		}
		if !u.RootRole.AtLeast(RoleEditor) {
			return Errorf(EINVALID, "Only Admins and Editors may hold SSH keys, and this user is a %s; change their role first.", u.RootRole.Name())
		}
		idx := tx.Bucket(bucketSSHKeysByFP)
		if idx.Get([]byte(rec.Fingerprint)) != nil {
			return Errorf(ECONFLICT, "The key %s is registered already; each key may belong to one user only.", rec.Fingerprint)
		}
		b := tx.Bucket(bucketSSHKeys)
		if n := countPrefix(b, itob(userID)); n >= MaxSSHKeysPerUser {
			return Errorf(EINVALID, "This user already has %d SSH keys, the most an account may hold; remove one first.", n)
		}
		id, err := nextID(b)
		if err != nil {
			return err
		}
		key = append(itob(userID), itob(id)...)
		rec.CreatedAt = s.clock()
		if err := putJSON(b, key, rec); err != nil {
			return err
		}
		if err := idx.Put([]byte(rec.Fingerprint), key); err != nil {
			return err
		}
		return s.addEventTx(tx, actor, EventSSHKeyAdded, "user", userID, map[string]any{
			"email": u.Email, "name": name, "fingerprint": rec.Fingerprint})
	})
	if err != nil {
		return SSHKey{}, err
	}
	return rec.key(key), nil
}

var errNoSSHKey = Errorf(ENOTFOUND, "There is no such SSH key on this account; it may have been removed already.")

// DeleteSSHKey removes the SSH key keyID of user userID, with an
// ssh-key-removed event. It returns ENOTFOUND for an unknown user or key
// and EFORBIDDEN when actor may not manage that user's keys.
func (s *Store) DeleteSSHKey(actor Actor, userID, keyID uint64) error {
	return s.update(func(tx *bolt.Tx) error {
		u, err := getUserTx(tx, userID)
		if err != nil {
			return err
		}
		if !mayManageSSHKeysOf(actor, u) {
			return errSSHKeysForbidden
		}
		key := append(itob(userID), itob(keyID)...)
		var rec sshKeyRecord
		ok, err := getJSON(tx.Bucket(bucketSSHKeys), key, &rec)
		if err != nil {
			return err
		}
		if !ok {
			return errNoSSHKey
		}
		if err := tx.Bucket(bucketSSHKeys).Delete(key); err != nil {
			return err
		}
		if err := tx.Bucket(bucketSSHKeysByFP).Delete([]byte(rec.Fingerprint)); err != nil {
			return err
		}
		return s.addEventTx(tx, actor, EventSSHKeyRemoved, "user", userID, map[string]any{
			"email": u.Email, "name": rec.Name, "fingerprint": rec.Fingerprint})
	})
}

// deleteUserSSHKeysTx deletes every SSH key of a user with its index
// entries.
func deleteUserSSHKeysTx(tx *bolt.Tx, userID uint64) error {
	prefix := itob(userID)
	b := tx.Bucket(bucketSSHKeys)
	idx := tx.Bucket(bucketSSHKeysByFP)
	var keys, fps [][]byte
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var rec sshKeyRecord
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode record %x: %w", k, err)
		}
		keys = append(keys, append([]byte(nil), k...))
		fps = append(fps, []byte(rec.Fingerprint))
	}
	for i, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
		if err := idx.Delete(fps[i]); err != nil {
			return err
		}
	}
	return nil
}

// ErrSSHLogin is the one answer to a key that may not open the TUI: an
// unknown key, or one whose user is gone, inactive or below Editor. It
// does not say which, so that nobody learns whose keys are registered.
var ErrSSHLogin = Errorf(EUNAUTHORIZED, "This SSH key may not open invited: it is not registered to an active Admin or Editor.")

// sshKeyOwnerTx finds the record of public key pk and its user, or
// returns ErrSSHLogin unless that user exists, is Active and is an Editor
// or Admin now: the role and the account are checked at each connection,
// never only when the key was added.
func sshKeyOwnerTx(tx *bolt.Tx, pk ssh.PublicKey) ([]byte, sshKeyRecord, User, error) {
	var rec sshKeyRecord
	key := tx.Bucket(bucketSSHKeysByFP).Get([]byte(SSHFingerprint(pk)))
	if len(key) != 16 {
		return nil, rec, User{}, ErrSSHLogin
	}
	key = append([]byte(nil), key...)
	ok, err := getJSON(tx.Bucket(bucketSSHKeys), key, &rec)
	if err != nil {
		return nil, rec, User{}, err
	}
	// The fingerprint is a hash: compare the keys themselves too.
	if !ok || rec.Key != base64.StdEncoding.EncodeToString(pk.Marshal()) {
		return nil, rec, User{}, ErrSSHLogin
	}
	ur, err := getUserTx(tx, btoi(key[:8]))
	if ErrorCode(err) == ENOTFOUND {
		return nil, rec, User{}, ErrSSHLogin
	} else if err != nil {
		return nil, rec, User{}, err
	}
	u := ur.user()
	if !u.Active() || !u.RootRole.AtLeast(RoleEditor) {
		return nil, rec, User{}, ErrSSHLogin
	}
	return key, rec, u, nil
}

// SSHKeyUser returns the user that public key pk may open the TUI as, or
// ErrSSHLogin, and records nothing: it is for the SSH server's
// authentication callback, which is asked about keys a client offers
// before the client has proven it holds the private half.
func (s *Store) SSHKeyUser(pk ssh.PublicKey) (User, error) {
	var u User
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		_, _, u, err = sshKeyOwnerTx(tx, pk)
		return err
	})
	return u, err
}

// SSHLogin is SSHKeyUser for a key the client has proven it holds (a
// session authenticated with it): it also records the key's use.
func (s *Store) SSHLogin(pk ssh.PublicKey) (User, SSHKey, error) {
	var u User
	var k SSHKey
	err := s.update(func(tx *bolt.Tx) error {
		key, rec, owner, err := sshKeyOwnerTx(tx, pk)
		if err != nil {
			return err
		}
		u = owner
		now := s.clock()
		rec.LastUsedAt = &now
		if err := putJSON(tx.Bucket(bucketSSHKeys), key, rec); err != nil {
			return err
		}
		k = rec.key(key)
		return nil
	})
	if err != nil {
		return User{}, SSHKey{}, err
	}
	return u, k, nil
}
