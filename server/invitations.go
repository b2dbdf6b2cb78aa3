package server

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"

	"invited/db"
	"invited/server/mail"
)

type createInvitationRequest struct {
	InvitedEmail           string          `json:"invitedEmail"`
	TTL                    *string         `json:"ttl"`
	ExpirationTime         *string         `json:"expirationTime"`
	Inviter                *string         `json:"inviter"`
	DisableInvitationEmail bool            `json:"disableInvitationEmail"`
	Labels                 []labelJSON     `json:"labels"`
	RoleID                 json.RawMessage `json:"roleId"`
	OrganizationID         string          `json:"organizationId"`
	// Groups is our addition: the groups the invitee gets.
	Groups []string `json:"groups"`
	// AppID is our addition: the app the invitee is sent on to.
	AppID string `json:"appId"`
}

type listInvitationsResponse struct {
	UserInvitations []invitationResponse `json:"userInvitations"`
	NextPageToken   string               `json:"nextPageToken"`
}

// inviterName is the name an invitation email shows when the request
// names nobody: the logged-in user's name. An API key has no name to show,
// so, as the Confidence API says, its callers must give one.
func (s *Server) inviterName(actor db.Actor, given *string) (string, error) {
	if given != nil && strings.TrimSpace(*given) != "" {
		return *given, nil
	}
	if actor.Kind != "user" {
		return "", db.FieldErrorf("inviter", "is required when calling with an API key: it is the name the invitation email shows")
	}
	u, err := s.store.FindUserByID(actor.ID)
	if err != nil {
		return "", err
	}
	if u.Name != "" {
		return u.Name, nil
	}
	return u.Email, nil
}

