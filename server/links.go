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
}

type updateTokenRequest struct {
	ExpiresAt   *string `json:"expiresAt"`
	Enabled     *bool   `json:"enabled"`
	Description *string `json:"description"`
}

type listTokensResponse struct {
	Tokens []linkAnswer `json:"tokens"`
}

// linkAnswer is a link as one caller may read it. Who may read users (an
// Admin) sees each joiner whole, as seed 002 shows them; anyone else sees
// only what someone who shares the link needs, so that managing links is
// not a way to read other people's addresses and sign-in history.
type linkAnswer struct {
	token      db.SignupToken
	wholeUsers bool
}

// linkUserBrief is a joiner as a caller without MANAGE_USERS sees them:
// userSchema's required id, and who they are, with which role, since when.
type linkUserBrief struct {
	ID        uint64  `json:"id"`
	Name      *string `json:"name"`
	Username  *string `json:"username"`
	RootRole  db.Role `json:"rootRole"`
	CreatedAt string  `json:"createdAt"`
}

// MarshalJSON writes the link with its users whole or brief.
func (a linkAnswer) MarshalJSON() ([]byte, error) {
	if a.wholeUsers {
		return a.token.MarshalJSON()
	}
	orNull := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	users := make([]linkUserBrief, len(a.token.Users))
	for i, u := range a.token.Users {
		users[i] = linkUserBrief{ID: u.ID, Name: orNull(u.Name), Username: orNull(u.Username),
			RootRole: u.RootRole, CreatedAt: db.FormatTime(u.CreatedAt)}
	}
	return a.token.MarshalJSONWithUsers(users)
}

// answerLink is t as actor may read it.
func answerLink(actor db.Actor, t db.SignupToken) linkAnswer {
	return linkAnswer{token: t, wholeUsers: allowed(actor.Role, permManageUsers)}
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
	in := db.NewSignupToken{Name: req.Name, Description: req.Description, AllowedDomains: req.AllowedDomains}
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
	writeJSON(w, http.StatusCreated, answerLink(actor, token))
}

func (s *Server) handleListTokens(w http.ResponseWriter, r *http.Request, _ httprouter.Params, actor db.Actor) {
	tokens, err := s.store.ListSignupTokens(actor)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	answers := make([]linkAnswer, len(tokens))
	for i, t := range tokens {
		answers[i] = answerLink(actor, t)
	}
	writeJSON(w, http.StatusOK, listTokensResponse{Tokens: answers})
}

func (s *Server) handleGetToken(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	token, err := s.store.FindSignupToken(actor, ps.ByName("token"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, answerLink(actor, token))
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
	writeJSON(w, http.StatusOK, answerLink(actor, token))
}
