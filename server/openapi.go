package server

import (
	_ "embed"
	"net/http"
	"strconv"

	"github.com/julienschmidt/httprouter"
)

// openAPIDocument is the OpenAPI 3.0 document of every route: the JSON
// API and the HTML pages. openapi_test.go keeps it and routes() in step
// and checks the server's answers against it.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns a copy of the OpenAPI document.
func OpenAPIDocument() []byte {
	return append([]byte(nil), openAPIDocument...)
}

// handleOpenAPI serves the OpenAPI document (GET /docs/openapi.json).
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(openAPIDocument)))
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPIDocument)
}
