package datasets

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The expected tokens are those of the reference tokeniser,
// shared/bench/torch_sentiment.py's tokenize, run on the same inputs (all but the
// last, invalid UTF-8, which a Python string cannot hold: its bad bytes separate tokens).
var tokenCases = []struct {
	text string
	want []string
}{
	{"", nil},
	{"Hello, World!", []string{"hello", "world"}},
	{"I loved it.<br /><br />Great film", []string{"i", "loved", "it", "great", "film"}},
	{"a<b>c", []string{"a", "c"}},
	{"x < y and y > z", []string{"x", "z"}}, // "< y and y >" is a tag to the regexp too
	{"3 < 4", []string{"3", "4"}},
	{"<unclosed tag", []string{"unclosed", "tag"}},
	{"a<>b", []string{"a", "b"}},
	{"A<B\n>C", []string{"a", "c"}},
	{"Don't stop", []string{"don't", "stop"}},
	{"'quoted'", []string{"quoted"}},
	{"rock'n'roll", []string{"rock'n'roll"}},
	{"the dogs' bowls", []string{"the", "dogs", "bowls"}},
	{"it''s", []string{"it", "s"}},
	{"o' 'x", []string{"o", "x"}},
	{"'", nil},
	{"Café NAÏVE façade", []string{"café", "naïve", "façade"}},
	{"日本語のテキスト", []string{"日本語のテキスト"}},
	{"1,000.50 and ½ ²", []string{"1", "000", "50", "and", "½", "²"}},
	{"under_score", []string{"under", "score"}},
	{"e-mail wow!!! ...", []string{"e", "mail", "wow"}},
	{"İstanbul", []string{"i", "stanbul"}},
	{"ΟΔΟΣ ΟΔΟΣ. ΣΑΣ", []string{"οδος", "οδος", "σας"}},
	{"ＡＢＣ", []string{"ａｂｃ"}},
	{"tab\tnew\nline", []string{"tab", "new", "line"}},
	{"smart ’quotes’ — dash", []string{"smart", "quotes", "dash"}},
	{"bad\xffutf\xc3", []string{"bad", "utf"}},
}

func TestTokenize(t *testing.T) {
	for _, c := range tokenCases {
		got := Tokenize(c.text)
		if c.want == nil {
			require.Empty(t, got, "%q", c.text)
			continue
		}
		require.Equal(t, c.want, got, "%q", c.text)
	}
}

// The scanner keeps its buffers from text to text; a long text followed by
// a short one must not leave anything behind.
func TestTokenizerReuse(t *testing.T) {
	var tk tokenizer
	for _, c := range tokenCases {
		tk.tokenize(strings.Repeat("Long WORDS here ", 50))
		tk.tokenize(c.text)
		var got []string
		for k := range tk.numTerms(1) {
			got = append(got, string(tk.term(k)))
		}
		require.Equal(t, c.want, got, "%q", c.text)
	}
}

// The reference pipeline with Go's regexp package, which finds the same
// leftmost-first matches as Python's re for these patterns. strings.ToLower
// differs from Python's str.lower only for 'İ' and 'Σ', left out of the
// random texts.
var (
	tagRE   = regexp.MustCompile(`<[^>]*>`)
	tokenRE = regexp.MustCompile(`[\p{L}\p{N}]+(?:'[\p{L}\p{N}]+)*`)
)

func regexpTokens(text string) []string {
	return tokenRE.FindAllString(tagRE.ReplaceAllString(strings.ToLower(text), " "), -1)
}

func TestTokenizeMatchesRegexp(t *testing.T) {
	pieces := []string{"a", "B", "z", "0", "9", "'", "'", "<", ">", " ", "\t", "\n", "-", "_", ".", "é", "Ä", "ß",
		"日", "½", "²", "’", "—", "\u00a0", "\u0301", "Ω", "ǅ", "Ⅻ", "\xff", "<br />", "don't", "Ｑ"}
	rng := rand.New(rand.NewPCG(21, 22))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(25) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text := b.String()
		require.Equal(t, regexpTokens(text), Tokenize(text), "%q", text)
	}
}

func FuzzTokenize(f *testing.F) {
	for _, c := range tokenCases {
		f.Add(c.text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if strings.ContainsAny(text, "İΣ") {
			return
		}
		require.Equal(t, regexpTokens(text), Tokenize(text), "%q", text)
	})
}

func TestTerms(t *testing.T) {
	require.Equal(t, []string{"not", "good", "not", "bad", "not good", "good not", "not bad"},
		Terms("Not good, not BAD.", 2))
	require.Equal(t, []string{"not", "good", "not", "bad"}, Terms("Not good, not BAD.", 1))
	require.Equal(t, []string{"one"}, Terms("one", 2))
	require.Empty(t, Terms(" ... ", 2))
	require.PanicsWithValue(t, "datasets: n-grams must be 1 or 2", func() { Terms("a", 3) })
}

func ExampleTokenize() {
	fmt.Printf("%q\n", Tokenize("I didn't LOVE it.<br /><br />Café-style naïveté, 10/10!"))
	// Output:
	// ["i" "didn't" "love" "it" "café" "style" "naïveté" "10" "10"]
}

func ExampleTerms() {
	fmt.Printf("%q\n", Terms("Not good, not bad", 2))
	// Output:
	// ["not" "good" "not" "bad" "not good" "good not" "not bad"]
}
