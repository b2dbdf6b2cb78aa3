package server

import (
	"net/http"

	"github.com/julienschmidt/httprouter"

	"invited/db"
)

// Groups (DESIGN §8): who may enter what. Admins only.

type createGroupRequest struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

type updateGroupRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

type listGroupsResponse struct {
	Groups []groupResponse `json:"groups"`
}

func (s *Server) handleListGroups(w http.ResponseWriter, r *http.Request, _ httprouter.Params, _ db.Actor) {
	groups, err := s.store.ListGroups()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	answers := make([]groupResponse, len(groups))
	for i, g := range groups {
		answers[i] = newGroupResponse(g)
	}
	writeJSON(w, http.StatusOK, listGroupsResponse{Groups: answers})
}

func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request, _ httprouter.Params, actor db.Actor) {
	var req createGroupRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	g, err := s.store.CreateGroup(actor, db.NewGroup{ID: req.ID, Name: req.Name, Description: req.Description})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/admin/groups/"+g.ID)
	writeJSON(w, http.StatusCreated, newGroupResponse(g))
}

func (s *Server) handleGetGroup(w http.ResponseWriter, r *http.Request, ps httprouter.Params, _ db.Actor) {
	g, err := s.store.GetGroup(ps.ByName("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newGroupResponse(g))
}

func (s *Server) handleUpdateGroup(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	var req updateGroupRequest
	if err := decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	g, err := s.store.UpdateGroup(actor, ps.ByName("id"), db.GroupUpdate{Name: req.Name, Description: req.Description})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newGroupResponse(g))
}

func (s *Server) handleDeleteGroup(w http.ResponseWriter, r *http.Request, ps httprouter.Params, actor db.Actor) {
	if err := s.store.DeleteGroup(actor, ps.ByName("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
