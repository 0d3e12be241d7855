// Package cli holds what descent's two commands, cmd/mnist and
// cmd/sentiment, share: choosing an optimizer and a schedule by name, the
// per-epoch table, the loss-curve plot and CSV, and the final JSON line.
// It is internal: library users build these from the public packages.
//
// It also holds the commands' handling of long runs. [NotifyInterrupt]
// turns the first SIGINT or SIGTERM into a canceled context, whose Done
// channel is backprop.Config.Stop, and quits at once on a second; [Stopped]
// turns the error of the stopped run into one that [ExitCode] maps to 130
// or 143, carrying the command line that resumes the run
// ([ResumeCommand]). [Settings], [ReadCheckpoint],
// [KeepCheckpoint] and [CheckpointDir] manage the -checkpoint and -resume
// folders: a checkpoint (backprop.Config.Checkpoint, in [CheckpointFile])
// records the flags that decide the result, and -resume refuses one
// written with other flags or by the other command.
//
// Conventions: bad names and values are returned as errors naming the flag
// or the value; every file is written through [WriteFileAtomic] (a
// temporary file beside the target, synced and renamed), so a failed or
// interrupted write never leaves a partial file.
package cli
