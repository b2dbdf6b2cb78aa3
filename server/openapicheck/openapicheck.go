// Package openapicheck checks the server's answers against its OpenAPI
// document (server/openapi.json), so that tests catch the document and
// the code drifting apart. It is meant for tests only: nothing the invited
// binary links imports it, so kin-openapi stays out of the product.
//
// Use it with the document the server embeds:
//
//	spec := openapicheck.MustLoad(server.OpenAPIDocument())
//	if err := spec.Validate(req, status, header, body); err != nil { … }
package openapicheck

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

func init() {
	// kin-openapi decodes a body by its media type before checking it
	// against the schema; the pages, their stylesheet and script are text.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/css", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/javascript", openapi3filter.PlainBodyDecoder)
}

// methods are those a route may be registered for.
var methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// Checker validates answers against one loaded and validated document.
// It is safe for concurrent use.
type Checker struct {
	doc   *openapi3.T
	paths []pathTemplate
}

// pathTemplate is one path of the document, split into segments; a
// segment "{name}" matches any one non-empty segment.
type pathTemplate struct {
	path     string
	segments []string
	literals int
}

// Load parses and validates an OpenAPI 3 document and prepares it for
// checking answers. Requests are matched by path alone, whatever host they
// went to, and as strictly as the server's router matches them: a
// parameter is one whole non-empty segment and a trailing slash matters.
// (kin-openapi's own routers are laxer: they match /tokens/ to /tokens
// and PUT /tokens to PUT /tokens/{token}.)
func Load(document []byte) (*Checker, error) {
	ctx := context.Background()
	doc, err := openapi3.NewLoader().LoadFromData(document)
	if err != nil {
		return nil, fmt.Errorf("openapicheck: load the document: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("openapicheck: the document is not valid OpenAPI: %w", err)
	}
	c := &Checker{doc: doc}
	for _, path := range doc.Paths.InMatchingOrder() {
		t := pathTemplate{path: path, segments: strings.Split(path, "/")}
		for _, seg := range t.segments {
			if !isParam(seg) {
				t.literals++
			}
		}
		c.paths = append(c.paths, t)
	}
	return c, nil
}

func isParam(seg string) bool {
	return len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}'
}

// match finds the path template of a URL path, with its parameters. Where
// several match, the one with the most literal segments wins, as static
// segments win in the server's router.
func (c *Checker) match(urlPath string) (string, map[string]string, bool) {
	segs := strings.Split(urlPath, "/")
	best, bestLiterals := -1, -1
	for i, t := range c.paths {
		if len(t.segments) != len(segs) || t.literals <= bestLiterals {
			continue
		}
		ok := true
		for j, seg := range t.segments {
			if isParam(seg) {
				ok = segs[j] != ""
			} else {
				ok = segs[j] == seg
			}
			if !ok {
				break
			}
		}
		if ok {
			best, bestLiterals = i, t.literals
		}
	}
	if best < 0 {
		return "", nil, false
	}
	t := c.paths[best]
	params := map[string]string{}
	for j, seg := range t.segments {
		if isParam(seg) {
			params[seg[1:len(seg)-1]] = segs[j]
		}
	}
	return t.path, params, true
}

// findRoute finds the operation of a request, or reports false.
func (c *Checker) findRoute(req *http.Request) (*routers.Route, map[string]string, bool) {
	path, params, ok := c.match(req.URL.Path)
	if !ok {
		return nil, nil, false
	}
	item := c.doc.Paths.Value(path)
	op := item.GetOperation(req.Method)
	if op == nil {
		return nil, nil, false
	}
	return &routers.Route{Spec: c.doc, Path: path, PathItem: item, Method: req.Method, Operation: op}, params, true
}

// MustLoad is Load that panics on error, for package-level variables.
func MustLoad(document []byte) *Checker {
	c, err := Load(document)
	if err != nil {
		panic(err)
	}
	return c
}

// Document is the loaded document. Do not change it.
func (c *Checker) Document() *openapi3.T { return c.doc }

