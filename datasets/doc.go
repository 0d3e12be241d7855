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
package datasets
