package server

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/julienschmidt/httprouter"

	"invited/db"
)

// Webhooks (DESIGN §12): subscribers to changes, and their delivery log.
// Admins only. The deliveries themselves go out from server/webhook; the
// body they carry is made here (WebhookBody), in the API's shapes.

type createWebhookRequest struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
}

// webhookResponse is a webhook; Secret only in the create answer.
type webhookResponse struct {
	ID          uint64   `json:"id"`
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
	CreatedAt   string   `json:"createdAt"`
	CreatedBy   string   `json:"createdBy"`
	Secret      string   `json:"secret,omitempty"`
}

func newWebhookResponse(w db.Webhook) webhookResponse {
	return webhookResponse{ID: w.ID, URL: w.URL, Events: w.Events, Description: w.Description,
		CreatedAt: db.FormatTime(w.CreatedAt), CreatedBy: w.CreatedBy, Secret: w.Secret}
}

type listWebhooksResponse struct {
	Webhooks []webhookResponse `json:"webhooks"`
}

type webhookAttemptResponse struct {
	At         string  `json:"at"`
	DurationMs int64   `json:"durationMs"`
	StatusCode *int    `json:"statusCode"`
	Error      *string `json:"error"`
}

type webhookDeliveryResponse struct {
	ID uint64 `json:"id"`
	// MessageID is the webhook-id header of every attempt.
	MessageID     string                   `json:"messageId"`
	Type          string                   `json:"type"`
	Timestamp     string                   `json:"timestamp"`
	State         string                   `json:"state"`
	Attempts      []webhookAttemptResponse `json:"attempts"`
	NextAttemptAt *string                  `json:"nextAttemptAt"`
	FinishedAt    *string                  `json:"finishedAt"`
}

func newWebhookDeliveryResponse(d db.WebhookDelivery) webhookDeliveryResponse {
	out := webhookDeliveryResponse{
		ID: d.ID, MessageID: d.MessageID, Type: d.Event, Timestamp: db.FormatTime(d.Timestamp), State: d.State,
		Attempts: make([]webhookAttemptResponse, len(d.Attempts)), FinishedAt: nullableTime(d.FinishedAt),
	}
	if d.State == db.WebhookPending {
		out.NextAttemptAt = nullableTime(&d.NextAttemptAt)
	}
	for i, a := range d.Attempts {
		ar := webhookAttemptResponse{At: db.FormatTime(a.At), DurationMs: a.Duration.Milliseconds(), Error: nullable(a.Error)}
		if a.StatusCode != 0 {
			code := a.StatusCode
			ar.StatusCode = &code
		}
		out.Attempts[i] = ar
	}
	return out
}

type listWebhookDeliveriesResponse struct {
	Deliveries []webhookDeliveryResponse `json:"deliveries"`
	Limit      int                       `json:"limit"`
}

func (s *Server) handleListWebhooks(w http.ResponseWriter, r *http.Request, _ httprouter.Params, _ db.Actor) {
	hooks, err := s.store.Webhooks()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]webhookResponse, len(hooks))
	for i, h := range hooks {
		out[i] = newWebhookResponse(h)
	}
	writeJSON(w, http.StatusOK, listWebhooksResponse{Webhooks: out})
}

func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request, _ httprouter.Params, actor db.Actor) {
	var req createWebhookRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	hook, err := s.store.CreateWebhook(actor, db.NewWebhook{URL: req.URL, Events: req.Events, Description: req.Description})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/admin/webhooks/"+strconv.FormatUint(hook.ID, 10))
	writeJSON(w, http.StatusCreated, newWebhookResponse(hook))
}

func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	id, err := parseID(ps, "webhook")
	if err == nil {
		err = s.store.DeleteWebhook(actor, id)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) handleListWebhookDeliveries(w http.ResponseWriter, r *http.Request, ps httprouter.Params, _ db.Actor) {
	id, err := parseID(ps, "webhook")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := 50
	err = queryParams(r, []string{"limit"})
	if v := r.URL.Query().Get("limit"); err == nil && v != "" {
		limit, err = wholeNumber("limit", v, 1, db.MaxWebhookDeliveries)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.store.WebhookDeliveries(id, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]webhookDeliveryResponse, len(list))
	for i, d := range list {
		out[i] = newWebhookDeliveryResponse(d)
	}
	writeJSON(w, http.StatusOK, listWebhookDeliveriesResponse{Deliveries: out, Limit: limit})
}

// webhookBody is a delivery's JSON body: the event type, when the change
// happened, and the user or invitation in the API's shape.
type webhookBody struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      any    `json:"data"`
}

// WebhookBody returns the renderer of delivery bodies for the webhook
// worker: the same bytes for the same delivery on every attempt.
// Invitations carry no token nor link (the store keeps only its hash).
func WebhookBody(baseURL string) func(db.WebhookDelivery) ([]byte, error) {
	return func(d db.WebhookDelivery) ([]byte, error) {
		body := webhookBody{Type: d.Event, Timestamp: db.FormatTime(d.Timestamp)}
		switch {
		case d.User != nil:
			body.Data = newUserResponse(*d.User)
		case d.Invitation != nil:
			body.Data = newInvitationResponse(baseURL, *d.Invitation)
		default:
			body.Data = map[string]any{}
		}
		return json.Marshal(body)
	}
}
