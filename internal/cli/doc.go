// Package cli holds what descent's two commands, cmd/mnist and
// cmd/sentiment, share: choosing an optimizer and a schedule by name, the
// per-epoch table, the loss-curve plot and CSV, and the final JSON line.
// It is internal: library users build these from the public packages.
//
// Conventions: bad names and values are returned as errors naming the flag
// or the value; every file is written through [WriteFileAtomic] (a
// temporary file beside the target, synced and renamed), so a failed or
// interrupted write never leaves a partial file.
package cli
