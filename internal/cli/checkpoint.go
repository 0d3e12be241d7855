package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/descent-ml/descent/backprop"
	"github.com/descent-ml/descent/layers"
)

// CheckpointFile is the name of the checkpoint file inside a command's
// -checkpoint folder. The file is a backprop checkpoint (a descent model
// file with the training state in its metadata, see backprop.Checkpoint)
// whose metadata also holds the keys below, and the command's own model
// metadata, so that -load can read it as a model.
const CheckpointFile = "checkpoint.bin"

// Metadata keys of the commands' checkpoints.
const (
	// MetaProgram is the command that wrote the checkpoint.
	MetaProgram = "checkpoint.program"
	// MetaSettings is the run's [Settings] as a JSON object.
	MetaSettings = "checkpoint.settings"
	// MetaGOMAXPROCS is the GOMAXPROCS of the run that wrote it.
	MetaGOMAXPROCS = "checkpoint.gomaxprocs"
)

// Settings are what a training run was started with, flag name → value, as
// far as they decide its result: a checkpoint records them, and a resumed
// run must have the same.
type Settings map[string]string

// Meta returns the checkpoint metadata of a run of program with these
// settings, merged into extra (which it changes and returns; nil starts a
// new map).
func (s Settings) Meta(program string, extra map[string][]byte) map[string][]byte {
	if extra == nil {
		extra = map[string][]byte{}
	}
	b, _ := json.Marshal(map[string]string(s)) // a map of strings always encodes
	extra[MetaProgram] = []byte(program)
	extra[MetaSettings] = b
	extra[MetaGOMAXPROCS] = []byte(strconv.Itoa(runtime.GOMAXPROCS(0)))
	return extra
}

// Diff lists the settings that differ from saved, as
// "-lr 0.05 there, 0.1 here", sorted by flag name; "" if none does.
func (s Settings) Diff(saved Settings) string {
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(mergeKeys(s, saved))) {
		there, okThere := saved[k]
		here, okHere := s[k]
		switch {
		case !okThere:
			diffs = append(diffs, fmt.Sprintf("-%s not recorded there, %s here", k, here))
		case !okHere:
			diffs = append(diffs, fmt.Sprintf("-%s %s there, not set here", k, there))
		case there != here:
			diffs = append(diffs, fmt.Sprintf("-%s %s there, %s here", k, there, here))
		}
	}
	return strings.Join(diffs, "; ")
}

func mergeKeys(a, b Settings) map[string]bool {
	m := map[string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}

// ReadCheckpoint reads the checkpoint in the -resume folder dir, written by
// program, and checks that it was made with the settings s. Its errors name
// the folder and what is wrong: no checkpoint there, a file that is not one
// or is corrupted, a checkpoint of another command, other settings. When
// the checkpoint was written with another GOMAXPROCS it says on warn that
// the result will not be bit for bit that of an uninterrupted run.
func ReadCheckpoint(dir, program string, s Settings, warn io.Writer) (*backprop.Checkpoint, error) {
	path := filepath.Join(dir, CheckpointFile)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		if err == nil {
			err = errors.New("not a folder")
		}
		return nil, fmt.Errorf("-resume %s: %w", dir, err)
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("-resume %s: no checkpoint in this folder (%s is missing)", dir, CheckpointFile)
	}
	ck, err := backprop.ReadCheckpoint(path, layers.FromSpec)
	if err != nil {
		return nil, fmt.Errorf("-resume %s: %w", dir, err)
	}
	if p := string(ck.Meta[MetaProgram]); p != program {
		if p == "" {
			p = "another program"
		}
		return nil, fmt.Errorf("-resume %s: a checkpoint of %s, not of %s", dir, p, program)
	}
	var saved Settings
	if err := json.Unmarshal(ck.Meta[MetaSettings], &saved); err != nil {
		return nil, fmt.Errorf("-resume %s: the checkpoint's settings: %w", dir, err)
	}
	if d := s.Diff(saved); d != "" {
		return nil, fmt.Errorf("-resume %s: the checkpoint was written with other settings: %s (resume with the flags of the interrupted run)", dir, d)
	}
	if g := string(ck.Meta[MetaGOMAXPROCS]); g != strconv.Itoa(runtime.GOMAXPROCS(0)) && warn != nil {
		fmt.Fprintf(warn, "%s: note: the checkpoint was written with GOMAXPROCS %s, this run has %d: the result will differ in the last bits from an uninterrupted run\n",
			program, g, runtime.GOMAXPROCS(0))
	}
	return ck, nil
}

