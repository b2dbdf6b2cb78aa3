package server

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"invited/db"
)

// MaxBodyBytes caps every request body.
const MaxBodyBytes = 1 << 20

// errorKind is how one db error code is answered.
type errorKind struct {
	status int
	name   string
}

// errorKinds maps each domain error code to its HTTP status and the
// error-kind name of the Unleash error body.
var errorKinds = map[db.Code]errorKind{
	db.EINVALID:      {http.StatusBadRequest, "ValidationError"},
	db.EGONE:         {http.StatusBadRequest, "ValidationError"},
	db.EUNAUTHORIZED: {http.StatusUnauthorized, "AuthenticationRequired"},
	db.EFORBIDDEN:    {http.StatusForbidden, "NoAccessError"},
	db.ENOTFOUND:     {http.StatusNotFound, "NotFoundError"},
	db.ECONFLICT:     {http.StatusConflict, "NameExistsError"},
	db.ETOOMANY:      {http.StatusTooManyRequests, "TooManyRequests"},
	db.EUNAVAILABLE:  {http.StatusServiceUnavailable, "ServiceUnavailable"},
	db.EINTERNAL:     {http.StatusInternalServerError, "InternalError"},
}

// statusError is an error that carries its own status, for the few answers
// that are about HTTP itself rather than the domain (413, 415-like cases).
type statusError struct {
	status int
	name   string
	msg    string
}

func (e *statusError) Error() string { return e.msg }

var errTooLarge = &statusError{http.StatusRequestEntityTooLarge, "PayloadTooLarge",
	fmt.Sprintf("The request body is larger than %d bytes; send a smaller one.", MaxBodyBytes)}

// errorBody is the Unleash error shape used by every endpoint but DoiT's.
type errorBody struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Message string `json:"message"`
}

// validationErrorBody adds the list of bad fields, present (maybe empty)
// on every ValidationError.
type validationErrorBody struct {
	errorBody
	Details []fieldErrorBody `json:"details"`
}

// fieldErrorBody is one bad field of a ValidationError.
type fieldErrorBody struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// describe turns any error into its status, kind name, message and details,
// never revealing an internal error's text.
func describe(err error) (int, string, string, []db.FieldError) {
	var se *statusError
	if errors.As(err, &se) {
		return se.status, se.name, se.msg, nil
	}
	code := db.ErrorCode(err)
	kind, ok := errorKinds[code]
	if !ok {
		kind = errorKinds[db.EINTERNAL]
	}
	var details []db.FieldError
	var de *db.Error
	if errors.As(err, &de) && code == db.EINVALID {
		// Messages may quote what the client sent (a field name, a
		// domain); quoting is capped so an answer or a log line never
		// grows with the request.
		details = make([]db.FieldError, len(de.Details))
		for i, d := range de.Details {
			details[i] = db.FieldError{Path: clip(d.Path, maxQuotedBytes), Message: clip(d.Message, maxMessageBytes)}
		}
	}
	return kind.status, kind.name, clip(db.ErrorMessage(err), maxMessageBytes), details
}

// maxMessageBytes and maxQuotedBytes bound an error message and a field
// path in an answer; real ones are far shorter.
const (
	maxMessageBytes = 1024
	maxQuotedBytes  = 200
)

// writeError answers with the Unleash error body. Internal errors are
// logged with the error id so an admin can find them.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, name, msg, details := describe(err)
	id := newUUID()
	s.logError(r, err, status, id)
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		if w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", "1")
		}
	}
	body := errorBody{ID: id, Name: name, Message: msg}
	if name != "ValidationError" {
		writeJSON(w, status, body)
		return
	}
	bad := make([]fieldErrorBody, len(details))
	for i, d := range details {
		bad[i] = fieldErrorBody{Path: d.Path, Message: d.Message}
	}
	writeJSON(w, status, validationErrorBody{body, bad})
}

func (s *Server) logError(r *http.Request, err error, status int, id string) {
	if status >= 500 && status != http.StatusServiceUnavailable {
		s.log.ErrorContext(r.Context(), "request failed", "error", err, "error_id", id, "request_id", requestID(r))
	} else {
		s.log.DebugContext(r.Context(), "request refused", "status", status, "reason", clip(db.ErrorMessage(err), maxMessageBytes), "error_id", id)
	}
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		slog.Error("encode response", "error", err)
		http.Error(w, `{"name":"InternalError","message":"could not encode the answer"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// readBody reads the whole body, refusing more than MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, errTooLarge
	} else if err != nil {
		return nil, db.Errorf(db.EINVALID, "The request body could not be read: %v.", err)
	}
	return body, nil
}

// decode reads a JSON object into v strictly: the content type must be
// JSON, the text valid UTF-8, every field known and of the right type, and
// nothing may follow the object. Errors name the field and say what to fix.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if err := jsonContentType(r); err != nil {
		return err
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	return decodeJSON(body, v)
}

// jsonContentType refuses a body that is not sent as JSON.
func jsonContentType(r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return &db.Error{Code: db.EINVALID,
			Message: "The request body must be JSON: send it with the header Content-Type: application/json.",
			Details: []db.FieldError{{Path: "Content-Type", Message: "must be application/json"}}}
	}
	return nil
}

func decodeJSON(body []byte, v any) error {
	if !utf8.Valid(body) {
		return db.Errorf(db.EINVALID, "The request body is not valid UTF-8 text.")
	}
	// Broken JSON is said first, as such.
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return db.Errorf(db.EINVALID, "The request body must hold one JSON object and nothing after it.")
	}
	// encoding/json is lenient (names in any case, null for anything,
	// repeated keys), so the body is then checked against v's type by
	// checkJSONValue, which names the JSON path of the first problem.
	dec = json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := checkJSONValue(dec, reflect.TypeOf(v).Elem(), ""); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return jsonError(err)
	}
	return nil
}

// jsonError explains a decoding error in terms of the request.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return db.Errorf(db.EINVALID, "The request body is empty: send a JSON object.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return db.Errorf(db.EINVALID, "The request body is cut off: it is not complete JSON.")
	case errors.As(err, &syntax):
		return db.Errorf(db.EINVALID, "The request body is not valid JSON (%s at byte %d).", syntax.Error(), syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return db.Errorf(db.EINVALID, "The request body must be a JSON object, not %s.", article(typ.Value))
		}
		return db.FieldErrorf(typ.Field, "must be %s, not %s", jsonTypeName(typ.Type.Kind().String()), article(typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return db.FieldErrorf(field, "is not a field of this request; remove it (names are case-sensitive)")
	}
	return db.Errorf(db.EINVALID, "The request body could not be read as JSON: %v.", err)
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int64", "int32", "uint64", "uint32", "uint8":
		return "a whole number"
	case "float64":
		return "a number"
	case "slice", "array":
		return "a list"
	case "map", "struct", "ptr":
		return "an object"
	}
	return "of another type"
}

func article(jsonValue string) string {
	switch jsonValue {
	case "object", "array":
		return "an " + jsonValue
	case "number", "string", "bool":
		return "a " + jsonValue
	}
	return jsonValue
}
