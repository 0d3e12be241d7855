package backprop

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"github.com/descent-ml/descent/datasets"
	"github.com/descent-ml/descent/nn"
	"github.com/descent-ml/descent/optim"
)

// A checkpoint is everything a [Fit] needs to carry on exactly where it
// stopped, so that a run interrupted and resumed ends with the same weights,
// bit for bit, as one that was never interrupted (on the same machine with
// the same GOMAXPROCS, whose work splitting fixes the order of the sums):
//
//   - the model: parameters and layer state (BatchNorm's running
//     statistics);
//   - the optimizer's state tensors (moments, running averages), its step
//     count and its learning rate ([optim.Stateful]);
//   - the schedule's progress (its MarshalBinary, see optim's schedules);
//   - the state of every random generator of the run: the shuffle's (as it
//     was before the current epoch's order was drawn; a resumed Fit replays
//     the shuffles from Config.Seed and checks that it gets this state),
//     that of every layer with a method Source() *rand.PCG
//     (layers.Dropout), and those of [Config.Sources] (data augmentation);
//   - the position: the epoch in progress and how many of its batches are
//     done, with that epoch's partial sums (loss, samples, correct
//     predictions, skipped batches, seconds), the Trainer's step and skip
//     counts;
//   - the history of the completed epochs;
//   - the state of every callback that is an [encoding.BinaryMarshaler]
//     ([EarlyStopping]);
//   - the application's metadata, [Config.CheckpointMeta].
//
// # File format
//
// A checkpoint is a model file in descent's format (nn.SaveFile: written to
// a temporary file, synced, renamed over the old one; a CRC-32C of the whole
// file), whose metadata holds the application's entries and one more, under
// the key "fit.state", the training state below. So a checkpoint can also be
// loaded as a model (nn.LoadFile), and a torn or corrupted one is refused by
// its checksum.
//
// "fit.state" is little-endian; a blob is a uint64 length and that many
// bytes; a string is a blob.
//
//	"DFIT" magic, uint32 version 1
//	uint64 samples, batch size; byte shuffle, drop last   (the data set and batching it was made for)
//	uint64 epochs of the run, epoch, batch; byte done (a callback stopped the run)
//	float64 loss sum; uint64 samples, correct, skipped; float64 seconds   (the epoch so far)
//	uint64 Trainer steps, Trainer skipped
//	blob   shuffle generator before the epoch's draw (empty without Shuffle)
//	uint32 n, n × (uint32 layer index, blob PCG state)        layer generators
//	uint32 n, n × blob PCG state                               Config.Sources
//	uint64 optimizer steps; float64 learning rate
//	uint32 n, n × (string name, uint64 count, count × float32)  optimizer state tensors
//	blob   schedule (empty without one)
//	uint32 n, n × (string type, blob)                          stateful callbacks, in order
//	uint32 n, n × (uint64 epoch, uint64 skipped, 7 × float64: loss, accuracy,
//	       val_loss, val_accuracy, lr, seconds, samples/s)      history
//
// A PCG state is what math/rand/v2's PCG.MarshalBinary writes.

// CheckpointKey is the metadata key under which a checkpoint file keeps the
// training state; [Config.CheckpointMeta] may not use it.
const CheckpointKey = "fit.state"

const (
	stateMagic   = "DFIT"
	stateVersion = 1
)

// ErrStopped is wrapped by the error [Fit] returns when [Config.Stop] ended
// it before its last epoch: a [*StopError].
var ErrStopped = errors.New("training stopped")

// ErrCheckpointSave is wrapped, besides [ErrStopped], by the [*StopError] of
// a Fit whose checkpoint could not be written when it stopped: there is no
// checkpoint of the point where it stopped.
var ErrCheckpointSave = errors.New("the checkpoint could not be written")

