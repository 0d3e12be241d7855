package optim

// AllFinite reports whether every element of x is finite: no NaN, no +Inf,
// no −Inf. It reads x once, eight values at a time where the CPU has AVX,
// and allocates nothing; [backprop.Trainer] calls it on every gradient
// before every step.
//
// x − x is 0 for a finite x and NaN for NaN and ±Inf, and a NaN in a sum
// makes the sum NaN, so the sum of x − x over all elements is 0 exactly
// when all are finite: a loop of additions with no branch per element.
func AllFinite(x []float32) bool {
	n := 0
	if useAVX && len(x) >= 32 {
		n = len(x) &^ 31
		if !allFiniteAVX(&x[0], n) {
			return false
		}
	}
	return allFinite(x[n:])
}

// allFinite is the portable loop of AllFinite. Four independent sums keep
// the additions pipelined.
func allFinite(x []float32) bool {
	var s0, s1, s2, s3 float32
	j := 0
	for ; j+4 <= len(x); j += 4 {
		q := x[j : j+4 : j+4]
		s0 += q[0] - q[0]
		s1 += q[1] - q[1]
		s2 += q[2] - q[2]
		s3 += q[3] - q[3]
	}
	for ; j < len(x); j++ {
		s0 += x[j] - x[j]
	}
	return s0+s1+s2+s3 == 0
}

// FirstNonFinite returns the index of the first element of x that is NaN,
// +Inf or −Inf, or −1 if every element is finite. It is the slow, locating
// companion of [AllFinite], for naming the culprit once one is known to
// exist; it allocates nothing.
func FirstNonFinite(x []float32) int {
	for j, v := range x {
		if v-v != 0 {
			return j
		}
	}
	return -1
}
