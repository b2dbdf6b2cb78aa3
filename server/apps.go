package server

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"invited/db"
)

// Apps (DESIGN §9): the sites the team enters through invited, and who
// may enter each. Admins only.

type createAppRequest struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	URL          string   `json:"url"`
	Kind         string   `json:"kind"`
	Groups       []string `json:"groups"`
	Domains      []string `json:"domains"`
	RedirectURIs []string `json:"redirectUris"`
	Public       bool     `json:"public"`
}

// updateAppRequest has public only to refuse it with a clear message:
// a client does not turn public or confidential (AppUpdate).
type updateAppRequest struct {
	Name         *string   `json:"name"`
	URL          *string   `json:"url"`
	Groups       *[]string `json:"groups"`
	Domains      *[]string `json:"domains"`
	RedirectURIs *[]string `json:"redirectUris"`
	Public       *bool     `json:"public"`
}

// appWithSecretResponse is an oidc app with its new client secret, the
// one time it is shown: the answer of a create (confidential apps) and of
// a secret rotation.
type appWithSecretResponse struct {
	appResponse
	ClientSecret string `json:"clientSecret,omitempty"`
}

type listAppsResponse struct {
	Apps []appResponse `json:"apps"`
}

func (s *Server) handleListApps(w http.ResponseWriter, r *http.Request, _ httprouter.Params, _ db.Actor) {
	apps, err := s.store.ListApps()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	answers := make([]appResponse, len(apps))
	for i, a := range apps {
		answers[i] = newAppResponse(a)
	}
	writeJSON(w, http.StatusOK, listAppsResponse{Apps: answers})
}

func (s *Server) handleCreateApp(w http.ResponseWriter, r *http.Request, _ httprouter.Params, actor db.Actor) {
	var req createAppRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	a, secret, err := s.store.CreateApp(actor, db.NewApp{ID: req.ID, Name: req.Name, URL: req.URL, Kind: req.Kind, Groups: req.Groups,
		Domains: req.Domains, RedirectURIs: req.RedirectURIs, Public: req.Public})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/admin/apps/"+a.ID)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, appWithSecretResponse{newAppResponse(a), secret})
}

// handleRotateAppSecret gives a confidential oidc app a new client secret
// and shows it, once; the old one stops working.
func (s *Server) handleRotateAppSecret(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	a, secret, err := s.store.RotateAppSecret(actor, ps.ByName("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, appWithSecretResponse{newAppResponse(a), secret})
}

func (s *Server) handleGetApp(w http.ResponseWriter, r *http.Request, ps httprouter.Params, _ db.Actor) {
	a, err := s.store.GetApp(ps.ByName("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newAppResponse(a))
}

func (s *Server) handleUpdateApp(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	var req updateAppRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Public != nil {
		s.writeError(w, r, &db.Error{Code: db.EINVALID,
			Message: "public cannot change: a public client and a confidential one are different clients to the app. Create a new app of the other sort instead.",
			Details: []db.FieldError{{Path: "public", Message: "cannot change"}}})
		return
	}
	a, err := s.store.UpdateApp(actor, ps.ByName("id"), db.AppUpdate{Name: req.Name, URL: req.URL, Groups: req.Groups, Domains: req.Domains,
		RedirectURIs: req.RedirectURIs})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newAppResponse(a))
}

func (s *Server) handleDeleteApp(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	if err := s.store.DeleteApp(actor, ps.ByName("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
