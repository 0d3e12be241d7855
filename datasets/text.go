package datasets

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The tokeniser of the text data sets. It reproduces, character for
// character, the reference Python pipeline of shared/bench/torch_sentiment.py:
//
//	tokens = re.findall(r"[^\W_]+(?:'[^\W_]+)*", re.sub(r"<[^>]*>", " ", text.lower()))
//
// that is: lower-case the text; replace every HTML tag (a '<', the shortest
// run of characters up to the next '>', and that '>') by a space; the tokens
// are the maximal runs of Unicode letters and digits ([\p{L}\p{N}]), where an
// apostrophe (U+0027 only) between two letters or digits stays inside the
// token ("don't", "rock'n'roll") and every other character separates tokens.
//
// It is a hand-written scanner rather than a regular expression: one pass
// over the bytes, with a table lookup per ASCII byte, writing the lower-cased
// tokens into a reusable buffer.
//
// Lower-casing follows Python's str.lower, which is Unicode's full lower-case
// mapping: besides the one-to-one mappings of unicode.ToLower, U+0130 'İ'
// becomes "i" followed by U+0307 (a combining dot, which is not a letter and
// so ends the token), and a capital sigma 'Σ' becomes the final form 'ς' at
// the end of a word (Unicode's Final_Sigma condition) and 'σ' elsewhere.

// asciiClass classifies the bytes below 0x80: 0 separator, 1 letter or
// digit; and asciiLower lower-cases them.
var asciiClass, asciiLower = func() (class, lower [128]byte) {
	for c := range 128 {
		b := byte(c)
		lower[c] = b
		switch {
		case b >= 'a' && b <= 'z', b >= '0' && b <= '9':
			class[c] = 1
		case b >= 'A' && b <= 'Z':
			class[c] = 1
			lower[c] = b + 'a' - 'A'
		}
	}
	return class, lower
}()

// tokenizer splits texts into tokens, keeping its buffers from text to text.
// After tokenize, token i is buf[starts[i]:ends[i]]; consecutive tokens are
// separated in buf by exactly one space, so the bigram of tokens i and i+1 is
// buf[starts[i]:ends[i+1]] with no copying.
type tokenizer struct {
	buf    []byte
	starts []int32
	ends   []int32
}

// isTokenRune reports whether r belongs in a token: a Unicode letter or
// number.
func isTokenRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }

// tokenAt reports whether s[i:] starts with a letter or digit.
func tokenAt(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c] == 1
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return isTokenRune(r)
}

// tokenize splits s into tokens (see the comment at the top of this file).
func (t *tokenizer) tokenize(s string) {
	t.buf, t.starts, t.ends = t.buf[:0], t.starts[:0], t.ends[:0]
	tags := true // false once no '>' is left in s: a '<' then starts no tag
	i := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if asciiClass[c] == 0 {
				if c == '<' && tags {
					// A tag runs to the next '>' (Python's <[^>]*>).
					if j := strings.IndexByte(s[i+1:], '>'); j >= 0 {
						i += j + 2
						continue
					}
					tags = false
				}
				i++
				continue
			}
		} else if r, w := utf8.DecodeRuneInString(s[i:]); !isTokenRune(r) {
			i += w // a separator, or a byte of invalid UTF-8
			continue
		}
		i = t.token(s, i)
	}
}

