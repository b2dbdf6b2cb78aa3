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

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

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

// jsonOptions is how every request body is read: names spelt exactly
// (encoding/json matches them in any case), unknown names refused, null
// only where the field may hold "nothing" (refuseNull), and, by jsontext's
// default, a name given twice refused as a syntax error. A body that is
// not UTF-8 is refused before it is parsed; AllowInvalidUTF8 then only
// keeps reading an escaped lone surrogate ("\ud800") as U+FFFD, as this
// API always has.
var jsonOptions = jsonv2.JoinOptions(
	jsonv2.MatchCaseInsensitiveNames(false),
	jsonv2.RejectUnknownMembers(true),
	jsonv2.WithUnmarshalers(jsonv2.UnmarshalFromFunc(refuseNull)),
	jsontext.AllowInvalidUTF8(true),
)

// nullError is a null where a value of type t is required.
type nullError struct{ t reflect.Type }

func (e *nullError) Error() string { return "null where " + e.t.String() + " is required" }

// refuseNull refuses a JSON null for a value that cannot hold "nothing":
// the JSON library would store the zero value ("", false, 0), so that a
// client who sends null would not learn that the field needs a value.
// Pointers, lists, maps and raw JSON (json.RawMessage, read by its handler)
// take null as "not given".
func refuseNull(dec *jsontext.Decoder, v any) error {
	if dec.PeekKind() != 'n' {
		return jsonv2.SkipFunc
	}
	t := reflect.TypeOf(v).Elem()
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return jsonv2.SkipFunc
	}
	return &nullError{t}
}

// decodeJSON reads body, one JSON object and nothing after it, into v.
func decodeJSON(body []byte, v any) error {
	if !utf8.Valid(body) {
		return db.Errorf(db.EINVALID, "The request body is not valid UTF-8 text.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return db.Errorf(db.EINVALID, "The request body is empty: send a JSON object.")
	}
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsonOptions)
	if err := jsonv2.UnmarshalDecode(dec, v, jsonOptions); err != nil {
		// Broken JSON is said first, as such, even when the decoder met a
		// bad field before the break: a body that is refused anyway is
		// scanned once more, for syntax only.
		if err := checkJSONSyntax(body, reflect.TypeOf(v)); err != nil {
			return err
		}
		return jsonError(err, reflect.TypeOf(v))
	}
	return checkNothingAfter(dec)
}

// checkJSONSyntax reports the first syntax error of body, or anything
// after its one JSON value, naming the field of a name given twice.
func checkJSONSyntax(body []byte, t reflect.Type) error {
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsonOptions)
	if err := dec.SkipValue(); err != nil {
		return jsonError(err, t)
	}
	return checkNothingAfter(dec)
}

// checkNothingAfter refuses anything after the body's one JSON value.
func checkNothingAfter(dec *jsontext.Decoder) error {
	if _, err := dec.ReadToken(); err != io.EOF {
		return db.Errorf(db.EINVALID, "The request body must hold one JSON object and nothing after it.")
	}
	return nil
}

// jsonError explains a decoding error of a body read into a value of type
// t, naming the JSON path of the value at fault in the style of the
// answers' details (labels[1].key).
func jsonError(err error, t reflect.Type) error {
	var syntax *jsontext.SyntacticError
	var semantic *jsonv2.SemanticError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return db.Errorf(db.EINVALID, "The request body is cut off: it is not complete JSON.")
	case errors.As(err, &syntax) && errors.Is(syntax.Err, jsontext.ErrDuplicateName):
		return db.FieldErrorf(jsonPath(syntax.JSONPointer, t), "is given twice; give it once")
	case errors.As(err, &syntax):
		return db.Errorf(db.EINVALID, "The request body is not valid JSON (%s at byte %d).", jsonSyntaxReason(syntax), syntax.ByteOffset)
	case !errors.As(err, &semantic):
		return db.Errorf(db.EINVALID, "The request body could not be read as JSON.")
	}
	ptr := semantic.JSONPointer
	if errors.Is(semantic.Err, jsonv2.ErrUnknownName) {
		field := shortKey(ptr.LastToken())
		if parent := jsonPath(ptr.Parent(), t); parent != "" {
			field = parent + "." + field
		}
		return db.FieldErrorf(field, "is not a field of this request; remove it (names are case-sensitive)")
	}
	path := jsonPath(ptr, t)
	got, want := jsonKindName(semantic.JSONKind), semantic.GoType
	var null *nullError
	if errors.As(semantic.Err, &null) {
		got, want = "null", null.t
	}
	if path == "" {
		return db.Errorf(db.EINVALID, "The request body must be a JSON object, not %s.", got)
	}
	for want != nil && want.Kind() == reflect.Pointer {
		want = want.Elem()
	}
	if want == nil {
		return db.FieldErrorf(path, "has a value that cannot be read")
	}
	if semantic.JSONKind == '0' {
		// A number of the wrong kind: one that is not whole where a whole
		// number is needed, or one too large for the field.
		number := string(semantic.JSONValue)
		switch want.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if strings.ContainsAny(number, ".eE") || strings.HasPrefix(number, "-") && want.Kind() >= reflect.Uint {
				return db.FieldErrorf(path, "must be a whole number, not %s", numberText(number))
			}
			return db.FieldErrorf(path, "is too large a number")
		case reflect.Float32, reflect.Float64:
			return db.FieldErrorf(path, "is too large a number")
		}
	}
	return db.FieldErrorf(path, "must be %s, not %s", jsonTypeName(want.Kind().String()), got)
}

// jsonSyntaxReason is the syntax error's own words, without the library's
// prefix and position (the message gives the byte).
func jsonSyntaxReason(e *jsontext.SyntacticError) string {
	if e.Err == nil {
		return "a syntax error"
	}
	return e.Err.Error()
}

// jsonPath turns a JSON Pointer (/labels/1/key) into the path the answers'
// details use (labels[1].key), walking t to tell list indexes from names.
func jsonPath(ptr jsontext.Pointer, t reflect.Type) string {
	var b strings.Builder
	for tok := range ptr.Tokens() {
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			b.WriteString("[" + tok + "]")
			t = t.Elem()
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(shortKey(tok))
		switch {
		case t != nil && t.Kind() == reflect.Struct:
			t = jsonFields(t)[tok]
		case t != nil && t.Kind() == reflect.Map:
			t = t.Elem()
		default:
			t = nil
		}
	}
	return b.String()
}

// jsonKindName names a JSON value of kind k as a message says it.
func jsonKindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 't':
		return "true"
	case 'f':
		return "false"
	case '"':
		return "a string"
	case '0':
		return "a number"
	case '{':
		return "an object"
	case '[':
		return "a list"
	}
	return "another kind of value"
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
