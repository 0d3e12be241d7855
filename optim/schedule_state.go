package optim

import (
	"encoding"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// Every schedule in this package implements [encoding.BinaryMarshaler], and
// every one with state (all but Constant) [encoding.BinaryUnmarshaler], so
// that a checkpoint can save a schedule's progress and a resumed run can
// carry on with exactly the rates the uninterrupted run would have used.
//
// MarshalBinary writes the schedule's kind, its settings and its state (the
// number of Step calls; ReduceOnPlateau's rate, best metric and counter;
// Warmup's, followed by the schedule it hands over to). UnmarshalBinary
// restores the state into a schedule built with the same settings: it
// returns an error, and changes nothing, if the data comes from another kind
// of schedule or one with other settings, naming what differs.
//
// The encoding, little-endian: a byte n and the n-byte kind, a uint32 count
// c and c float64 values (settings, then state); for Warmup, then a uint32
// length and the bytes of the next schedule (length 0 for none).

var (
	_ encoding.BinaryMarshaler   = Constant(0)
	_ encoding.BinaryUnmarshaler = (*StepLR)(nil)
	_ encoding.BinaryUnmarshaler = (*ExponentialLR)(nil)
	_ encoding.BinaryUnmarshaler = (*CosineLR)(nil)
	_ encoding.BinaryUnmarshaler = (*Warmup)(nil)
	_ encoding.BinaryUnmarshaler = (*ReduceOnPlateau)(nil)
)

// MarshalBinary writes the rate (see the comment above on schedule state).
// Constant has no state: a checkpoint compares its bytes instead of
// restoring them.
func (c Constant) MarshalBinary() ([]byte, error) {
	return appendSchedule(nil, "Constant", float64(c)), nil
}

// MarshalBinary writes base, γ, the step size and the epoch count.
func (s *StepLR) MarshalBinary() ([]byte, error) {
	return appendSchedule(nil, "StepLR", s.base, s.gamma, float64(s.stepSize), float64(s.k)), nil
}

// UnmarshalBinary restores the epoch count written by MarshalBinary.
func (s *StepLR) UnmarshalBinary(data []byte) error {
	k, err := readCount(data, "StepLR", []string{"base", "gamma", "step size"}, []float64{s.base, s.gamma, float64(s.stepSize)})
	if err != nil {
		return err
	}
	s.k = k
	return nil
}

// MarshalBinary writes base, γ and the epoch count.
func (s *ExponentialLR) MarshalBinary() ([]byte, error) {
	return appendSchedule(nil, "ExponentialLR", s.base, s.gamma, float64(s.k)), nil
}

// UnmarshalBinary restores the epoch count written by MarshalBinary.
func (s *ExponentialLR) UnmarshalBinary(data []byte) error {
	k, err := readCount(data, "ExponentialLR", []string{"base", "gamma"}, []float64{s.base, s.gamma})
	if err != nil {
		return err
	}
	s.k = k
	return nil
}

// MarshalBinary writes base, the minimum rate, tMax and the epoch count.
func (s *CosineLR) MarshalBinary() ([]byte, error) {
	return appendSchedule(nil, "CosineLR", s.base, s.minLR, float64(s.tMax), float64(s.k)), nil
}

// UnmarshalBinary restores the epoch count written by MarshalBinary.
func (s *CosineLR) UnmarshalBinary(data []byte) error {
	k, err := readCount(data, "CosineLR", []string{"base", "minimum rate", "tMax"}, []float64{s.base, s.minLR, float64(s.tMax)})
	if err != nil {
		return err
	}
	s.k = k
	return nil
}

// MarshalBinary writes base, the warm-up length and the epoch count, then
// the schedule it hands over to, which must be a [encoding.BinaryMarshaler].
func (s *Warmup) MarshalBinary() ([]byte, error) {
	b := appendSchedule(nil, "Warmup", s.base, float64(s.epochs), float64(s.k))
	var next []byte
	if s.then != nil {
		m, ok := s.then.(encoding.BinaryMarshaler)
		if !ok {
			return nil, fmt.Errorf("optim: Warmup: the next schedule %T cannot be saved (it is not an encoding.BinaryMarshaler)", s.then)
		}
		var err error
		if next, err = m.MarshalBinary(); err != nil {
			return nil, err
		}
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(next)))
	return append(b, next...), nil
}

// UnmarshalBinary restores the epoch count and the next schedule's state
// written by MarshalBinary. A next schedule without state (Constant) must
// have been saved with the same bytes.
func (s *Warmup) UnmarshalBinary(data []byte) error {
	// The next schedule's bytes follow Warmup's own values.
	v, rest, err := readScheduleValues(data, "Warmup", []string{"base", "warm-up epochs"}, []float64{s.base, float64(s.epochs)}, 1)
	if err != nil {
		return err
	}
	k, err := count("Warmup", v[0])
	if err != nil {
		return err
	}
	if len(rest) < 4 || uint64(binary.LittleEndian.Uint32(rest)) != uint64(len(rest)-4) {
		return fmt.Errorf("optim: Warmup: malformed state (%d bytes after the settings)", len(rest))
	}
	next := rest[4:]
	switch {
	case s.then == nil && len(next) > 0:
		return fmt.Errorf("optim: Warmup: the saved warm-up hands over to another schedule, this one to none")
	case s.then != nil && len(next) == 0:
		return fmt.Errorf("optim: Warmup: the saved warm-up hands over to no schedule, this one to %T", s.then)
	case s.then != nil:
		if err := RestoreSchedule(s.then, next); err != nil {
			return fmt.Errorf("%w (the schedule after the warm-up)", err)
		}
	}
	s.k = k
	return nil
}

