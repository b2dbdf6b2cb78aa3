package server

// Strict reading of request input: JSON bodies checked against the Go
// type they fill, and query parameters checked against the list of those
// a route takes. encoding/json alone is lenient in ways an API must not
// be: it matches names without regard to case, lets null stand for any
// value, takes the last of two equal keys, and names a bad field inside a
// list without its index. Every problem is a 400 whose details name the
// JSON path (labels[0].key) or the query parameter.

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"invited/db"
)

var (
	rawMessageType      = reflect.TypeFor[json.RawMessage]()
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// checkJSONValue reads one JSON value from dec and checks it against t:
// an object only where t is a struct (or map), with every key a json
// name of t spelt exactly and given once; a list only where t is a slice;
// strings, booleans and numbers only where t holds one; null only where
// t can hold "nothing" (a pointer, slice, map or raw JSON). path is the
// value's JSON path, "" for the whole body. A raw JSON field
// (json.RawMessage) is skipped here: its handler reads it and names the
// field itself.
func checkJSONValue(dec *json.Decoder, t reflect.Type, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return jsonError(err)
	}
	return checkJSONToken(dec, tok, t, path)
}

func checkJSONToken(dec *json.Decoder, tok json.Token, t reflect.Type, path string) error {
	if t == rawMessageType || t.Kind() == reflect.Interface ||
		t.Implements(jsonUnmarshalerType) || reflect.PointerTo(t).Implements(jsonUnmarshalerType) {
		return skipJSONValue(dec, tok)
	}
	if tok == nil {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			return nil
		}
		return wrongJSONType(path, t, "null")
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch v := tok.(type) {
	case json.Delim:
		if v == '[' {
			if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
				return wrongJSONType(path, t, "a list")
			}
			for i := 0; dec.More(); i++ {
				if err := checkJSONValue(dec, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			_, err := dec.Token() // ]
			return jsonErrorOrNil(err)
		}
		switch t.Kind() {
		case reflect.Struct:
			return checkJSONObject(dec, jsonFields(t), nil, path)
		case reflect.Map:
			return checkJSONObject(dec, nil, t.Elem(), path)
		}
		return wrongJSONType(path, t, "an object")
	case string:
		isBytes := t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 // base64, as encoding/json reads it
		if t.Kind() != reflect.String && !isBytes && !reflect.PointerTo(t).Implements(textUnmarshalerType) {
			return wrongJSONType(path, t, "a string")
		}
	case bool:
		if t.Kind() != reflect.Bool {
			return wrongJSONType(path, t, fmt.Sprintf("%t", v))
		}
	case json.Number:
		return checkJSONNumber(t, v, path)
	}
	return nil
}

// checkJSONObject checks the members of an object whose '{' was read:
// against fields (a struct's json names) or, when fields is nil, as a
// map whose values are elem.
func checkJSONObject(dec *json.Decoder, fields map[string]reflect.Type, elem reflect.Type, path string) error {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return jsonError(err)
		}
		key, _ := tok.(string)
		child := shortKey(key)
		if path != "" {
			child = path + "." + child
		}
		ft := elem
		if fields != nil {
			var ok bool
			if ft, ok = fields[key]; !ok {
				return db.FieldErrorf(child, "is not a field of this request; remove it (names are case-sensitive)")
			}
		}
		// Two equal keys would leave it to the parser which one counts.
		if seen[key] {
			return db.FieldErrorf(child, "is given twice; give it once")
		}
		seen[key] = true
		if err := checkJSONValue(dec, ft, child); err != nil {
			return err
		}
	}
	_, err := dec.Token() // }
	return jsonErrorOrNil(err)
}

