package cli

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"slices"
	"strings"
)

// ErrUsage marks a bad command line: the command has printed what is wrong
// and its usage, and exits with status 2.
var ErrUsage = errors.New("usage")

// Usagef prints "NAME: message" (NAME being fs.Name()) and then the usage
// of fs on fs.Output(), and returns [ErrUsage].
func Usagef(fs *flag.FlagSet, format string, args ...any) error {
	fmt.Fprintf(fs.Output(), fs.Name()+": "+format+"\n", args...)
	fs.Usage()
	return ErrUsage
}

// ParseFlags parses args with fs (made with flag.ContinueOnError) and
// returns flag.ErrHelp for -h, [ErrUsage] for any other parsing error (the
// flag package has printed it and the usage), and a usage error for a
// positional argument, which descent's commands do not take.
func ParseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return ErrUsage
	}
	if fs.NArg() > 0 {
		return Usagef(fs, "unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// ExitCode maps the error of a command to its exit status: 0 for nil and
// for -h (flag.ErrHelp), 2 for a bad command line ([ErrUsage]), 128 + the
// signal's number for a run stopped by a signal ([Interrupted]: 130 for
// SIGINT), 1 for anything else.
func ExitCode(err error) int {
	var in Interrupted
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, ErrUsage):
		return 2
	case errors.As(err, &in):
		return in.ExitStatus()
	}
	return 1
}

// OneOf returns an error "unknown WHAT "v" (want a, b or c)" unless v is in
// names.
func OneOf(what, v string, names ...string) error {
	if slices.Contains(names, v) {
		return nil
	}
	return fmt.Errorf("unknown %s %q (want %s)", what, v, Alternatives(names))
}

// Alternatives lists names as "a, b or c".
func Alternatives(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// PositiveFinite reports whether v is a positive, finite number (not NaN).
func PositiveFinite(v float64) bool { return v > 0 && !math.IsInf(v, 0) }

// NonNegativeFinite reports whether v is zero or a positive, finite number
// (not NaN).
func NonNegativeFinite(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }

// FlagsSet returns the names of the flags given on the command line
// (fs.Visit), so that a command can tell a default from an explicit value.
func FlagsSet(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}
