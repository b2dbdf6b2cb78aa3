package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"github.com/julienschmidt/httprouter"

	"invited/db"
)

// parsePage reads limit and offset from the query, with limit defaulting
// to def and capped at max. The query may hold only limit, offset and the
// extra parameters the list takes; anything else is refused.
func parsePage(r *http.Request, def, max int, extra ...string) (offset, limit int, err error) {
	if err := queryParams(r, append([]string{"limit", "offset"}, extra...)); err != nil {
		return 0, 0, err
	}
	limit = def
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		if limit, err = wholeNumber("limit", v, 1, max); err != nil {
			return 0, 0, err
		}
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = wholeNumber("offset", v, 0, -1); err != nil {
			return 0, 0, err
		}
	}
	return offset, limit, nil
}

// parseID reads a numeric id from the path; anything else names no record.
func parseID(ps httprouter.Params, what string) (uint64, error) {
	raw := ps.ByName("id")
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil || id == 0 {
		return 0, db.Errorf(db.ENOTFOUND, "There is no %s with id %q; ids are whole numbers.", what, redactPath(raw))
	}
	return id, nil
}

func (s *Server) handleGetSelf(w http.ResponseWriter, r *http.Request, _ httprouter.Params, actor db.Actor) {
	if actor.Kind != "user" {
		s.writeError(w, r, db.Errorf(db.ENOTFOUND, "You are calling with an API key (%q), which is not a user; log in to see your user.", actor.Name))
		return
	}
	u, err := s.store.FindUserByID(actor.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newUserResponse(u))
}

type listUsersResponse struct {
	Users  []userResponse `json:"users"`
	Total  int            `json:"total"`
	Limit  int            `json:"limit"`
	Offset int            `json:"offset"`
}

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request, _ httprouter.Params, _ db.Actor) {
	offset, limit, err := parsePage(r, 100, 1000)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	users, total, err := s.store.ListUsers(offset, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listUsersResponse{Users: newUserResponses(users), Total: total, Limit: limit, Offset: offset})
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request, ps httprouter.Params, _ db.Actor) {
	id, err := parseID(ps, "user")
	if err == nil {
		var u db.User
		if u, err = s.store.FindUserByID(id); err == nil {
			writeJSON(w, http.StatusOK, newUserResponse(u))
			return
		}
	}
	s.writeError(w, r, err)
}

type updateUserRequest struct {
	Name     *string         `json:"name"`
	Email    *string         `json:"email"`
	RootRole json.RawMessage `json:"rootRole"`
	// Groups is our addition: replaces the user's groups.
	Groups *[]string `json:"groups"`
}

func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	id, err := parseID(ps, "user")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req updateUserRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	in := db.UserUpdate{Name: req.Name, Email: req.Email, Groups: req.Groups}
	if len(req.RootRole) > 0 && string(req.RootRole) != "null" {
		role, err := parseRole("rootRole", req.RootRole)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		in.RootRole = &role
	}
	u, err := s.store.UpdateUser(actor, id, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newUserResponse(u))
}

func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	id, err := parseID(ps, "user")
	if err == nil {
		err = s.store.DeleteUser(actor, id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) handleUnlockUser(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	id, err := parseID(ps, "user")
	if err == nil {
		var u db.User
		if u, err = s.store.UnlockUser(actor, id); err == nil {
			writeJSON(w, http.StatusOK, newUserResponse(u))
			return
		}
	}
	s.writeError(w, r, err)
}

// handleDisableUser disables a user (no body, or {}): their sessions end at
// once and they cannot log in until enabled again.
func (s *Server) handleDisableUser(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	s.changeUser(w, r, ps, func(id uint64) (db.User, error) { return s.store.DisableUser(actor, id) })
}

// handleEnableUser lets a disabled user log in again (no body, or {}).
func (s *Server) handleEnableUser(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	s.changeUser(w, r, ps, func(id uint64) (db.User, error) { return s.store.EnableUser(actor, id) })
}

// handleMarkEmailVerified verifies a user's address on the caller's word
// (no body, or {}): they may log in from now on.
func (s *Server) handleMarkEmailVerified(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	s.changeUser(w, r, ps, func(id uint64) (db.User, error) { return s.store.MarkEmailVerified(actor, id) })
}

// changeUser runs a change that takes nothing but the user's id and
// answers with the user.
func (s *Server) changeUser(w http.ResponseWriter, r *http.Request, ps httprouter.Params, change func(id uint64) (db.User, error)) {
	id, err := parseID(ps, "user")
	if err == nil {
		err = decodeEmpty(w, r)
	}
	if err == nil {
		var u db.User
		if u, err = change(id); err == nil {
			writeJSON(w, http.StatusOK, newUserResponse(u))
			return
		}
	}
	s.writeError(w, r, err)
}

type listRolesResponse struct {
	Roles []roleResponse `json:"roles"`
}

func (s *Server) handleListRoles(w http.ResponseWriter, r *http.Request, _ httprouter.Params, _ db.Actor) {
	roles := make([]roleResponse, len(db.Roles))
	for i, role := range db.Roles {
		roles[i] = newRoleResponse(role)
	}
	writeJSON(w, http.StatusOK, listRolesResponse{Roles: roles})
}

type createAPIKeyRequest struct {
	Name string          `json:"name"`
	Role json.RawMessage `json:"role"`
}

type listAPIKeysResponse struct {
	Tokens []apiKeyResponse `json:"tokens"`
}

func (s *Server) handleListAPIKeys(w http.ResponseWriter, r *http.Request, _ httprouter.Params, _ db.Actor) {
	keys, err := s.store.ListAPIKeys()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	answers := make([]apiKeyResponse, len(keys))
	for i, k := range keys {
		answers[i] = newAPIKeyResponse(k)
	}
	writeJSON(w, http.StatusOK, listAPIKeysResponse{Tokens: answers})
}

func (s *Server) handleCreateAPIKey(w http.ResponseWriter, r *http.Request, _ httprouter.Params, actor db.Actor) {
	var req createAPIKeyRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	role, err := parseRole("role", req.Role)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if role == 0 {
		s.writeError(w, r, db.FieldErrorf("role", "is required: admin or editor"))
		return
	}
	key, secret, err := s.store.CreateAPIKey(actor, req.Name, role)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, createAPIKeyResponse{newAPIKeyResponse(key), secret})
}

func (s *Server) handleDeleteAPIKey(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	id, err := parseID(ps, "API key")
	if err == nil {
		err = s.store.DeleteAPIKey(actor, id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

type listEventsResponse struct {
	Events []eventResponse `json:"events"`
	Total  int             `json:"total"`
	Limit  int             `json:"limit"`
	Offset int             `json:"offset"`
}

func (s *Server) handleListEvents(w http.ResponseWriter, r *http.Request, _ httprouter.Params, _ db.Actor) {
	offset, limit, err := parsePage(r, 100, 1000, "type")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	typ := r.URL.Query().Get("type")
	if typ != "" && !slices.Contains(db.EventTypes, typ) {
		s.writeError(w, r, db.FieldErrorf("type", "%q is not an event type; use one of %v", redactPath(typ), db.EventTypes))
		return
	}
	events, total, err := s.store.ListEvents(typ, offset, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listEventsResponse{Events: newEventResponses(events), Total: total, Limit: limit, Offset: offset})
}
