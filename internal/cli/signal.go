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

// NotifyInterrupt returns a context that the first SIGINT or SIGTERM
// cancels, with an [Interrupted] cause, after printing on w that the
// command is finishing its batch and saving a checkpoint. A second signal
// calls exit with 128 + its number at once (os.Exit in a command): files
// are written atomically, so whatever was saved before stays whole. stop
// stops listening for the signals and must be called when the command is
// done.
func NotifyInterrupt(name string, w io.Writer, exit func(code int)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		first := true
		for {
			select {
			case sig := <-ch:
				in := Interrupted{Signal: sig}
				if !first {
					fmt.Fprintf(w, "%s: %v again: quitting at once\n", name, in)
					exit(in.ExitStatus())
					return
				}
				first = false
				fmt.Fprintf(w, "\n%s: %v: finishing the batch and saving a checkpoint; interrupt again to quit at once\n", name, in)
				cancel(in)
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

// Stopped turns the error of a training run that ctx stopped (one wrapping
// [backprop.ErrStopped]) into the command's error: it wraps the
// [Interrupted] cause of ctx, for the exit status, and adds the command
// that resumes the run (see [ResumeCommand]), or says that the run cannot
// be resumed when resume is empty. Other errors are returned unchanged.
func Stopped(ctx context.Context, err error, resume string) error {
	if !errors.Is(err, backprop.ErrStopped) {
		return err
	}
	cause := context.Cause(ctx)
	if cause == nil {
		cause = Interrupted{Signal: syscall.SIGINT}
	}
	if resume == "" {
		return fmt.Errorf("%w: %w; this run cannot be resumed", cause, err)
	}
	return fmt.Errorf("%w: %w\nto resume: %s", cause, err, resume)
}

// ResumeCommand returns the command line that resumes a run started with
// args: name, then args without any -resume flag (and its value), then
// -resume dir, each quoted for a POSIX shell where needed.
func ResumeCommand(name string, args []string, dir string) string {
	out := []string{name}
	for i := 0; i < len(args); i++ {
		a := args[i]
		flagName, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && flagName == "resume" {
			if !hasValue {
				i++ // the value is the next argument
			}
			continue
		}
		out = append(out, a)
	}
	out = append(out, "-resume", dir)
	for i, a := range out {
		out[i] = ShellQuote(a)
	}
	return strings.Join(out, " ")
}

var plainArg = regexp.MustCompile(`^[A-Za-z0-9_./,:=+@%^-]+$`)

// ShellQuote returns s quoted for a POSIX shell when it holds anything but
// letters, digits and _ . / , : = + @ % ^ -.
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
