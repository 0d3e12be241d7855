package optim

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// lrs returns the schedule's rate before any Step, then after each of n
// Steps fed the given metrics (0 when metrics runs out).
func lrs(s Schedule, n int, metrics ...float64) []float64 {
	out := []float64{s.LR()}
	for i := range n {
		m := 0.0
		if i < len(metrics) {
			m = metrics[i]
		}
		got := s.Step(m)
		if got != s.LR() {
			panic("Step and LR disagree")
		}
		out = append(out, got)
	}
	return out
}

func must[S Schedule](s S, err error) S {
	if err != nil {
		panic(err)
	}
	return s
}

func TestSchedules(t *testing.T) {
	cases := []struct {
		name  string
		sched Schedule
		want  []float64 // epochs 0, 1, 2, …
	}{
		{"constant", Constant(0.01), []float64{0.01, 0.01, 0.01, 0.01}},
		{"step", must(NewStepLR(0.1, 2, 0.5)), []float64{0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125}},
		{"step size 1", must(NewStepLR(1, 1, 0.1)), []float64{1, 0.1, 0.01, 0.001}},
		{"exponential", must(NewExponentialLR(1, 0.5)), []float64{1, 0.5, 0.25, 0.125, 0.0625}},
		// (1 + cos(πk/4))/2 for k = 0…4: 1, 0.853553…, 0.5, 0.146446…, 0.
		{"cosine", must(NewCosineLR(1, 0, 4)), []float64{1, 0.8535533905932737, 0.5, 0.14644660940672627, 0, 0, 0}},
		{"cosine to min", must(NewCosineLR(1, 0.1, 4)), []float64{1, 0.8681980515339464, 0.55, 0.2318019484660536, 0.1, 0.1}},
		{"warm-up alone", must(NewWarmup(0.3, 3, nil)), []float64{0.1, 0.2, 0.3, 0.3, 0.3}},
		{"warm-up then step", must(NewWarmup(0.3, 3, must(NewStepLR(0.3, 1, 0.5)))), []float64{0.1, 0.2, 0.3, 0.3, 0.15, 0.075}},
		{"warm-up of 1", must(NewWarmup(0.3, 1, must(NewExponentialLR(0.3, 0.1)))), []float64{0.3, 0.3, 0.03, 0.003}},
		{"warm-up then cosine", must(NewWarmup(1, 2, must(NewCosineLR(1, 0, 2)))), []float64{0.5, 1, 1, 0.5, 0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := lrs(c.sched, len(c.want)-1)
			require.InDeltaSlice(t, c.want, got, 1e-12)
		})
	}
}

func TestReduceOnPlateau(t *testing.T) {
	s := must(NewReduceOnPlateau(1, 0.5, 2, 0.01, 0.2))
	metrics := []float64{
		1.0,        // first metric: improves, best 1
		0.995,      // not better than best − 0.01: 1 bad epoch
		0.98,       // improves (< 0.99): best 0.98, counter reset
		0.975,      // 1 bad epoch
		0.99,       // 2 bad epochs = patience: rate × 0.5, counter reset
		math.NaN(), // 1 bad epoch
		0.975,      // 2: rate × 0.5
		0.5,        // improves
		0.6,        // 1
		0.6,        // 2: 0.125 is below minLR, so 0.2
		0.6, 0.6,   // 1, 2: stays at minLR
	}
	want := []float64{1, 1, 1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2}
	require.Equal(t, want, lrs(s, len(metrics), metrics...))
	require.Equal(t, 0.5, s.Best())

	// Patience 1 reduces after every epoch without improvement.
	s = must(NewReduceOnPlateau(1, 0.1, 1, 0, 0))
	require.InDeltaSlice(t, []float64{1, 1, 0.1, 0.1, 0.01}, lrs(s, 4, 3, 3, 2, 2.5), 1e-15)
}

func TestScheduleErrors(t *testing.T) {
	checkErrCases(t, []errCase{
		{"step base", err2(NewStepLR(0, 1, 0.5)), "StepLR: base rate 0"},
		{"step size", err2(NewStepLR(0.1, 0, 0.5)), "step size 0"},
		{"step gamma", err2(NewStepLR(0.1, 1, 1.5)), "gamma 1.5 must be in (0, 1]"},
		{"exp gamma", err2(NewExponentialLR(0.1, 0)), "gamma 0"},
		{"exp base NaN", err2(NewExponentialLR(math.NaN(), 0.5)), "base rate NaN"},
		{"cosine tmax", err2(NewCosineLR(0.1, 0, 0)), "tMax 0"},
		{"cosine min", err2(NewCosineLR(0.1, 0.2, 10)), "minimum rate 0.2 must be in [0, base 0.1]"},
		{"warm-up epochs", err2(NewWarmup(0.1, 0, nil)), "0 warm-up epochs"},
		{"warm-up base", err2(NewWarmup(-1, 5, nil)), "base rate -1"},
		{"plateau factor", err2(NewReduceOnPlateau(0.1, 1, 3, 0, 0)), "factor 1 must be in (0, 1)"},
		{"plateau patience", err2(NewReduceOnPlateau(0.1, 0.5, 0, 0, 0)), "patience 0"},
		{"plateau delta", err2(NewReduceOnPlateau(0.1, 0.5, 3, -1, 0)), "min delta -1"},
		{"plateau min", err2(NewReduceOnPlateau(0.1, 0.5, 3, 0, 1)), "minimum rate 1"},
	})
}

func err2[S any](_ S, err error) error { return err }

// TestScheduleDrivesOptimizer shows the intended wiring: the rate a schedule
// returns goes to SetLR.
func TestScheduleDrivesOptimizer(t *testing.T) {
	opt, err := NewSGD(testParams(), SGDConfig{LR: 0.1})
	require.NoError(t, err)
	s := must(NewExponentialLR(opt.LR(), 0.5))
	for range 3 {
		opt.SetLR(s.Step(0))
	}
	require.InDelta(t, 0.0125, opt.LR(), 1e-15)
}