// shortKey is a key of the request as an answer may echo it: a stranger
// of any length is cut short, so the answer stays small.
func shortKey(key string) string {
	const max = 64
	if len(key) <= max {
		return key
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(key[cut]) {
		cut--
	}
	return key[:cut] + "…"
}

// checkJSONNumber accepts a number where t is a number kind that holds it:
// whole and in range for integers.
func checkJSONNumber(t reflect.Type, n json.Number, path string) error {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(n.String(), 10, 64)
		if errors.Is(err, strconv.ErrRange) || err == nil && reflect.Zero(t).OverflowInt(i) {
			return db.FieldErrorf(path, "is too large a number")
		} else if err != nil {
			return wrongJSONType(path, t, numberText(n))
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(n.String(), 10, 64)
		if errors.Is(err, strconv.ErrRange) || err == nil && reflect.Zero(t).OverflowUint(u) {
			return db.FieldErrorf(path, "is too large a number")
		} else if err != nil {
			return wrongJSONType(path, t, numberText(n))
		}
	case reflect.Float32, reflect.Float64:
		if _, err := strconv.ParseFloat(n.String(), 64); err != nil {
			return db.FieldErrorf(path, "is too large a number")
		}
	default:
		return wrongJSONType(path, t, "a number")
	}
	return nil
}

// numberText shows a number of the request in an answer, unless it is too
// long to be worth echoing.
func numberText(n json.Number) string {
	if len(n) > 24 {
		return "a number that is not whole"
	}
	return string(n)
}

// jsonFields maps the json names of struct type t to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			// An embedded struct's fields are the outer struct's, as
			// encoding/json reads them.
			for k, v := range jsonFields(f.Type) {
				if _, ok := fields[k]; !ok {
					fields[k] = v
				}
			}
			continue
		}
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

// skipJSONValue reads the rest of a value whose first token is tok.
func skipJSONValue(dec *json.Decoder, tok json.Token) error {
	if d, ok := tok.(json.Delim); !ok || (d != '{' && d != '[') {
		return nil
	}
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return jsonError(err)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// wrongJSONType says what the value at path must be instead of got.
func wrongJSONType(path string, t reflect.Type, got string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if path == "" {
		return db.Errorf(db.EINVALID, "The request body must be a JSON object, not %s.", got)
	}
	return db.FieldErrorf(path, "must be %s, not %s", jsonTypeName(t.Kind().String()), got)
}

func jsonErrorOrNil(err error) error {
	if err != nil {
		return jsonError(err)
	}
	return nil
}

// queryParams checks the query string of r: only the parameters named in
// allowed, each at most once, and none empty except those in mayBeEmpty.
// A parameter that is misspelt or given twice would otherwise be ignored
// without a word, and the caller would read a list it did not ask for.
func queryParams(r *http.Request, allowed []string, mayBeEmpty ...string) error {
	q, err := urlQuery(r)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		shown := redactPath(name)
		switch values := q[name]; {
		case !slices.Contains(allowed, name):
			if len(allowed) == 0 {
				return db.FieldErrorf(shown, "is not a parameter of this request; remove it")
			}
			return db.FieldErrorf(shown, "is not a parameter of this request; use %s (names are case-sensitive)", strings.Join(allowed, ", "))
		case len(values) > 1:
			return db.FieldErrorf(name, "is given %d times; give it once", len(values))
		case values[0] == "" && !slices.Contains(mayBeEmpty, name):
			return db.FieldErrorf(name, "is empty; give a value or leave the parameter out")
		}
	}
	return nil
}

// urlQuery parses the query string, refusing one that does not parse
// rather than dropping the parts it cannot read as net/url does.
func urlQuery(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, db.Errorf(db.EINVALID, "The query string could not be read: a %%-escape is broken, or ';' separates parameters (use '&').")
	}
	return q, nil
}

// wholeNumber reads a query parameter's value: decimal digits only (no
// sign, no spaces), at least min and, when max >= min, at most max.
func wholeNumber(name, v string, min, max int) (int, error) {
	n, err := strconv.Atoi(v)
	if err == nil && v[0] >= '0' && v[0] <= '9' && n >= min && (max < min || n <= max) {
		return n, nil
	}
	if max < min {
		return 0, db.FieldErrorf(name, "must be a whole number, %d or more", min)
	}
	return 0, db.FieldErrorf(name, "must be a whole number from %d to %d", min, max)
}

// decodeEmpty reads the body of a route that takes no fields: none at all,
// or an empty JSON object. Anything else is refused, naming the first
// field, so that a caller who believes it sends options learns that they
// are not read.
func decodeEmpty(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength == 0 {
		return nil
	}
	body, err := readBody(w, r)
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return err
	}
	if err := jsonContentType(r); err != nil {
		return err
	}
	return decodeJSON(body, &struct{}{})
}
