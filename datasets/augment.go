package datasets

import (
	"fmt"
	"math/rand/v2"

	"gorgonia.org/tensor"

	"github.com/descent-ml/descent/nn"
)

// RandomShift is a [Dataset] that moves every image of another dataset by a
// random whole number of pixels, the same for all its channels: dx and dy
// are drawn uniformly from [−Max, Max] for each sample of each batch, and
// the pixels shifted in from outside the image take the value Fill (the
// background: 0, or −Mean/Std for standardised images). It is the
// "random translation" augmentation of Keras and torchvision, for training
// sets only: wrap the training subset, never the validation or test set.
//
// Inputs must have the shape [channels height width]. The random numbers
// come from the source passed to [NewRandomShift], so a run is repeatable
// from its seed; save that source's state to resume a run exactly.
type RandomShift struct {
	// Data is the dataset whose images are shifted.
	Data Dataset
	// Max is the largest shift, in pixels, in each direction.
	Max int
	// Fill is the value of the pixels shifted in.
	Fill float32

	rng *rand.Rand
	buf []float32 // one channel, reused
}

var _ Dataset = (*RandomShift)(nil)

// NewRandomShift wraps d, whose inputs must have the shape [channels height
// width], shifting its images by up to max pixels (0 ≤ max < min(height,
// width)) with random numbers from rng.
func NewRandomShift(d Dataset, max int, fill float32, rng *rand.Rand) (*RandomShift, error) {
	s := d.InputShape()
	if len(s) != 3 {
		return nil, fmt.Errorf("datasets: RandomShift wants images of shape [channels height width], got %v", s)
	}
	if max < 0 || max >= s[1] || max >= s[2] {
		return nil, fmt.Errorf("datasets: RandomShift of %d pixels on %d×%d images, want 0 to %d", max, s[1], s[2], min(s[1], s[2])-1)
	}
	if rng == nil {
		return nil, fmt.Errorf("datasets: RandomShift needs a random source")
	}
	return &RandomShift{Data: d, Max: max, Fill: fill, rng: rng, buf: make([]float32, s[1]*s[2])}, nil
}

// Len returns the number of samples of the wrapped dataset.
func (r *RandomShift) Len() int { return r.Data.Len() }

// InputShape returns the wrapped dataset's input shape.
func (r *RandomShift) InputShape() nn.Shape { return r.Data.InputShape() }

// TargetShape returns the wrapped dataset's target shape.
func (r *RandomShift) TargetShape() nn.Shape { return r.Data.TargetShape() }

// Batch fills x and y as the wrapped dataset does, then shifts each image in
// x by its own random offset. It draws two random numbers per sample and
// allocates nothing.
func (r *RandomShift) Batch(x, y *tensor.Dense, idx []int) {
	r.Data.Batch(x, y, idx)
	if r.Max == 0 {
		return
	}
	s := r.Data.InputShape()
	c, h, w := s[0], s[1], s[2]
	xs := x.Float32s()
	span := uint(2*r.Max + 1)
	for b := range idx {
		dy := int(r.rng.UintN(span)) - r.Max
		dx := int(r.rng.UintN(span)) - r.Max
		for ch := range c {
			img := xs[(b*c+ch)*h*w : (b*c+ch+1)*h*w]
			shift(img, r.buf, h, w, dy, dx, r.Fill)
		}
	}
}

// shift moves the h×w image img by dy rows and dx columns in place, so that
// out[i][j] = img[i−dy][j−dx], or fill where that falls outside; buf holds
// h·w values.
func shift(img, buf []float32, h, w, dy, dx int, fill float32) {
	if dy == 0 && dx == 0 {
		return
	}
	copy(buf, img)
	for i := range h {
		row := img[i*w : (i+1)*w]
		si := i - dy
		if si < 0 || si >= h {
			for j := range row {
				row[j] = fill
			}
			continue
		}
		src := buf[si*w : (si+1)*w]
		// Columns j with 0 ≤ j−dx < w come from src; the rest are fill.
		lo, hi := max(dx, 0), min(w+dx, w)
		for j := 0; j < lo; j++ {
			row[j] = fill
		}
		copy(row[lo:hi], src[lo-dx:hi-dx])
		for j := hi; j < w; j++ {
			row[j] = fill
		}
	}
}