// StopError is the error [Fit] returns when [Config.Stop] ended it. It
// wraps [ErrStopped], and [ErrCheckpointSave] and the cause when the
// checkpoint could not be written. Its message says where training stopped
// and what became of the checkpoint:
//
//	backprop: Fit: training stopped in epoch 2/3 after batch 5/10; checkpoint saved to ckpt/checkpoint.bin
//	backprop: Fit: training stopped in epoch 2/3 after batch 5/10 (no checkpoint file set)
//	backprop: Fit: training stopped before its first batch; no checkpoint written (nothing to resume)
//	backprop: Fit: training stopped in epoch 2/3 after batch 5/10, but the checkpoint could not be written: …; this run's last checkpoint is still ckpt/checkpoint.bin
type StopError struct {
	// Func is the function stopped: "Fit" or "FitSparse".
	Func string
	// Epoch (counting from 0) is the epoch in progress, of Epochs, and
	// Batch the number of its batches done, of Batches.
	Epoch, Epochs, Batch, Batches int
	// Fresh reports a run (not resumed) stopped before its first batch: it
	// had nothing to save and wrote no checkpoint, so that the file of an
	// earlier run stays as it was.
	Fresh bool
	// Checkpoint is the file the checkpoint was saved to; "" when none was
	// written.
	Checkpoint string
	// SaveErr is why the checkpoint could not be written, nil if it was or
	// none was asked for.
	SaveErr error
	// Last, when SaveErr is set, is the run's previous checkpoint, still
	// whole on disk (files are replaced atomically): one Fit saved earlier,
	// or the one it resumed from; "" if there is none.
	Last string
}

// Error says where training stopped and whether a checkpoint was written.
func (e *StopError) Error() string {
	if e.Fresh {
		return fmt.Sprintf("backprop: %s: %v before its first batch; no checkpoint written (nothing to resume)", e.Func, ErrStopped)
	}
	msg := fmt.Sprintf("backprop: %s: %v in epoch %d/%d after batch %d/%d", e.Func, ErrStopped, e.Epoch+1, e.Epochs, e.Batch, e.Batches)
	switch {
	case e.Checkpoint != "":
		return msg + "; checkpoint saved to " + e.Checkpoint
	case e.SaveErr == nil:
		return msg + " (no checkpoint file set)"
	case e.Last != "":
		return fmt.Sprintf("%s, but %v: %v; this run's last checkpoint is still %s", msg, ErrCheckpointSave, e.SaveErr, e.Last)
	}
	return fmt.Sprintf("%s, but %v: %v; this run has no earlier checkpoint", msg, ErrCheckpointSave, e.SaveErr)
}

// Unwrap returns [ErrStopped], and [ErrCheckpointSave] and SaveErr when
// saving failed.
func (e *StopError) Unwrap() []error {
	if e.SaveErr != nil {
		return []error{ErrStopped, ErrCheckpointSave, e.SaveErr}
	}
	return []error{ErrStopped}
}

// Checkpoint is a checkpoint file read by [ReadCheckpoint]. Pass it as
// [Config.Resume] to carry on training from it.
type Checkpoint struct {
	// Path is the file it was read from.
	Path string
	// Model is the saved model, rebuilt from the file: weights, layer state
	// and specs. Fit copies its values into the Trainer's model, which must
	// have the same layers.
	Model *nn.Sequential
	// Meta is the application's metadata ([Config.CheckpointMeta] of the
	// run that wrote it).
	Meta map[string][]byte
	// Epoch is the epoch in progress, counting from 0, and Batch the number
	// of its batches done (0 at the end of an epoch, when Epoch is the next
	// one).
	Epoch, Batch int
	// Epochs is [Config.Epochs] of the run that wrote it.
	Epochs int
	// Done reports that the run that wrote it had finished: it ran its
	// epochs, or a callback stopped it. Resuming it trains nothing, unless
	// the resumed run asks for more epochs than a run that ran its epochs.
	Done bool
	// History holds the epochs completed.
	History History
	// Steps and Skipped are the Trainer's step and skip counts.
	Steps, Skipped int

	raw []byte // the file, for nn.Sequential.LoadWeights
	st  *fitState
}

