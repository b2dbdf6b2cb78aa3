package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/julienschmidt/httprouter"

	"invited/db"
)

// sshKeyResponse is an SSH key as the API shows it: by fingerprint, with
// the public key itself (it is not a secret).
type sshKeyResponse struct {
	ID          uint64     `json:"id"`
	UserID      uint64     `json:"userId"`
	Name        string     `json:"name"`
	Type        string     `json:"type"`
	Fingerprint string     `json:"fingerprint"`
	PublicKey   string     `json:"publicKey"`
	CreatedAt   time.Time  `json:"createdAt"`
	LastUsedAt  *time.Time `json:"lastUsedAt"`
}

func newSSHKeyResponse(k db.SSHKey) sshKeyResponse {
	return sshKeyResponse{ID: k.ID, UserID: k.UserID, Name: k.Name, Type: k.Type, Fingerprint: k.Fingerprint,
		PublicKey: k.Type + " " + k.Key, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt}
}

// handleListSSHKeys lists a user's SSH keys. The store decides who may: an
// Admin for anyone, an Editor for themselves.
func (s *Server) handleListSSHKeys(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	id, err := parseID(ps, "user")
	var keys []db.SSHKey
	if err == nil {
		keys, err = s.store.SSHKeys(actor, id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]sshKeyResponse, 0, len(keys))
	for _, k := range keys {
		out = append(out, newSSHKeyResponse(k))
	}
	writeJSON(w, http.StatusOK, out)
}

type addSSHKeyRequest struct {
	// Name is optional: the key line's comment is used when it is empty.
	Name string `json:"name"`
	// Key is one line of an authorized_keys file or a .pub file.
	Key string `json:"key"`
}

// handleAddSSHKey registers an SSH key to a user, for the admin TUI over
// SSH.
func (s *Server) handleAddSSHKey(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	id, err := parseID(ps, "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req addSSHKeyRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	k, err := s.store.AddSSHKey(actor, id, req.Name, req.Key)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, newSSHKeyResponse(k))
}

// handleDeleteSSHKey removes one SSH key of a user.
func (s *Server) handleDeleteSSHKey(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	id, err := parseID(ps, "user")
	if err == nil {
		raw := ps.ByName("keyId")
		keyID, perr := strconv.ParseUint(raw, 10, 64)
		if perr != nil || keyID == 0 {
			err = db.Errorf(db.ENOTFOUND, "There is no SSH key with id %q; ids are whole numbers.", redactPath(raw))
		} else {
			err = s.store.DeleteSSHKey(actor, id, keyID)
		}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
