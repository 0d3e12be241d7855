package layers

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Sharing work between goroutines.
//
// Conv2D, MaxPool2D and ReLU cut large passes into blocks (of samples, of
// image planes, of elements) that the calling goroutine and one helper
// goroutine share. The helper is started on first use when GOMAXPROCS > 1.
// Blocks are claimed one at a time, so a helper that the operating system
// keeps waiting costs the caller only the blocks it takes over; and which
// goroutine computes a block never changes its result, so results are the
// same whatever GOMAXPROCS.
//
// Handing work to a sleeping goroutine is slow on the machines we measure on
// (2-vCPU virtual machines): the woken goroutine is queued on the waker's
// core, and another core takes it from there only after a sleep that the
// kernel rounds up to a millisecond. So the caller yields right after waking
// the helper, which then runs at once while the caller moves to the other
// core (within microseconds); and the helper, after a pass, watches for the
// next one for blockHelperSpin before it sleeps again, so that the passes of
// a network's consecutive layers find it awake.

// blockGoroutines is how many goroutines share a pass: the caller (slot 0)
// and the helper (slot 1).
const blockGoroutines = 2

// blockWorker computes block b of blocks of its current pass, with the
// scratch memory of slot.
type blockWorker interface {
	workBlock(slot, b, blocks int)
}

// blockJob is the claim state of the passes of one blockWorker.
type blockJob struct {
	w blockWorker // the worker whose passes these are
	// state packs the generation (high 32 bits), the number of blocks (next
	// 16) and the next unclaimed block (low 16), so that one
	// compare-and-swap checks that a claim is for the current pass and takes
	// a block.
	state atomic.Uint64
	left  atomic.Int32   // blocks not yet computed
	done  sync.WaitGroup // the same count, to sleep on
}

// runBlocks computes blocks 0 … blocks−1 of w's current pass, whose claim
// state is j: on the calling goroutine alone when there is one block or one
// core, otherwise together with the helper. Whatever w's blocks read must be
// in place before the call.
func runBlocks(j *blockJob, w blockWorker, blocks int) {
	if blocks <= 1 || runtime.GOMAXPROCS(0) == 1 {
		for b := range blocks {
			w.workBlock(0, b, blocks)
		}
		return
	}
	blockHelperStart.Do(func() { go blockHelper() })
	if j.w == nil { // before the first pass is posted; never written again
		j.w = w
	}
	gen := uint32(j.state.Load()>>32) + 1
	j.left.Store(int32(blocks))
	j.done.Add(blocks)
	j.state.Store(uint64(gen)<<32 | uint64(blocks)<<16) // publishes the pass
	// Post the pass for the helper (replacing any other: every caller
	// computes its own pass's unclaimed blocks), and wake it if it sleeps.
	blockMail.Store(j)
	if blockHelperAsleep.Load() {
		select {
		case blockHelperWake <- struct{}{}:
		default: // a wake-up is pending already
		}
		// The helper is now queued on this goroutine's core: yield, so that
		// it runs here at once and this goroutine moves to the other core.
		runtime.Gosched()
	}
	start := time.Now()
	mine := j.work(0, gen)
	// The helper may still be computing its last block: spin on the count
	// for as long as a block has taken this goroutine (and half as long
	// again) before sleeping. On an otherwise idle machine the helper is done
	// by then, and the caller never pays the tens of microseconds of a sleep
	// and wake-up (nor the runtime's occasional allocation of a record of the
	// sleeping goroutine); a helper that the operating system keeps waiting
	// costs a bounded spin.
	spin := blockSpin
	if mine > 0 {
		spin = time.Since(start) / time.Duration(mine) * 3 / 2
	}
	for t := time.Now(); j.left.Load() != 0 && time.Since(t) < spin; {
	}
	j.done.Wait()
}

// blockSpin is how long runBlocks spins waiting for the helper when it
// computed no block itself.
const blockSpin = 100 * time.Microsecond

// blockHelperSpin is how long the helper watches for a new pass after its
// last one before it sleeps: long enough to span the gaps between the
// layers of a training step that share their work, short enough to leave the
// core to gemm's workers (and to other processes) during long serial parts.
const blockHelperSpin = 200 * time.Microsecond

var (
	blockHelperStart  sync.Once
	blockMail         atomic.Pointer[blockJob] // the pass posted for the helper
	blockHelperAsleep atomic.Bool              // set while the helper sleeps, or is about to
	blockHelperWake   = make(chan struct{}, 1)
)

// blockHelper is the helper goroutine: it takes the posted pass and claims
// blocks of it until none is left, watches for the next one for a while,
// then sleeps until woken.
func blockHelper() {
	for {
		idle := time.Now()
		for i := 0; ; i++ {
			if j := blockMail.Swap(nil); j != nil {
				j.help()
				idle, i = time.Now(), 0
				continue
			}
			if i%64 == 63 && time.Since(idle) >= blockHelperSpin {
				break
			}
		}
		// Announce the sleep, then look once more: a caller posts its pass
		// before it checks blockHelperAsleep, so either it sees the flag and
		// sends a wake-up, or the pass is seen here.
		blockHelperAsleep.Store(true)
		if j := blockMail.Swap(nil); j != nil {
			blockHelperAsleep.Store(false)
			j.help()
			continue
		}
		<-blockHelperWake
		blockHelperAsleep.Store(false)
	}
}

// help claims blocks of j's current pass for the helper.
func (j *blockJob) help() {
	j.work(1, uint32(j.state.Load()>>32))
}

// work claims and computes blocks of generation gen, using scratch slot,
// until none is left, and returns how many it computed.
func (j *blockJob) work(slot int, gen uint32) (done int) {
	for {
		s := j.state.Load()
		next, blocks := int(s&0xffff), int(s>>16&0xffff)
		if uint32(s>>32) != gen || next >= blocks {
			return done
		}
		if j.state.CompareAndSwap(s, s+1) {
			j.w.workBlock(slot, next, blocks)
			j.left.Add(-1)
			j.done.Done()
			done++
		}
	}
}

// elemBlocks returns how many blocks an element-wise pass over n values is
// cut into: one per 32768 values, at most 8, so that a block is worth the
// few microseconds it takes to wake the helper.
func elemBlocks(n int) int { return min(max(n>>15, 1), 8) }