// fitState is the decoded "fit.state" entry.
type fitState struct {
	samples, batchSize int
	shuffle, dropLast  bool
	epochs             int
	pos                position
	steps, skipped     int
	shuffleRNG         []byte
	layerIdx           []int
	layerRNG           [][]byte
	sources            [][]byte
	optSteps           int
	optLR              float64
	optNames           []string
	optState           [][]float32
	schedule           []byte
	cbTypes            []string
	cbState            [][]byte
	history            History
}

// position is where a Fit is: the epoch in progress, the batches done in it
// and the sums of that epoch so far.
type position struct {
	epoch, batch              int
	done                      bool // a callback stopped the run
	lossSum                   float64
	samples, correct, skipped int
	seconds                   float64
}

// ReadCheckpoint reads a checkpoint written by [Fit] (see [Config.Checkpoint]),
// rebuilding its model with build (layers.FromSpec for descent's layers) as
// [nn.LoadFile] does. It returns an error naming the file if it cannot be
// read, is not a regular file (a FIFO or a device, or a link to one, is
// refused before it is opened), is not a descent model file, fails its
// checksum, or is a model saved without training state. It reads no more
// than the length the file's header declares, itself bounded by the
// format.
func ReadCheckpoint(path string, build func(nn.Spec) (nn.Layer, error)) (*Checkpoint, error) {
	if fi, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("backprop: checkpoint: %w", err)
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("backprop: checkpoint %s: not a regular file but %s", path, fileKind(fi.Mode()))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("backprop: checkpoint: %w", err)
	}
	defer f.Close()
	// nn.Load reads the header, then exactly the length it declares (as
	// the data arrives), then checks that nothing follows: what it reads is
	// the file, kept for LoadWeights.
	var file bytes.Buffer
	m, meta, err := nn.Load(io.TeeReader(f, &file), build)
	if err != nil {
		return nil, fmt.Errorf("backprop: checkpoint %s: %w", path, err)
	}
	raw := file.Bytes()
	blob, ok := meta[CheckpointKey]
	if !ok {
		return nil, fmt.Errorf("backprop: checkpoint %s: a model file without training state, not a checkpoint", path)
	}
	delete(meta, CheckpointKey)
	st, err := decodeState(blob)
	if err != nil {
		return nil, fmt.Errorf("backprop: checkpoint %s: training state: %w", path, err)
	}
	return &Checkpoint{Path: path, Model: m, Meta: meta, Epoch: st.pos.epoch, Batch: st.pos.batch, Epochs: st.epochs,
		Done: st.pos.done || st.pos.epoch >= st.epochs, History: st.history, Steps: st.steps, Skipped: st.skipped, raw: raw, st: st}, nil
}

// fileKind names what a file that is not a regular one is.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return fmt.Sprintf("of mode %v", m.Type())
}

// randomLayer is a layer with its own generator (layers.Dropout).
type randomLayer interface{ Source() *rand.PCG }

// randomLayers returns the layers of m that have a generator, and their
// indices in m.Layers: the generators a checkpoint saves.
func randomLayers(m *nn.Sequential) (rl []randomLayer, idx []int) {
	for i, l := range m.Layers {
		if r, ok := l.(randomLayer); ok && r.Source() != nil {
			rl, idx = append(rl, r), append(idx, i)
		}
	}
	return rl, idx
}

// checkpointer saves and restores the state of one Fit.
type checkpointer struct {
	t          *Trainer
	cfg        *Config
	samples    int
	shuffle    *rand.PCG
	loader     *datasets.Loader
	epochStart []byte // the shuffle state before the current epoch's draw
	last       string // the run's last checkpoint on disk: saved, or resumed from
}

