package optim

import (
	"encoding"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestScheduleStateRoundTrip runs every schedule for a few epochs, saves
// it, restores the state into a fresh schedule built with the same
// settings, and requires both to give the same rates from then on, bit for
// bit.
func TestScheduleStateRoundTrip(t *testing.T) {
	metrics := []float64{5, 4, 4.5, 4.2, 4.1, 4.3, 3, 3.5, 3.6, 3.7}
	for _, tc := range []struct {
		name string
		make func() Schedule
	}{
		{"constant", func() Schedule { return Constant(0.01) }},
		{"step", func() Schedule { return must(NewStepLR(0.1, 2, 0.5)) }},
		{"exponential", func() Schedule { return must(NewExponentialLR(1, 0.9)) }},
		{"cosine", func() Schedule { return must(NewCosineLR(1, 0.1, 7)) }},
		{"warm-up then cosine", func() Schedule { return must(NewWarmup(1, 2, must(NewCosineLR(1, 0, 6)))) }},
		{"warm-up alone", func() Schedule { return must(NewWarmup(0.3, 3, nil)) }},
		{"plateau", func() Schedule { return must(NewReduceOnPlateau(1, 0.5, 2, 0.01, 0.01)) }},
	} {
		for _, at := range []int{0, 1, 3, 6} {
			a := tc.make()
			for _, m := range metrics[:at] {
				a.Step(m)
			}
			saved, err := a.(encoding.BinaryMarshaler).MarshalBinary()
			require.NoError(t, err, tc.name)
			b := tc.make()
			require.NoError(t, RestoreSchedule(b, saved), "%s after %d epochs", tc.name, at)
			require.Equal(t, a.LR(), b.LR(), "%s after %d epochs", tc.name, at)
			for _, m := range metrics[at:] {
				require.Equal(t, a.Step(m), b.Step(m), "%s after %d epochs", tc.name, at)
			}
		}
	}
}

// TestScheduleStateRefusesOtherSettings checks that a state is only put
// into a schedule of the same kind and settings, and that a refused
// restore changes nothing.
func TestScheduleStateRefusesOtherSettings(t *testing.T) {
	cos := must(NewCosineLR(1, 0, 10))
	cos.Step(0)
	saved, err := cos.MarshalBinary()
	require.NoError(t, err)
	for _, tc := range []struct {
		s    Schedule
		want string
	}{
		{must(NewCosineLR(1, 0, 12)), "optim: CosineLR: the saved schedule has tMax 10, this one 12"},
		{must(NewCosineLR(0.5, 0, 10)), "optim: CosineLR: the saved schedule has base 1, this one 0.5"},
		{must(NewExponentialLR(1, 0.9)), "optim: ExponentialLR: the saved schedule is a CosineLR"},
		{must(NewWarmup(1, 2, must(NewCosineLR(1, 0, 11)))), "optim: Warmup: the saved schedule is a CosineLR"},
		{Constant(1), "optim: the saved schedule CosineLR[1 0 10 1] differs from this one, Constant[1]"},
	} {
		before := tc.s.LR()
		require.EqualError(t, RestoreSchedule(tc.s, saved), tc.want)
		require.Equal(t, before, tc.s.LR())
	}
	w := must(NewWarmup(1, 2, must(NewCosineLR(1, 0, 8))))
	w.Step(0)
	ws, err := w.MarshalBinary()
	require.NoError(t, err)
	require.EqualError(t, RestoreSchedule(must(NewWarmup(1, 2, must(NewCosineLR(1, 0, 9)))), ws),
		"optim: CosineLR: the saved schedule has tMax 8, this one 9 (the schedule after the warm-up)")
	require.EqualError(t, RestoreSchedule(must(NewWarmup(1, 2, nil)), ws),
		"optim: Warmup: the saved warm-up hands over to another schedule, this one to none")
	for _, bad := range [][]byte{nil, {9}, saved[:len(saved)-1], append(append([]byte{}, saved...), 0)} {
		require.ErrorContains(t, RestoreSchedule(must(NewCosineLR(1, 0, 10)), bad), "malformed state")
	}
	require.ErrorContains(t, RestoreSchedule(fixed(0.1), saved), "cannot be restored")
}

// fixed is a schedule that cannot be saved.
type fixed float64

func (f fixed) Step(float64) float64 { return float64(f) }
func (f fixed) LR() float64          { return float64(f) }

// TestRestoreScheduleTrailingBytes appends one byte to every kind's saved
// state, and to the schedule a Warmup hands over to, and checks each is
// refused with the schedule unchanged.
func TestRestoreScheduleTrailingBytes(t *testing.T) {
	for _, s := range []Schedule{
		must(NewStepLR(1, 2, 0.5)),
		must(NewExponentialLR(1, 0.9)),
		must(NewCosineLR(1, 0, 10)),
		must(NewReduceOnPlateau(1, 0.5, 2, 0, 0)),
		must(NewWarmup(1, 2, nil)),
		must(NewWarmup(1, 2, must(NewStepLR(1, 2, 0.5)))),
	} {
		s.Step(0)
		b, err := s.(encoding.BinaryMarshaler).MarshalBinary()
		require.NoError(t, err)
		require.NoError(t, RestoreSchedule(s, b), "%T", s)
		before := s.LR()
		require.ErrorContains(t, RestoreSchedule(s, append(b, 0)), "malformed state", "%T", s)
		require.Equal(t, before, s.LR())
	}
	// The next schedule's own encoding, one byte too long, with the
	// Warmup's length prefix made to cover it.
	w := must(NewWarmup(1, 2, must(NewStepLR(1, 2, 0.5))))
	b, err := w.MarshalBinary()
	require.NoError(t, err)
	inner, err := must(NewStepLR(1, 2, 0.5)).MarshalBinary()
	require.NoError(t, err)
	head := b[:len(b)-len(inner)-4]
	bad := binary.LittleEndian.AppendUint32(append([]byte{}, head...), uint32(len(inner)+1))
	bad = append(append(bad, inner...), 0)
	require.EqualError(t, RestoreSchedule(w, bad),
		"optim: StepLR: malformed state (1 bytes too many) (the schedule after the warm-up)")
}
