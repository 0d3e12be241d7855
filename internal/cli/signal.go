package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"sync"
	"syscall"

	"github.com/descent-ml/descent/backprop"
)

// Interrupted is the cause with which [NotifyInterrupt]'s context is
// canceled: the signal that asked the command to stop. A command returns
// an error wrapping it, and [ExitCode] turns it into 128 + the signal's
// number (130 for SIGINT, 143 for SIGTERM), as shells do.
type Interrupted struct {
	Signal os.Signal
}

// Error names the signal.
func (e Interrupted) Error() string {
	switch e.Signal {
	case syscall.SIGINT:
		return "interrupted (SIGINT)"
	case syscall.SIGTERM:
		return "interrupted (SIGTERM)"
	}
	return fmt.Sprintf("interrupted (%v)", e.Signal)
}

// ExitStatus returns 128 plus the signal's number.
func (e Interrupted) ExitStatus() int {
	if s, ok := e.Signal.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 128 + int(syscall.SIGINT)
}

// NotifyInterrupt routes the command's SIGINT and SIGTERM. While it trains
// (between [Training] and the done function Training returns), the first
// signal cancels the returned context, with an [Interrupted] cause, after
// printing on w that the command is finishing its batch and saving a
// checkpoint; training stops at the end of the batch. Any other signal, a
// second one or one that comes while the command does anything else
// (reads data, evaluates, saves its model, classifies text), calls exit
// with 128 + its number at once (os.Exit in a command): files are written
// atomically, so whatever was saved before stays whole. stop stops
// listening for the signals and must be called when the command is done.
func NotifyInterrupt(name string, w io.Writer, exit func(code int)) (ctx context.Context, stop func()) {
	r := &router{}
	ctx, cancel := context.WithCancelCause(context.WithValue(context.Background(), routerKey{}, r))
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case sig := <-ch:
				in := Interrupted{Signal: sig}
				r.mu.Lock()
				stopTraining := r.training && ctx.Err() == nil
				if stopTraining {
					fmt.Fprintf(w, "\n%s: %v: finishing the batch and saving a checkpoint; interrupt again to quit at once\n", name, in)
					cancel(in)
				}
				again := !stopTraining && ctx.Err() != nil
				r.mu.Unlock()
				if stopTraining {
					continue
				}
				if again {
					fmt.Fprintf(w, "%s: %v again: quitting at once\n", name, in)
				} else {
					fmt.Fprintf(w, "\n%s: %v: quitting\n", name, in)
				}
				exit(in.ExitStatus())
				return
			case <-done:
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(context.Canceled)
	}
}

// router records whether a command of [NotifyInterrupt] is training.
type router struct {
	mu       sync.Mutex
	training bool
}

// routerKey is the context key of the router.
type routerKey struct{}

// Training marks the start of the training of a command whose ctx comes
// from [NotifyInterrupt]: until done is called, the first SIGINT or SIGTERM
// closes stop (ctx.Done(), to pass as backprop.Config.Stop) instead of
// ending the command. Call done as soon as Fit returns. For a ctx of
// another origin (a test's), stop is ctx.Done() and done does nothing.
func Training(ctx context.Context) (stop <-chan struct{}, done func()) {
	r, _ := ctx.Value(routerKey{}).(*router)
	if r == nil {
		return ctx.Done(), func() {}
	}
	r.mu.Lock()
	r.training = true
	r.mu.Unlock()
	return ctx.Done(), func() {
		r.mu.Lock()
		r.training = false
		r.mu.Unlock()
	}
}

// Stopped turns the error of a training run that ctx stopped (one wrapping
// [backprop.ErrStopped]) into the command's error: it wraps the
// [Interrupted] cause of ctx, for the exit status, and adds the command
// that resumes the run (see [ResumeCommand]) when the checkpoint was
// written (a [*backprop.StopError] with its Checkpoint set), or says that
// the run cannot be resumed when resume is empty. A checkpoint that could
// not be written ([backprop.ErrCheckpointSave]) prints no resume command:
// the error says so, and where the run's last checkpoint is. Other errors
// are returned unchanged.
func Stopped(ctx context.Context, err error, resume string) error {
	if !errors.Is(err, backprop.ErrStopped) {
		return err
	}
	cause := context.Cause(ctx)
	if cause == nil {
		cause = Interrupted{Signal: syscall.SIGINT}
	}
	var se *backprop.StopError
	switch {
	case resume == "":
		return fmt.Errorf("%w: %w; this run cannot be resumed", cause, err)
	case errors.As(err, &se) && se.Checkpoint != "":
		return fmt.Errorf("%w: %w\nto resume: %s", cause, err, resume)
	}
	return fmt.Errorf("%w: %w", cause, err)
}

// ResumeCommand returns the command line that resumes a run started with
// args: name, -resume dir, then args without any -resume flag (and its
// value) before a "--" (what follows it is kept as it is), each quoted for
// a POSIX shell where needed. -resume comes first, where it cannot be
// taken for the value of another flag nor come after the "--" that ends
// the flags.
func ResumeCommand(name string, args []string, dir string) string {
	out := []string{name, "-resume", dir}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		flagName, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && flagName == "resume" {
			if !hasValue {
				i++ // the value is the next argument
			}
			continue
		}
		out = append(out, a)
	}
	for i, a := range out {
		out[i] = ShellQuote(a)
	}
	return strings.Join(out, " ")
}

var plainArg = regexp.MustCompile(`^[A-Za-z0-9_./,:+@%-][A-Za-z0-9_./,:=+@%-]*$`)

// ShellQuote returns s quoted for a POSIX shell when it holds anything but
// letters, digits and _ . / , : = + @ % -, or starts with = (which zsh
// expands to the path of a command).
func ShellQuote(s string) string {
	if plainArg.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// BatchFunc is a backprop.Callback that calls itself after every batch
// (tests use it to interrupt a command's training in the middle).
type BatchFunc func(backprop.BatchInfo)

// OnBatchEnd calls f.
func (f BatchFunc) OnBatchEnd(b backprop.BatchInfo) { f(b) }

// OnEpochEnd does nothing.
func (f BatchFunc) OnEpochEnd(backprop.EpochInfo) (bool, error) { return false, nil }