// check reports, before training, what would keep a checkpoint from being
// written.
func (c *checkpointer) check() error {
	if _, ok := c.t.Optimizer.(optim.Stateful); !ok {
		return fmt.Errorf("checkpoints need an optimizer that exposes its state (optim.Stateful); %T does not", c.t.Optimizer)
	}
	if s := c.cfg.Schedule; s != nil {
		if _, ok := s.(encoding.BinaryMarshaler); !ok {
			return fmt.Errorf("checkpoints need a schedule that is an encoding.BinaryMarshaler; %T is not", s)
		}
	}
	if _, ok := c.cfg.CheckpointMeta[CheckpointKey]; ok {
		return fmt.Errorf("Config.CheckpointMeta may not use the key %q", CheckpointKey)
	}
	for i, s := range c.cfg.Sources {
		if s == nil {
			return fmt.Errorf("Config.Sources[%d] is nil", i)
		}
	}
	return nil
}

// startEpoch records the shuffle state before an epoch draws its order.
func (c *checkpointer) startEpoch() error {
	if c.shuffle == nil || c.cfg.Checkpoint == "" {
		return nil
	}
	b, err := c.shuffle.MarshalBinary()
	c.epochStart = b
	return err
}

// save writes the checkpoint file for position pos, after the epochs of h.
// The shuffle state it stores is the one before the draw of pos's epoch: at
// the end of an epoch (endOfEpoch), the generator's current state; once the
// epoch has started, the state startEpoch recorded.
func (c *checkpointer) save(pos position, h History, endOfEpoch bool) error {
	path := c.cfg.Checkpoint
	rng := c.epochStart
	if endOfEpoch && c.shuffle != nil {
		var err error
		if rng, err = c.shuffle.MarshalBinary(); err != nil {
			return err
		}
	}
	blob, err := c.encode(pos, h, rng)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	meta := make(map[string][]byte, len(c.cfg.CheckpointMeta)+1)
	for k, v := range c.cfg.CheckpointMeta {
		meta[k] = v
	}
	meta[CheckpointKey] = blob
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	if err := nn.SaveFile(path, c.t.Model, meta); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	c.last = path
	return nil
}

func (c *checkpointer) encode(pos position, h History, shuffleRNG []byte) ([]byte, error) {
	cfg, t := c.cfg, c.t
	var w stateWriter
	w.b = append(w.b, stateMagic...)
	w.u32(stateVersion)
	w.u64(uint64(c.samples))
	w.u64(uint64(cfg.BatchSize))
	w.flag(cfg.Shuffle)
	w.flag(cfg.DropLast)
	w.u64(uint64(cfg.Epochs))
	w.u64(uint64(pos.epoch))
	w.u64(uint64(pos.batch))
	w.flag(pos.done)
	w.f64(pos.lossSum)
	w.u64(uint64(pos.samples))
	w.u64(uint64(pos.correct))
	w.u64(uint64(pos.skipped))
	w.f64(pos.seconds)
	w.u64(uint64(t.steps))
	w.u64(uint64(t.skipped))
	w.blob(shuffleRNG)

	rl, idx := randomLayers(t.Model)
	w.u32(uint32(len(idx)))
	for k, r := range rl {
		b, err := r.Source().MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("layer %d (%s) generator: %w", idx[k], t.Model.Layers[idx[k]].Spec().Kind, err)
		}
		w.u32(uint32(idx[k]))
		w.blob(b)
	}
	w.u32(uint32(len(cfg.Sources)))
	for i, s := range cfg.Sources {
		b, err := s.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("Config.Sources[%d]: %w", i, err)
		}
		w.blob(b)
	}

	opt := t.Optimizer.(optim.Stateful) // checked before training
	w.u64(uint64(opt.Steps()))
	w.f64(opt.LR())
	w.u32(uint32(len(opt.State())))
	for _, p := range opt.State() {
		w.str(p.Name)
		w.f32s(p.Data())
	}
	var sched []byte
	if cfg.Schedule != nil {
		var err error
		if sched, err = cfg.Schedule.(encoding.BinaryMarshaler).MarshalBinary(); err != nil {
			return nil, fmt.Errorf("schedule: %w", err)
		}
	}
	w.blob(sched)

	var types []string
	var cbs [][]byte
	for i, cb := range cfg.Callbacks {
		if m, ok := cb.(encoding.BinaryMarshaler); ok {
			b, err := m.MarshalBinary()
			if err != nil {
				return nil, fmt.Errorf("callback %d (%T): %w", i, cb, err)
			}
			types, cbs = append(types, fmt.Sprintf("%T", cb)), append(cbs, b)
		}
	}
	w.u32(uint32(len(types)))
	for k := range types {
		w.str(types[k])
		w.blob(cbs[k])
	}

	w.u32(uint32(len(h.Epochs)))
	for _, e := range h.Epochs {
		w.u64(uint64(e.Epoch))
		w.u64(uint64(e.Skipped))
		for _, v := range [...]float64{e.Loss, e.Accuracy, e.ValLoss, e.ValAccuracy, e.LR, e.Seconds, e.SamplesPerSec} {
			w.f64(v)
		}
	}
	return w.b, nil
}

