package server

import (
	"errors"
	"testing"

	"invited/db"
)

// TestDecodeJSONNamesThePath reads bodies straight into request types and
// checks the one detail each refusal gives: its JSON path in the answers'
// style (the decoder reports a JSON Pointer such as /labels/1/key), and
// that broken JSON is said as such even after a bad field.
func TestDecodeJSONNamesThePath(t *testing.T) {
	type inner struct {
		Key string `json:"key"`
	}
	type nested struct {
		Items  []inner          `json:"items"`
		Grid   [][]int          `json:"grid"`
		ByName map[string]inner `json:"byName"`
		Count  *int             `json:"count"`
	}
	cases := []struct {
		name, body, path, msg string
	}{
		{"list in a list", `{"grid": [[1], [2, "x"]]}`, "grid[1][1]", "must be a whole number, not a string"},
		{"unknown name in a list item", `{"items": [{"key": "a"}, {"key": "b", "kee": 1}]}`, "items[1].kee", "is not a field of this request; remove it (names are case-sensitive)"},
		{"map value", `{"byName": {"7": {"key": 7}}}`, "byName.7.key", "must be a string, not a number"},
		{"null in a list of objects", `{"items": [null]}`, "items[0]", "must be an object, not null"},
		{"name twice in a list item", `{"items": [{"key": "a", "key": "b"}]}`, "items[0].key", "is given twice; give it once"},
		{"too large", `{"count": 1e400}`, "count", "must be a whole number, not 1e400"},
		{"bad field, then broken JSON", `{"count": "x", `, "", "The request body is cut off: it is not complete JSON."},
		{"bad field, then more JSON", `{"kee": 1} {}`, "", "The request body must hold one JSON object and nothing after it."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v nested
			err := decodeJSON([]byte(tc.body), &v)
			var e *db.Error
			if !errors.As(err, &e) || e.Code != db.EINVALID {
				t.Fatalf("got %v, want a validation error", err)
			}
			if tc.path == "" {
				if len(e.Details) != 0 || e.Message != tc.msg {
					t.Fatalf("got %q %+v, want %q naming no field", e.Message, e.Details, tc.msg)
				}
				return
			}
			if len(e.Details) != 1 || e.Details[0].Path != tc.path || e.Details[0].Message != tc.msg {
				t.Fatalf("got %+v, want %s: %s", e.Details, tc.path, tc.msg)
			}
		})
	}
	var v nested
	if err := decodeJSON([]byte(`{"items": [{"key": "a"}], "grid": [[1, 2]], "byName": {"x": {"key": "y"}}, "count": null}`), &v); err != nil ||
		len(v.Items) != 1 || v.Items[0].Key != "a" || v.Grid[0][1] != 2 || v.ByName["x"].Key != "y" || v.Count != nil {
		t.Fatalf("good body: %+v, %v", v, err)
	}
}
