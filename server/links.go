package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"invited/db"
)

type createTokenRequest struct {
	Name           string          `json:"name"`
	Description    string          `json:"description"`
	ExpiresAt      *string         `json:"expiresAt"`
	Role           json.RawMessage `json:"role"`
	MaxUses        *int            `json:"maxUses"`
	AllowedDomains []string        `json:"allowedDomains"`
	Groups         []string        `json:"groups"`
	// AppID is our addition: the app whoever signs up is sent on to.
	AppID string `json:"appId"`
	// RequireApproval (ours): whoever signs up waits for an Admin.
	RequireApproval bool `json:"requireApproval"`
}

type updateTokenRequest struct {
	ExpiresAt   *string `json:"expiresAt"`
	Enabled     *bool   `json:"enabled"`
	Description *string `json:"description"`
	// Ours, beyond seed 002: the rest of what create takes. maxUses is
	// raw so that null (remove the limit) differs from absent.
	Name           *string         `json:"name"`
	Role           json.RawMessage `json:"role"`
	MaxUses        json.RawMessage `json:"maxUses"`
	AllowedDomains *[]string       `json:"allowedDomains"`
	Groups         *[]string       `json:"groups"`
	// AppID replaces the link's app; "" removes it.
	AppID *string `json:"appId"`
	// RequireApproval turns approval on or off for the next signups.
	RequireApproval *bool `json:"requireApproval"`
}

type listTokensResponse struct {
	Tokens []linkResponse `json:"tokens"`
}

// answerLink is t as actor may read it: joiners whole for whoever may
// manage users, brief for anyone else (see newLinkResponse).
func (s *Server) answerLink(actor db.Actor, t db.SignupToken) linkResponse {
	return newLinkResponse(s.baseURL, t, allowed(actor.Role, permManageUsers))
}

// parseTime reads an RFC 3339 time for field, within the years 1 to 9999
// once in UTC (db.CheckTime).
func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return t, db.FieldErrorf(field, "%q is not an RFC 3339 time; give one such as 2030-01-31T12:00:00Z", clip(s, 64))
	}
	return t, db.CheckTime(field, t)
}

// parseFutureTime is parseTime for a create request, where the zero
// instant (0001-01-01T00:00:00Z), which the store reads as "not given",
// must be refused rather than replaced by a default.
func parseFutureTime(field, s string) (time.Time, error) {
	t, err := parseTime(field, s)
	if err == nil && t.IsZero() {
		err = db.FieldErrorf(field, "must be in the future")
	}
	return t, err
}

// parseRole reads a role given as its id (3) or its name ("Viewer").
func parseRole(field string, raw json.RawMessage) (db.Role, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err == nil {
		switch v := v.(type) {
		case float64:
			if r := db.Role(v); float64(r) == v && r.Valid() {
				return r, nil
			}
		case string:
			if r, ok := db.ParseRole(v); ok {
				return r, nil
			}
		}
	}
	return 0, db.FieldErrorf(field, "%s", db.RootRoleRule)
}

func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request, _ httprouter.Params, actor db.Actor) {
	var req createTokenRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	in := db.NewSignupToken{Name: req.Name, Description: req.Description, AllowedDomains: req.AllowedDomains, Groups: req.Groups,
		AppID: req.AppID, RequireApproval: req.RequireApproval}
	var err error
	if req.ExpiresAt != nil {
		if in.ExpiresAt, err = parseFutureTime("expiresAt", *req.ExpiresAt); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if in.Role, err = parseRole("role", req.Role); err != nil {
		s.writeError(w, r, err)
		return
	}
	in.MaxUses = req.MaxUses
	token, err := s.store.CreateSignupToken(actor, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/admin/invite-link/tokens/"+token.Secret)
	writeJSON(w, http.StatusCreated, s.answerLink(actor, token))
}

func (s *Server) handleListTokens(w http.ResponseWriter, r *http.Request, _ httprouter.Params, actor db.Actor) {
	tokens, err := s.store.ListSignupTokens(actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	answers := make([]linkResponse, len(tokens))
	for i, t := range tokens {
		answers[i] = s.answerLink(actor, t)
	}
	writeJSON(w, http.StatusOK, listTokensResponse{Tokens: answers})
}

func (s *Server) handleGetToken(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	token, err := s.store.FindSignupToken(actor, ps.ByName("token"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.answerLink(actor, token))
}

func (s *Server) handleUpdateToken(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	// An unknown link, or one above the caller's role, is a 404 whatever
	// the body says.
	if _, err := s.store.FindSignupToken(actor, ps.ByName("token")); err != nil {
		s.writeError(w, r, err)
		return
	}
	var req updateTokenRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	var in db.SignupTokenUpdate
	in.Enabled = req.Enabled
	in.Description = req.Description
	in.Name = req.Name
	in.AllowedDomains = req.AllowedDomains
	in.Groups = req.Groups
	in.AppID = req.AppID
	in.RequireApproval = req.RequireApproval
	role, err := parseRole("role", req.Role)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if role != 0 {
		in.Role = &role
	}
	if in.MaxUses, err = parseMaxUsesUpdate(req.MaxUses); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.ExpiresAt != nil {
		t, err := parseTime("expiresAt", *req.ExpiresAt)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		in.ExpiresAt = &t
	}
	token, err := s.store.UpdateSignupToken(actor, ps.ByName("token"), in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.answerLink(actor, token))
}

// parseMaxUsesUpdate reads maxUses of an update: absent changes nothing,
// null removes the limit (0 in the store), a whole number from 1 sets it.
func parseMaxUsesUpdate(raw json.RawMessage) (*int, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	n := 0
	if string(raw) != "null" {
		if err := json.Unmarshal(raw, &n); err != nil || n < 1 {
			return nil, db.FieldErrorf("maxUses", "must be at least 1, or null for no limit")
		}
	}
	return &n, nil
}

func (s *Server) handleDeleteToken(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	if err := s.store.DeleteSignupToken(actor, ps.ByName("token")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