// restore puts the state of ck into the Trainer, its optimizer, the
// schedule, the generators and the callbacks, and returns the position to
// go on from and the history so far. It checks everything it can before it
// changes anything, names what does not fit, and on error leaves the model,
// optimizer, schedule and callbacks as they were.
//
// The shuffle is not restored from the saved state but replayed: the
// loader shuffles its previous order in place, so the order of an epoch
// depends on every draw before it. Fit's loader and generator are fresh,
// seeded with Config.Seed; restore reshuffles them once per completed
// epoch, which leaves both exactly as they were before the epoch in
// progress, and checks the generator against the saved state.
func (c *checkpointer) restore(ck *Checkpoint) (position, History, error) {
	st, t, cfg := ck.st, c.t, c.cfg
	fail := func(format string, args ...any) (position, History, error) {
		return position{}, History{}, fmt.Errorf(format, args...)
	}
	if st == nil {
		return fail("not read by ReadCheckpoint")
	}
	if st.samples != c.samples || st.batchSize != cfg.BatchSize || st.shuffle != cfg.Shuffle || st.dropLast != cfg.DropLast {
		return fail("it was written for %d samples in batches of %d (shuffle %t, drop last %t); this run has %d in batches of %d (shuffle %t, drop last %t)",
			st.samples, st.batchSize, st.shuffle, st.dropLast, c.samples, cfg.BatchSize, cfg.Shuffle, cfg.DropLast)
	}
	// A run of fewer epochs would drop the checkpoint's partial epoch, or
	// report more epochs than it was asked for.
	if p := st.pos; !p.done && (p.epoch > cfg.Epochs || p.epoch == cfg.Epochs && p.batch > 0) {
		if p.batch == 0 {
			return fail("it has done %d epochs, more than the %d of this run", p.epoch, cfg.Epochs)
		}
		return fail("it stopped in epoch %d after batch %d, beyond the %d epochs of this run", p.epoch+1, p.batch, cfg.Epochs)
	}
	rl, idx := randomLayers(t.Model)
	if !slices.Equal(idx, st.layerIdx) {
		return fail("it holds the generators of layers %v; this model has generators in layers %v", st.layerIdx, idx)
	}
	if len(st.sources) != len(cfg.Sources) {
		return fail("it holds %d extra generators (Config.Sources); this run has %d", len(st.sources), len(cfg.Sources))
	}
	states := append(slices.Clone(st.layerRNG), st.sources...)
	if cfg.Shuffle {
		states = append(states, st.shuffleRNG)
	}
	for _, b := range states {
		if err := new(rand.PCG).UnmarshalBinary(b); err != nil {
			return fail("a saved generator state: %w", err)
		}
	}
	opt := t.Optimizer.(optim.Stateful)
	state := opt.State()
	if len(state) != len(st.optNames) {
		return fail("its optimizer has %d state tensors %v; this run's %T has %d (another optimizer?)", len(st.optNames), st.optNames, t.Optimizer, len(state))
	}
	for i, p := range state {
		if p.Name != st.optNames[i] || len(p.Data()) != len(st.optState[i]) {
			return fail("its optimizer state tensor %d is %q of %d values; this run's is %q of %d (another optimizer or model?)",
				i, st.optNames[i], len(st.optState[i]), p.Name, len(p.Data()))
		}
	}
	if !(st.optLR >= 0) || math.IsInf(st.optLR, 1) {
		return fail("saved learning rate %g", st.optLR)
	}
	if (cfg.Schedule == nil) != (len(st.schedule) == 0) {
		return fail("schedule: saved %t, this run has one %t", len(st.schedule) > 0, cfg.Schedule != nil)
	}
	var cbs []Callback
	var types []string
	for _, cb := range cfg.Callbacks {
		if _, ok := cb.(encoding.BinaryMarshaler); ok {
			if _, ok := cb.(encoding.BinaryUnmarshaler); !ok {
				return fail("callback %T saves state it cannot restore (no UnmarshalBinary)", cb)
			}
			cbs, types = append(cbs, cb), append(types, fmt.Sprintf("%T", cb))
		}
	}
	if !slices.Equal(types, st.cbTypes) {
		return fail("it holds the state of callbacks %v; this run has %v", st.cbTypes, types)
	}
	if c.shuffle != nil {
		for range st.pos.epoch {
			c.loader.Reset()
		}
		b, err := c.shuffle.MarshalBinary()
		if err != nil {
			return fail("shuffle generator: %w", err)
		}
		if !bytes.Equal(b, st.shuffleRNG) {
			return fail("its shuffle generator is not that of Config.Seed %d after %d epochs (was it written with another seed?)", cfg.Seed, st.pos.epoch)
		}
	}

	// What can fail after it has changed something is undone: the
	// schedule's and callbacks' states are kept to be put back.
	var undo []func()
	rollback := func(err error) (position, History, error) {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return position{}, History{}, err
	}
	keep := func(m encoding.BinaryMarshaler, restore func([]byte) error) error {
		old, err := m.MarshalBinary()
		if err == nil {
			undo = append(undo, func() { _ = restore(old) }) // restoring what it just wrote
		}
		return err
	}
	if s := cfg.Schedule; s != nil {
		restore := func(b []byte) error { return optim.RestoreSchedule(s, b) }
		if err := keep(s.(encoding.BinaryMarshaler), restore); err != nil {
			return rollback(fmt.Errorf("schedule: %w", err))
		}
		if err := restore(st.schedule); err != nil {
			return rollback(err)
		}
	}
	for k, cb := range cbs {
		u := cb.(encoding.BinaryUnmarshaler)
		if err := keep(cb.(encoding.BinaryMarshaler), u.UnmarshalBinary); err != nil {
			return rollback(fmt.Errorf("callback %s: %w", types[k], err))
		}
		if err := u.UnmarshalBinary(st.cbState[k]); err != nil {
			return rollback(fmt.Errorf("callback %s: %w", types[k], err))
		}
		if v, ok := cb.(interface{ checkRestored(*Trainer, int) error }); ok {
			if err := v.checkRestored(t, st.pos.epoch); err != nil {
				return rollback(fmt.Errorf("callback %s: %w", types[k], err))
			}
		}
	}
	// LoadWeights checks every layer's spec and every tensor's name and
	// shape before it copies anything.
	if _, err := t.Model.LoadWeights(bytes.NewReader(ck.raw)); err != nil {
		return rollback(err)
	}

	// Nothing below can fail: the generator states were checked above.
	for k, r := range rl {
		_ = r.Source().UnmarshalBinary(st.layerRNG[k])
	}
	for k, s := range cfg.Sources {
		_ = s.UnmarshalBinary(st.sources[k])
	}
	for i, p := range state {
		copy(p.Data(), st.optState[i])
	}
	opt.SetSteps(st.optSteps)
	opt.SetLR(st.optLR)
	t.steps, t.skipped = st.steps, st.skipped
	c.last = ck.Path
	h := History{Epochs: append([]EpochStats(nil), st.history.Epochs...)}
	return st.pos, h, nil
}