func (s *Server) handleCreateInvitation(w http.ResponseWriter, r *http.Request, _ httprouter.Params, actor db.Actor) {
	var req createInvitationRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	in := db.NewInvitation{
		Email: req.InvitedEmail, DefaultTTL: s.inviteTTL, DisableEmail: req.DisableInvitationEmail,
		OrgID: strings.TrimSpace(req.OrganizationID), Groups: req.Groups,
		AppID: req.AppID,
	}
	for _, l := range req.Labels {
		in.Labels = append(in.Labels, db.Label{Key: l.Key, Value: l.Value})
	}
	var err error
	if req.TTL != nil {
		d, ok := db.ParseDuration(*req.TTL)
		if !ok {
			s.writeError(w, r, db.FieldErrorf("ttl", "%q is not a duration; give seconds such as \"604800s\"", clip(*req.TTL, 64)))
			return
		}
		in.TTL = &d
	}
	if req.ExpirationTime != nil {
		if in.ExpiresAt, err = parseFutureTime("expirationTime", *req.ExpirationTime); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if in.Role, err = parseRole("roleId", req.RoleID); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.Inviter, err = s.inviterName(actor, req.Inviter); err != nil {
		s.writeError(w, r, err)
		return
	}
	inv, err := s.store.CreateInvitation(actor, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.pokeOutbox()
	writeJSON(w, http.StatusOK, newInvitationResponse(s.baseURL, inv))
}

// parsePageToken reads the opaque token of the next page: the id to
// continue after.
func parsePageToken(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil && strings.HasPrefix(string(raw), "after:") {
		if id, err := strconv.ParseUint(strings.TrimPrefix(string(raw), "after:"), 10, 64); err == nil {
			return id, nil
		}
	}
	return 0, db.FieldErrorf("pageToken", "is not a token this server gave out; use the nextPageToken of the previous page, or leave it out")
}

func pageToken(after uint64) string {
	if after == 0 {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte("after:" + strconv.FormatUint(after, 10)))
}

var invitationStates = []string{db.InvitationPending, db.InvitationAccepted, db.InvitationExpired, db.InvitationRevoked}

func (s *Server) handleListInvitations(w http.ResponseWriter, r *http.Request, _ httprouter.Params, actor db.Actor) {
	// An empty pageToken is the first page: it is what nextPageToken is
	// on the last one.
	if err := queryParams(r, []string{"pageSize", "pageToken", "state"}, "pageToken"); err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	size := 50
	if v := q.Get("pageSize"); v != "" {
		n, err := wholeNumber("pageSize", v, 1, 1000)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		size = n
	}
	after, err := parsePageToken(q.Get("pageToken"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// A state is matched whole, in any case (as the API document says).
	state := strings.ToUpper(q.Get("state"))
	if state != "" && !slices.Contains(invitationStates, state) {
		s.writeError(w, r, db.FieldErrorf("state", "must be one of %s", strings.Join(invitationStates, ", ")))
		return
	}
	list, next, err := s.store.ListInvitations(actor, state, after, size)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, listInvitationsResponse{UserInvitations: newInvitationResponses(s.baseURL, list), NextPageToken: pageToken(next)})
}

func (s *Server) handleGetInvitation(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	id, err := parseID(ps, "invitation")
	if err == nil {
		var inv db.Invitation
		if inv, err = s.store.GetInvitation(actor, id); err == nil {
			writeJSON(w, http.StatusOK, newInvitationResponse(s.baseURL, inv))
			return
		}
	}
	s.writeError(w, r, err)
}

func (s *Server) handleRevokeInvitation(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	id, err := parseID(ps, "invitation")
	if err == nil {
		var inv db.Invitation
		if inv, err = s.store.RevokeInvitation(actor, id); err == nil {
			writeJSON(w, http.StatusOK, newInvitationResponse(s.baseURL, inv))
			return
		}
	}
	s.writeError(w, r, err)
}

func (s *Server) handleResendInvitation(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	id, err := parseID(ps, "invitation")
	if err == nil {
		err = decodeEmpty(w, r)
	}
	if err == nil {
		var inv db.Invitation
		if inv, err = s.store.ResendInvitation(actor, id); err == nil {
			s.pokeOutbox()
			writeJSON(w, http.StatusOK, newInvitationResponse(s.baseURL, inv))
			return
		}
	}
	s.writeError(w, r, err)
}

type acceptInvitationRequest struct {
	Name     string `json:"name"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// handleAcceptInvitation accepts an invitation: one call to
// Accounts.AcceptInvitation, which refuses early, hashes and writes.
func (s *Server) handleAcceptInvitation(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
	token := ps.ByName("token")
	var req acceptInvitationRequest
	if err := decode(w, r, &req); err != nil {
		// An invitation that cannot be accepted is said before anything
		// about the body; it is looked up only on this error path.
		if _, ferr := s.store.FindInvitationByToken(token); ferr != nil {
			err = ferr
		}
		s.writeError(w, r, err)
		return
	}
	u, err := s.accounts.AcceptInvitation(r.Context(), token, db.NewAccount{Name: req.Name, Username: req.Username, Password: req.Password})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.joined("invitation")
	writeJSON(w, http.StatusOK, newUserResponse(u))
}

// DoiT's invite-user: the same invitation, another shape, and errors as
// {"error": "..."}.

type doitInviteRequest struct {
	Email          string          `json:"email"`
	RoleID         json.RawMessage `json:"roleId"`
	OrganizationID string          `json:"organizationId"`
	// Groups is our addition: the groups the invitee gets.
	Groups []string `json:"groups"`
	// AppID is our addition: the app the invitee is sent on to.
	AppID string `json:"appId"`
}

type doitInvitedUser struct {
	ID             string `json:"id"`
	Email          string `json:"email"`
	RoleID         string `json:"roleId"`
	OrganizationID string `json:"organizationId"`
	Status         string `json:"status"`
	// Groups is our addition: the groups the invitee gets. Left out when
	// there are none, so that an answer without groups is seed 003's
	// exactly.
	Groups []string `json:"groups,omitempty"`
	// AppID is our addition, left out when there is none.
	AppID string `json:"appId,omitempty"`
}

type doitInviteResponse struct {
	Message string          `json:"message"`
	User    doitInvitedUser `json:"user"`
}

// writeDoitError answers in DoiT's error shape. Statuses are those of the
// domain error, with internal errors hidden as everywhere.
func (s *Server) writeDoitError(w http.ResponseWriter, r *http.Request, err error) {
	status, _, msg, details := describe(err)
	id := newUUID()
	s.logError(r, err, status, id)
	if len(details) > 1 {
		parts := make([]string, len(details))
		for i, d := range details {
			parts[i] = d.Path + ": " + d.Message
		}
		msg = strings.Join(parts, "; ")
	}
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

// doitNames renames the store's invitedEmail to DoiT's email in err. Only
// the store's answers need it: a decoding error names the field the
// caller sent, which may well be a stray "invitedEmail".
func doitNames(err error) error {
	var de *db.Error
	if !errors.As(err, &de) {
		return err
	}
	renamed := *de
	renamed.Message = strings.ReplaceAll(de.Message, "invitedEmail", "email")
	renamed.Details = make([]db.FieldError, len(de.Details))
	for i, d := range de.Details {
		if d.Path == "invitedEmail" {
			d.Path = "email"
		}
		renamed.Details[i] = d
	}
	return &renamed
}

func (s *Server) handleDoitInvite(w http.ResponseWriter, r *http.Request, _ httprouter.Params, actor db.Actor) {
	var req doitInviteRequest
	if err := decode(w, r, &req); err != nil {
		s.writeDoitError(w, r, err)
		return
	}
	role, err := parseRole("roleId", req.RoleID)
	if err != nil {
		s.writeDoitError(w, r, err)
		return
	}
	inviter := ""
	if actor.Kind == "user" {
		inviter, _ = s.inviterName(actor, nil)
	}
	inv, err := s.store.CreateInvitation(actor, db.NewInvitation{
		Email: req.Email, DefaultTTL: s.inviteTTL, Role: role, OrgID: strings.TrimSpace(req.OrganizationID), Inviter: inviter,
		Groups: req.Groups, AppID: req.AppID,
	})
	if err != nil {
		s.writeDoitError(w, r, doitNames(err))
		return
	}
	s.pokeOutbox()
	writeJSON(w, http.StatusCreated, doitInviteResponse{
		Message: "Invitation sent to " + inv.Email + "; it expires " + inv.ExpiresAt.UTC().Format(time.RFC3339) + ".",
		User: doitInvitedUser{
			ID: strconv.FormatUint(inv.ID, 10), Email: inv.Email, RoleID: strconv.Itoa(int(inv.Role)),
			OrganizationID: inv.OrgID, Status: "invited", Groups: inv.Groups, AppID: inv.AppID,
		},
	})
}

// Organizations.

type createOrgRequest struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type listOrgsResponse struct {
	Organizations []organizationResponse `json:"organizations"`
}

func (s *Server) handleListOrgs(w http.ResponseWriter, r *http.Request, _ httprouter.Params, _ db.Actor) {
	orgs, err := s.store.ListOrganizations()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	answers := make([]organizationResponse, len(orgs))
	for i, o := range orgs {
		answers[i] = newOrganizationResponse(o)
	}
	writeJSON(w, http.StatusOK, listOrgsResponse{Organizations: answers})
}

func (s *Server) handleCreateOrg(w http.ResponseWriter, r *http.Request, _ httprouter.Params, actor db.Actor) {
	var req createOrgRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	org, err := s.store.CreateOrganization(actor, req.ID, req.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/admin/organizations/"+org.ID)
	writeJSON(w, http.StatusCreated, newOrganizationResponse(org))
}

func (s *Server) handleDeleteOrg(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	if err := s.store.DeleteOrganization(actor, ps.ByName("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// The outbox, for admins to see what was sent and what failed.

type listEmailsResponse struct {
	Emails []emailResponse `json:"emails"`
	Total  int             `json:"total"`
	Limit  int             `json:"limit"`
	Offset int             `json:"offset"`
}

func (s *Server) handleListEmails(w http.ResponseWriter, r *http.Request, _ httprouter.Params, _ db.Actor) {
	offset, limit, err := parsePage(r, 100, 1000)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	emails, total, err := s.store.ListOutbox(offset, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// An email is rendered when it is sent, so one not sent (yet) shows
	// the subject it gets from this server's configuration.
	site := mail.Site{Name: s.site, BaseURL: s.baseURL}
	answers := make([]emailResponse, len(emails))
	for i, e := range emails {
		answers[i] = newEmailResponse(e, mail.Subject(site, e))
	}
	writeJSON(w, http.StatusOK, listEmailsResponse{Emails: answers, Total: total, Limit: limit, Offset: offset})
}