// Operations lists every operation of the document as "METHOD /path",
// with path templates as the document writes them ("/v1/userInvitations/{id}").
func (c *Checker) Operations() []string {
	var out []string
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// Operation names the operation a request matches, as "METHOD /path"
// with the document's path template, or reports false when none does.
func (c *Checker) Operation(req *http.Request) (string, bool) {
	route, _, ok := c.findRoute(req)
	if !ok {
		return "", false
	}
	return route.Method + " " + route.Path, true
}

// Validate checks one answer: req is the request that got it (only its
// method and URL are used; the request itself is not validated, so tests
// may send bad requests on purpose), status, header and body are what
// came back. The status must be documented for the operation; documented
// headers must be present and well formed; the body must have a
// documented content type and match its schema (response objects have
// additionalProperties false, so an undocumented field is an error too);
// an answer documented without content must have no body.
//
// A request that matches no operation must have got the API's 404
// NotFoundError, or, when the path has other methods, its 405
// MethodNotAllowed with an Allow header (or, for OPTIONS, an empty 2xx).
// HEAD answers are not checked.
func (c *Checker) Validate(req *http.Request, status int, header http.Header, body []byte) error {
	if req.Method == http.MethodHead {
		return nil
	}
	if header == nil {
		header = http.Header{}
	}
	where := fmt.Sprintf("%s %s → %d", req.Method, req.URL.Path, status)
	route, params, ok := c.findRoute(req)
	if !ok {
		if err := c.unrouted(req, status, header, body); err != nil {
			return fmt.Errorf("%s: %w%s", where, err, excerpt(body))
		}
		return nil
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
		},
		Status: status,
		Header: header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	input.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(ctx(req), input); err != nil {
		return fmt.Errorf("%s (operation %s %s): %w%s", where, route.Method, route.Path, err, excerpt(body))
	}
	if ref := route.Operation.Responses.Status(status); ref != nil && ref.Value != nil &&
		len(ref.Value.Content) == 0 && len(body) > 0 && (status < 300 || status > 399) {
		return fmt.Errorf("%s (operation %s %s): the document says this answer has no body, but it has %d bytes%s",
			where, route.Method, route.Path, len(body), excerpt(body))
	}
	return nil
}

// unrouted checks the answer to a request that matches no operation.
func (c *Checker) unrouted(req *http.Request, status int, header http.Header, body []byte) error {
	var allowed []string
	if path, _, ok := c.match(req.URL.Path); ok {
		item := c.doc.Paths.Value(path)
		for _, m := range methods {
			if item.GetOperation(m) != nil {
				allowed = append(allowed, m)
			}
		}
	}
	if req.Method == http.MethodOptions && len(allowed) > 0 {
		if status < 200 || status > 299 || len(body) > 0 {
			return fmt.Errorf("OPTIONS on a documented path must get an empty 2xx, not %d with %d bytes", status, len(body))
		}
		return nil
	}
	want, name := http.StatusNotFound, "NotFoundError"
	if len(allowed) > 0 {
		want, name = http.StatusMethodNotAllowed, "MethodNotAllowedError"
		allow := header.Get("Allow")
		for _, m := range allowed {
			if !slices.Contains(strings.Split(strings.ReplaceAll(allow, " ", ""), ","), m) {
				return fmt.Errorf("the Allow header %q does not list %s, which the document has for this path", allow, m)
			}
		}
	}
	if status != want {
		if len(allowed) > 0 {
			return fmt.Errorf("the document has no %s for this path (only %s), so the answer must be 405, not %d",
				req.Method, strings.Join(allowed, ", "), status)
		}
		return fmt.Errorf("the document has no such path, so the answer must be 404, not %d", status)
	}
	ref := c.doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("the document has no components/schemas/%s", name)
	}
	if mt := strings.TrimSpace(strings.SplitN(header.Get("Content-Type"), ";", 2)[0]); mt != "application/json" {
		return fmt.Errorf("content type %q, want application/json", header.Get("Content-Type"))
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return fmt.Errorf("the body is not JSON: %w", err)
	}
	if err := ref.Value.VisitJSON(value, openapi3.MultiErrors(), openapi3.VisitAsResponse()); err != nil {
		return fmt.Errorf("the body does not match components/schemas/%s: %w", name, err)
	}
	return nil
}

func ctx(req *http.Request) context.Context {
	if c := req.Context(); c != nil {
		return c
	}
	return context.Background()
}

// excerpt shows the start of a body in an error message.
func excerpt(body []byte) string {
	const max = 400
	if len(body) == 0 {
		return ""
	}
	s := string(body)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return "\nbody: " + s
}