// token scans the token that starts at s[i] (a letter or digit), appends it
// lower-cased to buf, and returns the index just after it.
func (t *tokenizer) token(s string, i int) int {
	if len(t.starts) > 0 {
		t.buf = append(t.buf, ' ')
	}
	t.starts = append(t.starts, int32(len(t.buf)))
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if asciiClass[c] == 1 {
				// A run of ASCII letters and digits: copy, then lower-case.
				j := i + 1
				for j < len(s) && s[j] < utf8.RuneSelf && asciiClass[s[j]] == 1 {
					j++
				}
				n := len(t.buf)
				t.buf = append(t.buf, s[i:j]...)
				for k, b := range t.buf[n:] {
					t.buf[n+k] = asciiLower[b]
				}
				i = j
				continue
			}
			// An apostrophe continues the token only when a letter or
			// digit follows it.
			if c == '\'' && tokenAt(s, i+1) {
				t.buf = append(t.buf, '\'')
				i++
				continue
			}
			break
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if !isTokenRune(r) {
			break
		}
		switch r {
		case 'İ': // U+0130 → "i" U+0307; the combining dot ends the token.
			t.buf = append(t.buf, 'i')
			t.ends = append(t.ends, int32(len(t.buf)))
			return i + w
		case 'Σ':
			if finalSigma(s, i, w) {
				r = 'ς'
			} else {
				r = 'σ'
			}
		default:
			r = unicode.ToLower(r)
		}
		t.buf = utf8.AppendRune(t.buf, r)
		i += w
	}
	t.ends = append(t.ends, int32(len(t.buf)))
	return i
}

// finalSigma reports whether the capital sigma at s[i:i+w] is in Unicode's
// Final_Sigma context, as Python's str.lower decides it: preceded by a cased
// letter (skipping case-ignorable characters) and not followed by one.
func finalSigma(s string, i, w int) bool {
	j := i
	before := false
	for j > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:j])
		j -= n
		if !caseIgnorable(r) {
			before = cased(r)
			break
		}
	}
	if !before {
		return false
	}
	for j = i + w; j < len(s); {
		r, n := utf8.DecodeRuneInString(s[j:])
		j += n
		if !caseIgnorable(r) {
			return !cased(r)
		}
	}
	return true
}

// cased is Unicode's Cased property: upper-, lower- or title-case letters and
// the few others with a case.
func cased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

// caseIgnorable is Unicode's Case_Ignorable property: marks, format
// characters, modifier letters and symbols, and the word-internal
// punctuation of the word-break rules (apostrophe, period, colon, middle
// dot and their variants).
func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '^', '`', 0xB7, 0x387, 0x55F, 0x5F4, 0x2018, 0x2019, 0x2024, 0x2027, 0xFE13, 0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A:
		return true
	}
	return r >= utf8.RuneSelf && unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

// Tokenize splits text into lower-cased tokens: HTML tags removed, maximal
// runs of Unicode letters and digits, with an apostrophe kept between two
// letters or digits ("don't"). It is the exact tokeniser of the reference
// Python scripts (shared/bench/torch_sentiment.py); see docs/datasets.md.
// It allocates a string per token; the vectorisers use the same scanner
// without allocating. It is Terms(text, 1).
func Tokenize(text string) []string { return Terms(text, 1) }

// Terms returns the terms of text for n-grams 1 or 2: its tokens, followed
// when ngrams is 2 by every pair of adjacent tokens joined by one space
// ("not good"), in that order. It panics if ngrams is not 1 or 2.
func Terms(text string, ngrams int) []string {
	checkNGrams(ngrams)
	var t tokenizer
	t.tokenize(text)
	if len(t.starts) == 0 {
		return nil
	}
	out := make([]string, t.numTerms(ngrams))
	for k := range out {
		out[k] = string(t.term(k))
	}
	return out
}

// numTerms returns the number of terms of the last tokenised text.
func (t *tokenizer) numTerms(ngrams int) int {
	n := len(t.starts)
	if ngrams == 2 && n > 1 {
		return 2*n - 1
	}
	return n
}

// term returns term k of the last tokenised text: token k for k below the
// number of tokens, else the bigram that starts at token k − tokens. It
// aliases the buffer.
func (t *tokenizer) term(k int) []byte {
	n := len(t.starts)
	if k < n {
		return t.buf[t.starts[k]:t.ends[k]]
	}
	k -= n
	return t.buf[t.starts[k]:t.ends[k+1]]
}

func checkNGrams(ngrams int) {
	if ngrams != 1 && ngrams != 2 {
		panic("datasets: n-grams must be 1 or 2")
	}
}
