package server

// Strict reading of request input: JSON bodies are read by decodeJSON
// (http.go) through github.com/go-json-experiment/json with exact names,
// unknown and repeated names refused and null only where a field may hold
// nothing; query parameters are checked here against the list of those a
// route takes. Every problem is a 400 whose details name the JSON path
// (labels[0].key) or the query parameter.

import (
	"bytes"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"invited/db"
)

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

// numberText shows a number of the request in an answer, unless it is too
// long to be worth echoing.
func numberText(n string) string {
	if len(n) > 24 {
		return "a number that is not whole"
	}
	return n
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