// MarshalBinary writes the factor, patience, minimum delta and minimum rate,
// then the current rate, best metric and epochs without improvement.
func (s *ReduceOnPlateau) MarshalBinary() ([]byte, error) {
	return appendSchedule(nil, "ReduceOnPlateau", s.factor, float64(s.patience), s.minDelta, s.minLR,
		s.lr, s.best, float64(s.bad)), nil
}

// UnmarshalBinary restores the rate, best metric and counter written by
// MarshalBinary.
func (s *ReduceOnPlateau) UnmarshalBinary(data []byte) error {
	v, err := readSchedule(data, "ReduceOnPlateau", []string{"factor", "patience", "minimum delta", "minimum rate"},
		[]float64{s.factor, float64(s.patience), s.minDelta, s.minLR}, 3)
	if err != nil {
		return err
	}
	bad, err := count("ReduceOnPlateau", v[2])
	if err != nil {
		return err
	}
	if !(v[0] >= s.minLR) || math.IsInf(v[0], 1) {
		return fmt.Errorf("optim: ReduceOnPlateau: saved rate %g is not a rate of this schedule", v[0])
	}
	s.lr, s.best, s.bad = v[0], v[1], bad
	return nil
}

// RestoreSchedule restores into s the state data written by s's
// MarshalBinary (see the comment on schedule state): through
// UnmarshalBinary when s has one, and otherwise, for a schedule without
// state such as Constant, by checking that s marshals to the same bytes. It
// returns an error if s cannot be saved at all or the data does not fit it.
func RestoreSchedule(s Schedule, data []byte) error {
	if u, ok := s.(encoding.BinaryUnmarshaler); ok {
		return u.UnmarshalBinary(data)
	}
	m, ok := s.(encoding.BinaryMarshaler)
	if !ok {
		return fmt.Errorf("optim: schedule %T cannot be restored (it is not an encoding.BinaryMarshaler)", s)
	}
	mine, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	if !slices.Equal(mine, data) {
		return fmt.Errorf("optim: the saved schedule %s differs from this one, %s", describe(data), describe(mine))
	}
	return nil
}

// describe names the kind and settings in a schedule's encoding, for
// error messages.
func describe(b []byte) string {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return "schedule"
	}
	kind := string(b[1 : 1+b[0]])
	b = b[1+b[0]:]
	if len(b) < 4 {
		return kind
	}
	n := int(binary.LittleEndian.Uint32(b))
	b = b[4:]
	vals := make([]float64, 0, n)
	for i := 0; i < n && len(b) >= 8; i++ {
		vals = append(vals, math.Float64frombits(binary.LittleEndian.Uint64(b)))
		b = b[8:]
	}
	return fmt.Sprintf("%s%v", kind, vals)
}

func appendSchedule(b []byte, kind string, vals ...float64) []byte {
	b = append(b, byte(len(kind)))
	b = append(b, kind...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(vals)))
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b
}

// readSchedule reads an encoding written by appendSchedule for kind, checks
// that its settings equal settings (named by names) bit for bit, and returns
// the nState state values that follow them, which must end b.
func readSchedule(b []byte, kind string, names []string, settings []float64, nState int) (state []float64, err error) {
	state, rest, err := readScheduleValues(b, kind, names, settings, nState)
	if err == nil && len(rest) > 0 {
		return nil, fmt.Errorf("optim: %s: malformed state (%d bytes too many)", kind, len(rest))
	}
	return state, err
}

// readCount is [readSchedule] for a schedule whose one state value is an
// epoch count (StepLR, ExponentialLR, CosineLR): it returns that count.
func readCount(b []byte, kind string, names []string, settings []float64) (int, error) {
	v, err := readSchedule(b, kind, names, settings, 1)
	if err != nil {
		return 0, err
	}
	return count(kind, v[0])
}

// readScheduleValues is [readSchedule] without the check that the values
// end b: it also returns the bytes after them (Warmup's next schedule).
func readScheduleValues(b []byte, kind string, names []string, settings []float64, nState int) (state []float64, rest []byte, err error) {
	if len(b) < 1 || len(b) < 1+int(b[0]) {
		return nil, nil, fmt.Errorf("optim: %s: malformed state (%d bytes)", kind, len(b))
	}
	if got := string(b[1 : 1+b[0]]); got != kind {
		return nil, nil, fmt.Errorf("optim: %s: the saved schedule is a %s", kind, got)
	}
	b = b[1+b[0]:]
	n := len(settings) + nState
	if len(b) < 4 || binary.LittleEndian.Uint32(b) != uint32(n) || len(b) < 4+8*n {
		return nil, nil, fmt.Errorf("optim: %s: malformed state", kind)
	}
	b = b[4:]
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	for i, want := range settings {
		if math.Float64bits(vals[i]) != math.Float64bits(want) {
			return nil, nil, fmt.Errorf("optim: %s: the saved schedule has %s %g, this one %g", kind, names[i], vals[i], want)
		}
	}
	return vals[len(settings):], b[8*n:], nil
}

// count converts a saved epoch count or counter back to an int.
func count(kind string, v float64) (int, error) {
	if !(v >= 0 && v <= math.MaxInt32) || v != math.Trunc(v) {
		return 0, fmt.Errorf("optim: %s: saved count %g is not a count", kind, v)
	}
	return int(v), nil
}
