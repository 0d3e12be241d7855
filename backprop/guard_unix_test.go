//go:build unix

package backprop

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/descent-ml/descent/layers"
)

// TestReadCheckpointRefusesNonRegularFiles: a named pipe (which would
// block until a writer comes, then be read without end), a device, a link
// to one, or a folder is refused at once.
func TestReadCheckpointRefusesNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.ckpt")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	link := filepath.Join(dir, "zero.ckpt")
	require.NoError(t, os.Symlink("/dev/zero", link))
	for _, tc := range []struct{ path, kind string }{
		{fifo, "a named pipe"}, {"/dev/zero", "a device"}, {link, "a device"}, {dir, "a folder"},
	} {
		_, err := ReadCheckpoint(tc.path, layers.FromSpec)
		require.EqualError(t, err, "backprop: checkpoint "+tc.path+": not a regular file but "+tc.kind)
	}
}
