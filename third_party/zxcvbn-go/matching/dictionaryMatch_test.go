package matching

import (
	"strings"
	"testing"

	"github.com/ccojocar/zxcvbn-go/frequency"
)

// TestRankedDictAgreesWithMap (invited's patch): the pointer-free
// dictionary answers every word of every list, and words that are not in
// them, exactly as upstream's map[string]int did.
func TestRankedDictAgreesWithMap(t *testing.T) {
	frequency.Load()
	lists := map[string][]string{"dups": {"Abc", "abc", "x", "ABC", "", "é", "É"}}
	for name, l := range frequency.Lists {
		lists[name] = l.List
	}
	if len(lists) < 6 {
		t.Fatalf("only %d lists loaded", len(lists))
	}
	for name, list := range lists {
		want := make(map[string]int)
		for i, v := range list {
			want[strings.ToLower(v)] = i + 1
		}
		d := buildRankedDict(list)
		for w, r := range want {
			if got, ok := d.rank([]byte(w)); !ok || got != r {
				t.Fatalf("%s: %q: rank %d, %v; the map says %d", name, w, got, ok, r)
			}
		}
		for _, w := range []string{"zzqxj", "correct horse", "\xff", "passwordpassword1"} {
			r, inMap := want[w]
			if got, ok := d.rank([]byte(w)); ok != inMap || got != r {
				t.Errorf("%s: %q: rank %d, %v; the map says %d, %v", name, w, got, ok, r, inMap)
			}
		}
	}
	if _, ok := buildRankedDict(nil).rank([]byte("a")); ok {
		t.Error("an empty dictionary found a word")
	}
}
