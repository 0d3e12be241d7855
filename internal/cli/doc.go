// Package cli holds what descent's two commands, cmd/mnist and
// cmd/sentiment, share: choosing an optimizer and a schedule by name, the
// per-epoch table, the loss-curve plot and CSV, and the final JSON line.
// It is internal: library users build these from the public packages.
package cli