// stateWriter appends the primitives of the "fit.state" encoding.
type stateWriter struct{ b []byte }

func (w *stateWriter) u32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *stateWriter) u64(v uint64) { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *stateWriter) f64(v float64) {
	w.u64(math.Float64bits(v))
}
func (w *stateWriter) flag(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}
func (w *stateWriter) blob(p []byte) { w.u64(uint64(len(p))); w.b = append(w.b, p...) }
func (w *stateWriter) str(s string)  { w.blob([]byte(s)) }

// f32s writes a float32 vector: a uint64 length and the values' bits.
func (w *stateWriter) f32s(x []float32) {
	w.u64(uint64(len(x)))
	w.b = slices.Grow(w.b, 4*len(x))
	for _, v := range x {
		w.u32(math.Float32bits(v))
	}
}

// stateReader reads them back; every read is bounded by what remains, and
// the first failure sticks in err.
type stateReader struct {
	b   []byte
	err error
}

func (r *stateReader) take(n uint64, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = fmt.Errorf("%s needs %d bytes, %d remain", what, n, len(r.b))
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *stateReader) u32(what string) uint32 {
	if p := r.take(4, what); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (r *stateReader) u64(what string) uint64 {
	if p := r.take(8, what); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

// int reads a uint64 that must fit an int32, as every count here does.
func (r *stateReader) int(what string) int {
	v := r.u64(what)
	if r.err == nil && v > math.MaxInt32 {
		r.err = fmt.Errorf("%s %d is out of range", what, v)
	}
	return int(v)
}

func (r *stateReader) f64(what string) float64 { return math.Float64frombits(r.u64(what)) }

func (r *stateReader) flag(what string) bool {
	p := r.take(1, what)
	if p != nil && p[0] > 1 {
		r.err = fmt.Errorf("%s is %d, want 0 or 1", what, p[0])
	}
	return p != nil && p[0] == 1
}

func (r *stateReader) blob(what string) []byte {
	n := r.u64(what + " length")
	return bytes.Clone(r.take(n, what))
}

// f32s reads a float32 vector that f32s wrote; what names it in errors.
func (r *stateReader) f32s(what string) []float32 {
	k := r.u64(what + " size")
	if r.err == nil && k > uint64(len(r.b))/4 {
		r.err = fmt.Errorf("%s of %d values in %d bytes", what, k, len(r.b))
	}
	p := r.take(4*k, what+" values")
	x := make([]float32, len(p)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
	}
	return x
}

// count reads a uint32 count of entries of at least minSize bytes each.
func (r *stateReader) count(what string, minSize int) int {
	n := r.u32(what)
	if r.err == nil && uint64(n)*uint64(minSize) > uint64(len(r.b)) {
		r.err = fmt.Errorf("%s %d is more than the %d bytes that remain can hold", what, n, len(r.b))
		return 0
	}
	return int(n)
}

func decodeState(b []byte) (*fitState, error) {
	if len(b) < 8 || string(b[:4]) != stateMagic {
		return nil, errors.New("bad magic")
	}
	if v := binary.LittleEndian.Uint32(b[4:]); v != stateVersion {
		return nil, fmt.Errorf("version %d, this build of descent reads version %d", v, stateVersion)
	}
	r := &stateReader{b: b[8:]}
	st := &fitState{}
	st.samples = r.int("samples")
	st.batchSize = r.int("batch size")
	st.shuffle = r.flag("shuffle")
	st.dropLast = r.flag("drop last")
	st.epochs = r.int("epochs")
	p := &st.pos
	p.epoch = r.int("epoch")
	p.batch = r.int("batch")
	p.done = r.flag("done")
	p.lossSum = r.f64("loss sum")
	p.samples = r.int("samples seen")
	p.correct = r.int("correct")
	p.skipped = r.int("skipped")
	p.seconds = r.f64("seconds")
	st.steps = r.int("steps")
	st.skipped = r.int("skipped steps")
	st.shuffleRNG = r.blob("shuffle generator")
	n := r.count("layer generators", 12)
	for range n {
		st.layerIdx = append(st.layerIdx, int(r.u32("layer index")))
		st.layerRNG = append(st.layerRNG, r.blob("layer generator"))
	}
	n = r.count("sources", 8)
	for range n {
		st.sources = append(st.sources, r.blob("source"))
	}
	st.optSteps = r.int("optimizer steps")
	st.optLR = r.f64("learning rate")
	n = r.count("optimizer state tensors", 16)
	for range n {
		st.optNames = append(st.optNames, string(r.blob("state tensor name")))
		st.optState = append(st.optState, r.f32s("state tensor"))
	}
	st.schedule = r.blob("schedule")
	n = r.count("callbacks", 16)
	for range n {
		st.cbTypes = append(st.cbTypes, string(r.blob("callback type")))
		st.cbState = append(st.cbState, r.blob("callback state"))
	}
	n = r.count("history epochs", 72)
	for range n {
		e := EpochStats{Epoch: r.int("history epoch"), Skipped: r.int("history skipped")}
		for _, f := range []*float64{&e.Loss, &e.Accuracy, &e.ValLoss, &e.ValAccuracy, &e.LR, &e.Seconds, &e.SamplesPerSec} {
			*f = r.f64("history value")
		}
		st.history.Epochs = append(st.history.Epochs, e)
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(r.b) > 0 {
		return nil, fmt.Errorf("%d bytes of trailing garbage", len(r.b))
	}
	if st.batchSize < 1 || st.samples < 1 || p.batch > (st.samples+st.batchSize-1)/st.batchSize {
		return nil, fmt.Errorf("position: batch %d of %d samples in batches of %d", p.batch, st.samples, st.batchSize)
	}
	return st, nil
}

var (
	_ encoding.BinaryMarshaler   = (*EarlyStopping)(nil)
	_ encoding.BinaryUnmarshaler = (*EarlyStopping)(nil)
)

// MarshalBinary writes the EarlyStopping's progress (best value and epoch,
// epochs waited, and with RestoreBest the best epoch's parameters and
// state), so that a checkpoint keeps it across an interruption.
func (e *EarlyStopping) MarshalBinary() ([]byte, error) {
	var w stateWriter
	w.f64(e.best)
	w.u64(uint64(e.bestEpoch + 1))
	w.u64(uint64(e.wait))
	w.u64(uint64(e.stopped))
	w.u32(uint32(len(e.snapshot)))
	for _, s := range e.snapshot {
		w.f32s(s)
	}
	return w.b, nil
}

// UnmarshalBinary restores what MarshalBinary wrote.
func (e *EarlyStopping) UnmarshalBinary(data []byte) error {
	r := &stateReader{b: data}
	best := r.f64("best")
	bestEpoch := r.int("best epoch") - 1
	wait := r.int("wait")
	stopped := r.int("stopped")
	n := r.count("snapshot tensors", 8)
	snap := make([][]float32, 0, n)
	for range n {
		snap = append(snap, r.f32s("snapshot"))
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%d bytes of trailing garbage", len(r.b))
	}
	if r.err != nil {
		return fmt.Errorf("backprop: EarlyStopping state: %w", r.err)
	}
	e.best, e.bestEpoch, e.wait, e.stopped, e.snapshot = best, bestEpoch, wait, stopped, snap
	return nil
}
