package server

import (
	"encoding/json"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"invited/db"
)

// Batch invitations (DESIGN §12): many addresses in one call, a result for
// each.

type batchRowRequest struct {
	Email          string          `json:"email"`
	RoleID         json.RawMessage `json:"roleId"`
	Groups         []string        `json:"groups"`
	OrganizationID string          `json:"organizationId"`
}

type createBatchRequest struct {
	Invitations            []batchRowRequest `json:"invitations"`
	Inviter                *string           `json:"inviter"`
	TTL                    *string           `json:"ttl"`
	DisableInvitationEmail bool              `json:"disableInvitationEmail"`
	// AppID is the app every invitee is sent on to, as on a single
	// invitation.
	AppID *string `json:"appId"`
}

type batchResultResponse struct {
	Email      string              `json:"email"`
	Status     string              `json:"status"`
	Invitation *invitationResponse `json:"invitation,omitempty"`
	Error      string              `json:"error,omitempty"`
}

type createBatchResponse struct {
	Results []batchResultResponse `json:"results"`
}

// maxEchoedEmail caps an address a result repeats back: a refused one may
// be anything the caller sent.
const maxEchoedEmail = 2 * db.MaxEmailLength

func (s *Server) handleCreateInvitationBatch(w http.ResponseWriter, r *http.Request, _ httprouter.Params, actor db.Actor) {
	var req createBatchRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	in := db.NewInvitationBatch{DefaultTTL: s.inviteTTL, DisableEmail: req.DisableInvitationEmail}
	if req.AppID != nil {
		in.AppID = *req.AppID
	}
	if req.TTL != nil {
		d, ok := db.ParseDuration(*req.TTL)
		if !ok {
			s.writeError(w, r, db.FieldErrorf("ttl", "%q is not a duration; give seconds such as \"604800s\"", clip(*req.TTL, 64)))
			return
		}
		in.TTL = &d
	}
	var err error
	if in.Inviter, err = s.inviterName(actor, req.Inviter); err != nil {
		s.writeError(w, r, err)
		return
	}
	// A roleId that is no role makes its row invalid, not the batch: it
	// goes to the store as a role that is not Valid, which refuses it
	// with the message parseRole gives.
	for _, row := range req.Invitations {
		role, err := parseRole("roleId", row.RoleID)
		if err != nil {
			role = -1
		}
		in.Rows = append(in.Rows, db.BatchRow{Email: row.Email, Role: role, Groups: row.Groups, OrgID: row.OrganizationID})
	}
	done, err := s.store.CreateInvitationBatch(actor, in)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	results := make([]batchResultResponse, len(done))
	for i, res := range done {
		out := batchResultResponse{Email: clip(res.Email, maxEchoedEmail), Status: res.Status}
		if res.Invitation != nil {
			inv := newInvitationResponse(s.baseURL, *res.Invitation)
			out.Invitation = &inv
		}
		if res.Err != nil {
			out.Error = res.Err.Message
		}
		results[i] = out
	}
	s.pokeOutbox()
	writeJSON(w, http.StatusOK, createBatchResponse{Results: results})
}
