package matching

import (
	"hash/maphash"
	"strings"
	"unicode/utf8"

	"github.com/ccojocar/zxcvbn-go/entropy"
	"github.com/ccojocar/zxcvbn-go/match"
)

func buildDictMatcher(dictName string, dict *rankedDict) func(password string) []match.Match {
	return func(password string) []match.Match {
		matches := dictionaryMatch(password, dictName, dict)
		for _, v := range matches {
			v.DictionaryName = dictName
		}
		return matches
	}
}

func dictionaryMatch(password string, dictionaryName string, dict *rankedDict) []match.Match {
	var results []match.Match
	pwLower := strings.ToLower(password)

	pwLowerRunes := []rune(pwLower)
	length := len(pwLowerRunes)

	// invited's patch: upstream converts every substring to a string to
	// look it up in a map[string]int; here each substring starting at i
	// grows by one rune in a reused buffer, which holds the same bytes
	// string(word) would.
	var word []byte
	for i := 0; i < length; i++ {
		word = word[:0]
		for j := i; j < length; j++ {
			word = utf8.AppendRune(word, pwLowerRunes[j])
			if val, ok := dict.rank(word); ok {
				matchDic := match.Match{
					Pattern:        "dictionary",
					DictionaryName: dictionaryName,
					I:              i,
					J:              j,
					Token:          string([]rune(password)[i : j+1]),
				}
				matchDic.Entropy = entropy.DictionaryEntropy(matchDic, float64(val))

				results = append(results, matchDic)
			}
		}
	}

	return results
}

// rankedDict maps each lower-cased word of a list to its rank, the
// position (from 1) of its last occurrence in the list, as upstream's
// map[string]int did.
//
// invited's patch: the words are kept in one string and the table in
// slices of integers, so the garbage collector has one pointer to follow
// per dictionary instead of one per word on every cycle (about 100,000
// words in all, marked again on every cycle of a server that allocates
// 19 MiB per password hash).
type rankedDict struct {
	words string   // every word, one after the other
	ends  []uint32 // word k is words[ends[k-1]:ends[k]] (from 0 for k = 0)
	ranks []int32  // rank of word k
	slots []uint32 // open addressing by hash: 0 is empty, else k+1
	seed  maphash.Seed
}

func buildRankedDict(unrankedList []string) *rankedDict {
	n := 1
	for n < 2*len(unrankedList)+1 {
		n *= 2
	}
	d := &rankedDict{slots: make([]uint32, n), seed: maphash.MakeSeed()}
	var words strings.Builder
	for i, v := range unrankedList {
		w := strings.ToLower(v)
		slot, k := d.find(words.String(), []byte(w))
		if k >= 0 {
			d.ranks[k] = int32(i + 1) // a later duplicate wins, as in a map
			continue
		}
		words.WriteString(w)
		d.ends = append(d.ends, uint32(words.Len()))
		d.ranks = append(d.ranks, int32(i+1))
		d.slots[slot] = uint32(len(d.ends))
	}
	d.words = strings.Clone(words.String())
	return d
}

// find returns the slot of word and its index k, or the empty slot where
// it belongs and k = -1. words is the text of the words added so far.
func (d *rankedDict) find(words string, word []byte) (slot int, k int) {
	mask := len(d.slots) - 1
	slot = int(maphash.Bytes(d.seed, word)) & mask
	for {
		e := d.slots[slot]
		if e == 0 {
			return slot, -1
		}
		k := int(e - 1)
		start := uint32(0)
		if k > 0 {
			start = d.ends[k-1]
		}
		if words[start:d.ends[k]] == string(word) {
			return slot, k
		}
		slot = (slot + 1) & mask
	}
}

// rank returns the rank of word (lower case), if it is in the dictionary.
func (d *rankedDict) rank(word []byte) (int, bool) {
	if len(d.ends) == 0 {
		return 0, false
	}
	_, k := d.find(d.words, word)
	if k < 0 {
		return 0, false
	}
	return int(d.ranks[k]), true
}
