// Package datasets reads, downloads and batches real data for descent.
//
// A [Dataset] fills caller-owned batch tensors from the samples it keeps in
// memory in their most compact form (MNIST images stay bytes and become
// float32 one mini-batch at a time). A [Loader] yields mini-batches of sample
// indices, reshuffled every epoch from a seeded source; [Split] and [Subset]
// carve validation sets.
//
// Text corpora (IMDB, sentence polarity, SST-2, any label<TAB>text file) are
// read by the Load* functions into a [Corpus]; a [Vectorizer] fitted on the
// training texts turns documents into sparse bag-of-words rows ([Bags], a
// [SparseDataset]) — binary, counts or TF-IDF, over unigrams or unigrams and
// bigrams — without ever building the dense matrix.
//
// Files are validated before they are trusted: every reader checks magic
// numbers, counts and lengths and returns an error naming the file. Downloads
// are verified against known SHA-256 sums and written to a temporary name
// that is renamed only after verification.
//
// # Conventions
//
//   - Errors. Bad files, missing files and downloads that fail are returned
//     as errors naming the file (and, for a missing set, where it looked
//     and how to supply it: [ErrMissing]); readers never panic on bad data.
//   - Panics. [Dataset].Batch and [SparseDataset].SparseBatch panic, naming
//     the data set and the shapes, when given tensors of the wrong shape or
//     an index out of range: those are programmer errors in a training loop.
//   - Allocation. Batch and SparseBatch fill caller-owned tensors and
//     allocate nothing (SparseBatch once its [nn.Sparse] has grown to the
//     largest batch); a [Loader] allocates its permutation once.
//   - Aliasing. [NewTensorDataset], [NewSubset], [Split] and [Bags.Select]
//     keep references to the data they are given, not copies; the slice
//     [Loader.Next] returns belongs to the loader and is valid until the next
//     [Loader.Reset]. [Subset] and [RandomShift] keep scratch memory and are
//     not safe for concurrent use.
//   - Randomness comes from an explicit *rand.Rand: the same seed gives the
//     same shuffles, splits and shifts.
//
// docs/datasets.md describes the formats, where the data is looked for and
// downloaded from, the checksums and offline use.
package datasets
