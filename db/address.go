package db

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// This file holds the script rules of NormalizeEmail: what makes an
// address a look-alike of another. They are deliberately simple (a subset
// of Unicode's UTS #39) and run after NFKC, which has already turned
// compatibility characters into the letters they stand for.

// firstInvisible returns the first character of s that shows nothing or
// changes how the text around it shows: controls, format characters (zero
// width joiner and spaces, bidi overrides, soft hyphen), other default
// ignorable code points (Hangul fillers, the combining grapheme joiner),
// variation selectors and every space but the plain one (which the mail
// parser refuses with its own message).
func firstInvisible(s string) (rune, bool) {
	for _, r := range s {
		if r == ' ' {
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Z, unicode.White_Space,
			unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector) {
			return r, true
		}
	}
	return 0, false
}

// isASCII reports whether s is plain ASCII text.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// localPartProblem returns "" when the local part of an address (already
// NFKC and checked by the mail parser) is fine, or the rest of a sentence
// that says what is wrong and what to do.
func localPartProblem(local string) string {
	if isASCII(local) {
		return ""
	}
	for _, r := range local {
		if r < utf8.RuneSelf {
			continue
		}
		// Letters of no script of their own (the modifier apostrophe
		// U+02BC) are punctuation in disguise.
		sc := scriptName(r)
		if !(unicode.IsLetter(r) || unicode.Is(unicode.Nd, r) || unicode.IsMark(r)) || sc == "Common" || (sc == "Inherited" && !unicode.IsMark(r)) {
			return fmt.Sprintf("holds %q (%U) before the @, a symbol or punctuation mark that can pass for another; use plain ASCII punctuation such as . - _ + instead", r, r)
		}
	}
	sets, ok := scriptsOf(local)
	if !ok || mixedScripts(sets) {
		return "mixes letters or digits of different scripts before the @ (such as a Cyrillic \"а\" among Latin letters), which is how look-alike addresses are made; type the address with letters of one script, most often the plain Latin letters a-z"
	}
	if latin, ok := latinLookalike(local); ok {
		return fmt.Sprintf("is written before the @ in letters that only look like the Latin %q; type the address with plain Latin letters", latin)
	}
	return ""
}

// Writing systems that combine several scripts: UTS #39 resolves Han,
// Hiragana and Katakana to Japanese, Han and Hangul to Korean, Han and
// Bopomofo to Chinese.
const (
	wsJapanese = "Jpan"
	wsKorean   = "Kore"
	wsChinese  = "Hanb"
)

// scriptSet is the set of writing systems a character may belong to.
type scriptSet map[string]bool

// scriptsOf returns, for each letter and digit of s, the writing systems
// it may belong to; characters of the Common and Inherited scripts
// (ASCII digits and punctuation, combining accents) belong to any and are
// left out. ok is false when a character belongs to no script at all.
func scriptsOf(s string) (sets []scriptSet, ok bool) {
	for _, r := range s {
		name := scriptName(r)
		switch name {
		case "":
			return nil, false
		case "Common", "Inherited":
			continue
		case "Han":
			sets = append(sets, scriptSet{wsJapanese: true, wsKorean: true, wsChinese: true})
		case "Hiragana", "Katakana":
			sets = append(sets, scriptSet{wsJapanese: true})
		case "Hangul":
			sets = append(sets, scriptSet{wsKorean: true})
		case "Bopomofo":
			sets = append(sets, scriptSet{wsChinese: true})
		default:
			sets = append(sets, scriptSet{name: true})
		}
	}
	return sets, true
}

// mixedScripts reports whether the characters' writing systems have no
// one in common, allowing Latin beside one East Asian writing system.
func mixedScripts(sets []scriptSet) bool {
	var common scriptSet
	for _, set := range sets {
		if set["Latin"] {
			continue
		}
		if common == nil {
			common = set
			continue
		}
		next := scriptSet{}
		for ws := range set {
			if common[ws] {
				next[ws] = true
			}
		}
		if len(next) == 0 {
			return true
		}
		common = next
	}
	hasLatin := false
	for _, set := range sets {
		hasLatin = hasLatin || set["Latin"]
	}
	if !hasLatin || common == nil {
		return false
	}
	for ws := range common {
		if ws != wsJapanese && ws != wsKorean && ws != wsChinese {
			return true
		}
	}
	return false
}

// scriptName returns the Unicode script of r ("Latin", "Cyrillic",
// "Common", …), or "" for a code point of no script.
func scriptName(r rune) string {
	if r < utf8.RuneSelf {
		if unicode.IsLetter(r) {
			return "Latin"
		}
		return "Common"
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return ""
}

// latinLookalikes maps Cyrillic, Greek and Armenian letters to the Latin
// letter they are usually taken for. It is a short list of the letters
// used in homograph attacks, not Unicode's whole confusables table: it is
// used only to refuse text made of nothing else.
var latinLookalikes = map[rune]rune{
	// Cyrillic
	'а': 'a', 'с': 'c', 'ԁ': 'd', 'е': 'e', 'һ': 'h', 'і': 'i', 'ј': 'j', 'ӏ': 'l',
	'о': 'o', 'р': 'p', 'ԛ': 'q', 'ѕ': 's', 'ԝ': 'w', 'х': 'x', 'у': 'y', 'ү': 'y',
	'А': 'A', 'В': 'B', 'С': 'C', 'Е': 'E', 'Н': 'H', 'І': 'I', 'Ј': 'J', 'К': 'K', 'М': 'M', 'О': 'O',
	'Р': 'P', 'Ԛ': 'Q', 'Ѕ': 'S', 'Т': 'T', 'Ԝ': 'W', 'Х': 'X', 'Ү': 'Y', 'Ӏ': 'I',
	// Greek
	'α': 'a', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'υ': 'u', 'χ': 'x', 'γ': 'y',
	'Α': 'A', 'Β': 'B', 'Ε': 'E', 'Ζ': 'Z', 'Η': 'H', 'Ι': 'I', 'Κ': 'K', 'Μ': 'M', 'Ν': 'N', 'Ο': 'O',
	'Ρ': 'P', 'Τ': 'T', 'Υ': 'Y', 'Χ': 'X',
	// Armenian
	'օ': 'o', 'ս': 'u', 'ց': 'g', 'հ': 'h', 'ո': 'n', 'զ': 'q',
}

// latinLookalike reports whether every letter of s is a Latin look-alike
// of another script (a "whole-script confusable"), and returns how s
// reads in Latin letters.
func latinLookalike(s string) (string, bool) {
	letters := 0
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if !unicode.IsLetter(r) {
			out = append(out, r)
			continue
		}
		latin, ok := latinLookalikes[r]
		if !ok {
			return "", false
		}
		letters++
		out = append(out, latin)
	}
	return string(out), letters > 0
}
