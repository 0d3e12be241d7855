// Package clitest holds what the tests of descent's commands share:
// running a command in process, interrupting it, and reading its output
// and the models it saved.
package clitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/backprop"
	"github.com/descent-ml/descent/internal/cli"
	"github.com/descent-ml/descent/layers"
	"github.com/descent-ml/descent/nn"
)

// Run calls run with buffers for its standard output and error, and
// returns its exit status and what it wrote.
func Run(run func(stdout, stderr io.Writer) int) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(&out, &errb)
	return code, out.String(), errb.String()
}

// LastJSON decodes the last line of stdout, the -json line of a command,
// into a map, failing the test if it is not a JSON object.
func LastJSON(t testing.TB, stdout string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var res map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &res), "last line: %s", lines[len(lines)-1])
	return res
}

// CancelAfter returns a context and a batch hook that cancels it after the
// n-th training batch, with the cause SIGINT gives it in a command
// (cli.Interrupted), so that a test interrupts a run in the middle of an
// epoch as Ctrl-C would.
func CancelAfter(n int) (context.Context, func(backprop.BatchInfo)) {
	ctx, cancel := context.WithCancelCause(context.Background())
	seen := 0
	return ctx, func(backprop.BatchInfo) {
		if seen++; seen == n {
			cancel(cli.Interrupted{Signal: syscall.SIGINT})
		}
	}
}

// ResumeArgs returns the arguments of the "to resume: PROGRAM ARGS" line
// that an interrupted command prints on stderr, failing the test if there
// is none or if an argument needed quoting.
func ResumeArgs(t testing.TB, program, stderr string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^to resume: ` + program + ` (.*)$`).FindStringSubmatch(stderr)
	require.NotNil(t, m, "no resume command in %q", stderr)
	require.NotContains(t, m[1], "'", "the test's arguments need no quoting")
	return strings.Fields(m[1])
}

// RequireSameWeights loads two model files and requires the same
// parameters and layer state, bit for bit.
func RequireSameWeights(t testing.TB, a, b string) {
	t.Helper()
	ma, _, err := nn.LoadFile(a, layers.FromSpec)
	require.NoError(t, err)
	mb, _, err := nn.LoadFile(b, layers.FromSpec)
	require.NoError(t, err)
	pa := slices.Concat(ma.Params(), ma.State())
	pb := slices.Concat(mb.Params(), mb.State())
	require.Len(t, pb, len(pa))
	for i, p := range pa {
		require.Equal(t, p.Name, pb[i].Name)
		require.Len(t, pb[i].Data(), len(p.Data()))
		for j, v := range p.Data() {
			if math.Float32bits(v) != math.Float32bits(pb[i].Data()[j]) {
				require.Failf(t, "weights differ", "%s and %s: tensor %d (%s) element %d: %g and %g", a, b, i, p.Name, j, v, pb[i].Data()[j])
			}
		}
	}
}

// SyncBuffer is a bytes.Buffer safe for concurrent use, for what a
// command's signal handler writes while the test reads.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Notify installs a command's signal handling as its main does
// ([cli.NotifyInterrupt]), with an exit function that records the status
// instead of ending the test, and returns the handler's context, the
// statuses exit was called with and the handler's messages. The handling
// is removed when the test ends.
func Notify(t testing.TB, program string) (context.Context, chan int, *SyncBuffer) {
	t.Helper()
	notes := &SyncBuffer{}
	exits := make(chan int, 4)
	ctx, stop := cli.NotifyInterrupt(program, notes, func(code int) { exits <- code })
	t.Cleanup(stop)
	return ctx, exits, notes
}

// RequireExit waits up to ten seconds for the status a command's signal
// handling passes to exit (on exits, as [Notify] returns it) and requires
// it to be want.
func RequireExit(t testing.TB, exits chan int, want int) {
	t.Helper()
	select {
	case code := <-exits:
		require.Equal(t, want, code)
	case <-time.After(10 * time.Second):
		t.Fatalf("the signal did not end the command (exit %d)", want)
	}
}

// Must returns v, and panics if err is not nil: for a test's calls that
// cannot fail unless the test itself is broken.
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
