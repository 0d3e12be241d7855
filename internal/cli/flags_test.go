package cli

import (
	"bytes"
	"errors"
	"flag"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/backprop"
)

func newFlags(out *bytes.Buffer) (*flag.FlagSet, *int) {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() { out.WriteString("Usage: demo [flags]\n") }
	n := fs.Int("n", 1, "a number")
	return fs, n
}

func TestParseFlagsAndExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-n", "3"}, 0, ""},
		{[]string{"-h"}, 0, "Usage: demo"},
		{[]string{"-n", "x"}, 2, `invalid value "x" for flag -n`},
		{[]string{"-m"}, 2, "flag provided but not defined: -m"},
		{[]string{"-n", "3", "stray"}, 2, "demo: unexpected argument \"stray\"\nUsage: demo"},
	} {
		var out bytes.Buffer
		fs, _ := newFlags(&out)
		err := ParseFlags(fs, tc.args)
		require.Equal(t, tc.code, ExitCode(err), "%v: %v", tc.args, err)
		require.Contains(t, out.String(), tc.want, "%v", tc.args)
	}
	require.Equal(t, 1, ExitCode(errors.New("data missing")))
	require.Equal(t, 2, ExitCode(errors.Join(errors.New("x"), ErrUsage)))
}

func TestUsagef(t *testing.T) {
	var out bytes.Buffer
	fs, n := newFlags(&out)
	require.NoError(t, ParseFlags(fs, []string{"-n", "-4"}))
	err := Usagef(fs, "-n %d must be positive", *n)
	require.ErrorIs(t, err, ErrUsage)
	require.Equal(t, "demo: -n -4 must be positive\nUsage: demo [flags]\n", out.String())
	require.Equal(t, map[string]bool{"n": true}, FlagsSet(fs))
}

func TestOneOfAndAlternatives(t *testing.T) {
	require.NoError(t, OneOf("model", "mlp", "logreg", "mlp"))
	require.EqualError(t, OneOf("model", "cnn", "logreg", "mlp", "rnn"), `unknown model "cnn" (want logreg, mlp or rnn)`)
	require.Equal(t, "a", Alternatives([]string{"a"}))
	require.Equal(t, "a or b", Alternatives([]string{"a", "b"}))
}

func TestNumberChecks(t *testing.T) {
	for _, v := range []float64{0, -1, math.NaN(), math.Inf(1), math.Inf(-1)} {
		require.False(t, PositiveFinite(v), "%g", v)
	}
	require.True(t, PositiveFinite(1e-9))
	require.True(t, NonNegativeFinite(0))
	for _, v := range []float64{-1e-9, math.NaN(), math.Inf(1)} {
		require.False(t, NonNegativeFinite(v), "%g", v)
	}
}

func TestMeanStd(t *testing.T) {
	m, s := MeanStd([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	require.InDelta(t, 5, m, 1e-12)
	require.InDelta(t, math.Sqrt(32.0/7), s, 1e-12) // sample std, n − 1
	m, s = MeanStd([]float64{3})
	require.Equal(t, 3.0, m)
	require.Equal(t, 0.0, s)
	m, _ = MeanStd(nil)
	require.True(t, math.IsNaN(m))
}

func TestMeanHistoryAndThroughput(t *testing.T) {
	a := backprop.History{Epochs: []backprop.EpochStats{{Epoch: 0, Loss: 1, Seconds: 2}, {Epoch: 1, Loss: 0.5, Seconds: 1}}}
	b := backprop.History{Epochs: []backprop.EpochStats{{Epoch: 0, Loss: 3, Seconds: 4}}}
	m := MeanHistory([]backprop.History{a, b})
	require.Len(t, m.Epochs, 2)
	require.Equal(t, 2.0, m.Epochs[0].Loss)
	require.Equal(t, 3.0, m.Epochs[0].Seconds)
	require.Equal(t, 0.5, m.Epochs[1].Loss, "only a reached epoch 2")
	require.Equal(t, 1, m.Epochs[1].Epoch)

	rate, secs := Throughput(a, 300)
	require.Equal(t, 200.0, rate) // 600 samples in 3 s
	require.Equal(t, []float64{2, 1}, secs)
	rate, secs = Throughput(backprop.History{}, 300)
	require.Zero(t, rate)
	require.NotNil(t, secs, "an empty list, not null, in JSON")
	require.Equal(t, 0.123, Round(0.12345, 3))
}

func TestWriteJSONLine(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteJSONLine(&b, map[string]any{"acc": 0.5, "folds": []float64{1, 2}}))
	require.Equal(t, `{"acc":0.5,"folds":[1,2]}`+"\n", b.String())
	require.Error(t, WriteJSONLine(&b, math.NaN()))
}
