package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/descent-ml/descent/backprop"
)

// Round rounds v to the given number of decimal digits.
func Round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}

// Throughput returns the training throughput of a history whose every epoch
// saw samples training samples (total samples over total seconds, rounded
// to a whole number) and each epoch's duration in seconds, rounded to the
// millisecond.
func Throughput(h backprop.History, samples int) (samplesPerSec float64, epochSeconds []float64) {
	var secs float64
	epochSeconds = []float64{}
	for _, e := range h.Epochs {
		epochSeconds = append(epochSeconds, Round(e.Seconds, 3))
		secs += e.Seconds
	}
	if secs > 0 {
		samplesPerSec = math.Round(float64(samples*len(h.Epochs)) / secs)
	}
	return samplesPerSec, epochSeconds
}

// MeanStd returns the mean of xs and their sample standard deviation (with
// n − 1 in the denominator; 0 for fewer than two values).
func MeanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

// MeanHistory averages several histories epoch by epoch (the folds of a
// cross-validation), over the histories that reached each epoch, so that the
// per-epoch table, plot and CSV can show the mean curve.
func MeanHistory(hs []backprop.History) backprop.History {
	var out backprop.History
	for e := 0; ; e++ {
		var sum backprop.EpochStats
		n := 0
		for _, h := range hs {
			if e >= len(h.Epochs) {
				continue
			}
			s := h.Epochs[e]
			sum.Loss += s.Loss
			sum.Accuracy += s.Accuracy
			sum.ValLoss += s.ValLoss
			sum.ValAccuracy += s.ValAccuracy
			sum.LR += s.LR
			sum.Seconds += s.Seconds
			sum.SamplesPerSec += s.SamplesPerSec
			n++
		}
		if n == 0 {
			return out
		}
		f := float64(n)
		out.Epochs = append(out.Epochs, backprop.EpochStats{Epoch: e,
			Loss: sum.Loss / f, Accuracy: sum.Accuracy / f, ValLoss: sum.ValLoss / f, ValAccuracy: sum.ValAccuracy / f,
			LR: sum.LR / f, Seconds: sum.Seconds / f, SamplesPerSec: sum.SamplesPerSec / f})
	}
}

// WriteJSONLine writes v as one line of JSON.
func WriteJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// Float is a float64 that encodes to JSON as a number when finite and as
// null when NaN or infinite, which encoding/json refuses: a run that
// skipped its non-finite batches can still end with a NaN test loss, and
// its JSON line must still be written.
type Float float64

// MarshalJSON writes f as a number, or null if it is not finite.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}