// CheckpointDir makes sure dir exists as a folder (creating it if need
// be), so that a bad -checkpoint is reported before training, not after
// the first epoch.
func CheckpointDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("-checkpoint %s: %w", dir, err)
	}
	return nil
}

// KeepCheckpoint protects the checkpoint of an earlier run from a run that
// would replace it. dir is where this run will save checkpoints and resume
// the folder it resumes ("" if none). If dir holds a checkpoint and is not
// the folder resumed, KeepCheckpoint returns an error when the user named
// dir (explicit, with -checkpoint): resume that run with -resume, or choose
// another folder. For the default folder, where only interrupted runs
// save, it prints a note on warn instead, with the command that resumes
// it.
func KeepCheckpoint(program, dir string, explicit bool, resume string, warn io.Writer) error {
	if resume != "" && filepath.Clean(resume) == filepath.Clean(dir) {
		return nil
	}
	path := filepath.Join(dir, CheckpointFile)
	if _, err := os.Stat(path); err != nil {
		return nil // nothing to keep (or nothing we can see)
	}
	if explicit {
		return fmt.Errorf("-checkpoint %s already holds a checkpoint (%s): resume its run with -resume %s, or choose another folder", dir, path, dir)
	}
	if warn != nil {
		fmt.Fprintf(warn, "%s: note: %s holds the checkpoint of an interrupted run, which this run replaces if it is interrupted too (resume that run with -resume %s)\n",
			program, path, dir)
	}
	return nil
}

// CheckpointFolder returns the folder a command's checkpoints go to: the
// -checkpoint folder, else the -resume folder, else the default.
func CheckpointFolder(checkpoint, resume, def string) string {
	switch {
	case checkpoint != "":
		return checkpoint
	case resume != "":
		return resume
	}
	return def
}

// Checkpointing is where and how often a training run saves checkpoints,
// as [PrepareCheckpoint] decides it.
type Checkpointing struct {
	// Dir is the folder: -checkpoint, else the -resume folder, else the
	// command's default.
	Dir string
	// Path is the checkpoint file, Dir/[CheckpointFile].
	Path string
	// Every is 1 with -checkpoint or -resume (a checkpoint after every
	// epoch, as backprop.Config.CheckpointEvery), 0 when the run only saves
	// one if it is interrupted.
	Every int
}

// PrepareCheckpoint decides where a run of program saves its checkpoints
// from its -checkpoint and -resume flags and the default folder def, and
// checks that it can: it protects an earlier run's checkpoint
// ([KeepCheckpoint], whose notes go to warn), and with -checkpoint or
// -resume it creates the folder ([CheckpointDir]), so that a bad folder is
// reported before training.
func PrepareCheckpoint(program, checkpoint, resume, def string, warn io.Writer) (Checkpointing, error) {
	dir := CheckpointFolder(checkpoint, resume, def)
	c := Checkpointing{Dir: dir, Path: filepath.Join(dir, CheckpointFile)}
	if err := KeepCheckpoint(program, dir, checkpoint != "", resume, warn); err != nil {
		return Checkpointing{}, err
	}
	if checkpoint != "" || resume != "" {
		if err := CheckpointDir(dir); err != nil {
			return Checkpointing{}, err
		}
		c.Every = 1
	}
	return c, nil
}

// PrintResume prints on w the line a run resumed from ck starts with:
// "resuming from PATH: epoch E, batch B, N steps done" (E counted from 1).
func PrintResume(w io.Writer, ck *backprop.Checkpoint) {
	fmt.Fprintf(w, "resuming from %s: epoch %d, batch %d, %d steps done\n", ck.Path, ck.Epoch+1, ck.Batch, ck.Steps)
}
