package gemm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A product is shared between goroutines only if each gets at least
// parallelMin multiply-adds (m·n·k): about 20 µs of work on one core, twice
// the ~10 µs it takes to wake a sleeping worker whose core is free.
// (Measured on 2 free cores: 128³ runs 1.3×, 160³ 1.8× faster split.)
var parallelMin = 1 << 20

// maxThreads caps the goroutines one product uses (tests lower it).
var maxThreads = 1 << 30

// When other processes keep the cores busy, a worker can be descheduled by
// the operating system in the middle of its block, and the caller then
// waits for it far longer than the block would take. A parallel call in
// which the caller waited longer than it computed, or computed every block
// itself, is a bad one: the next parallel-sized calls run on one goroutine,
// 1, 2, 4, … up to maxPenalty of them after consecutive bad calls, and the
// first good call resets the count.
const maxPenalty = 1024

var (
	adaptive = true       // tests turn the back-off off to force the split
	penalty  atomic.Int32 // serial calls the last bad call imposed
	skip     atomic.Int32 // parallel-sized calls still to run serially
)

var (
	startWorkers sync.Once
	workers      int          // worker goroutines started: GOMAXPROCS-1
	helpers      chan request // calls that want help; idle workers sleep on it
)

// job is one call of Sgemm on the blocked path. Its C is cut into blocks of
// step rows (splitM) or columns that the caller and the workers it asked
// for help claim one at a time, so a worker that wakes late (its core busy
// with another process) costs the caller nothing but the blocks it did not
// get to. A job lives in its caller's workspace and is reused by the next
// call: every claim names the generation it is for, so a request that a
// worker reads only after its call returned claims nothing.
type job struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int

	splitM bool
	step   int
	// state packs the generation (high 32 bits), the number of blocks
	// (next 16) and the next unclaimed block (low 16) into one word, so a
	// claim checks all three and takes a block in a single compare-and-swap.
	state atomic.Uint64
	done  sync.WaitGroup // blocks not yet computed
}

// request asks a worker to help with generation gen of job j.
type request struct {
	j   *job
	gen uint32
}

// claim takes the next block of generation gen, if that generation is
// still current and has a block left.
func (j *job) claim(gen uint32) (int, bool) {
	for {
		s := j.state.Load()
		next, blocks := int(s&0xffff), int(s>>16&0xffff)
		if uint32(s>>32) != gen || next >= blocks {
			return 0, false
		}
		if j.state.CompareAndSwap(s, s+1) {
			return next, true
		}
	}
}

// work claims and computes blocks of generation gen of C until none is
// left, and returns how many it computed.
func (j *job) work(w *workspace, gen uint32) (blocks int) {
	for ; ; blocks++ {
		i, ok := j.claim(gen)
		if !ok {
			return blocks
		}
		lo := i * j.step
		if j.splitM {
			w.run(j, lo, min(lo+j.step, j.m), 0, j.n)
		} else {
			w.run(j, 0, j.m, lo, min(lo+j.step, j.n))
		}
		j.done.Done()
	}
}

// spinFor is how long an idle worker keeps polling for the next request
// before it parks. A training step calls Sgemm many times with only
// microseconds of other work between the calls; a parked worker takes
// about as long to wake (a futex wake-up of its thread, tens of µs on these
// virtual machines) as a whole 64×784×128 product, so without the spin the
// second core would mostly arrive after the caller had done its block.
// Polling yields the processor every few checks, so it delays no other
// goroutine; it costs an otherwise idle core for at most spinFor after
// each product.
var spinFor = 200 * time.Microsecond

func worker() {
	w := newWorkspace()
	for {
		r, ok := poll(spinFor)
		if !ok {
			r = <-helpers
		}
		r.j.work(w, r.gen)
	}
}

// poll waits up to d for a request without parking.
func poll(d time.Duration) (request, bool) {
	var deadline time.Time
	for i := 0; ; i++ {
		select {
		case r := <-helpers:
			return r, true
		default:
		}
		if i%32 == 0 {
			now := time.Now()
			if i == 0 {
				deadline = now.Add(d)
			} else if now.After(deadline) {
				return request{}, false
			}
			runtime.Gosched()
		}
	}
}

// sgemmBlocked computes C = alpha·op(A)·op(B) + beta·C with the packed
// micro-kernel path, on several cores when parallel is set and the product
// is large enough. The split does not change the order of any sum, so
// results are the same bit for bit however many goroutines take part.
func sgemmBlocked(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, parallel bool) {
	w := getWorkspace()
	defer putWorkspace(w)
	j := &w.job
	j.transA, j.transB, j.m, j.n, j.k = transA, transB, m, n, k
	j.alpha, j.beta = alpha, beta
	j.a, j.b, j.c = a, b, c
	j.lda, j.ldb, j.ldc = lda, ldb, ldc
	defer func() { j.a, j.b, j.c = nil, nil, nil }() // retain nothing of the caller's

	nt := 1
	if parallel && m*n*k >= parallelMin {
		nt = min(runtime.GOMAXPROCS(0), maxThreads, m*n*k/parallelMin, 256)
		if nt > 1 {
			startWorkers.Do(func() {
				workers = runtime.GOMAXPROCS(0) - 1
				helpers = make(chan request, 4*workers)
				for range workers {
					go worker()
				}
			})
			nt = min(nt, workers+1)
		}
		if nt > 1 && adaptive && skip.Load() > 0 {
			skip.Add(-1)
			nt = 1
		}
	}
	if nt <= 1 {
		w.run(j, 0, m, 0, n)
		return
	}

	// Cut the wider of m and n, so that the operand every block packs in
	// full (A when cutting n, B when cutting m) is the smaller one. Blocks
	// are whole micro-tiles.
	var blocks int
	j.splitM = m > n
	if j.splitM {
		j.step = roundUp((m+nt-1)/nt, mr)
		blocks = (m + j.step - 1) / j.step
	} else {
		j.step = roundUp((n+nt-1)/nt, nr)
		blocks = (n + j.step - 1) / j.step
	}
	gen := uint32(j.state.Load()>>32) + 1
	j.done.Add(blocks)
	j.state.Store(uint64(gen)<<32 | uint64(blocks)<<16) // publishes the job
	for range min(nt, blocks) - 1 {
		select {
		case helpers <- request{j, gen}:
		default: // the workers have enough requests queued already
		}
	}

	start := time.Now()
	mine := j.work(w, gen)
	worked := time.Since(start)
	j.done.Wait()
	if adaptive {
		if waited := time.Since(start) - worked; mine == blocks || waited > worked {
			p := min(max(2*penalty.Load(), 1), maxPenalty)
			penalty.Store(p)
			skip.Store(p)
		} else {
			penalty.Store(0)
		}
	}
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }
