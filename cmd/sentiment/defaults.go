package main

// formatDefaults are the settings each -format starts from (every one can
// be overridden by its flag; all formats share binary weights, logreg,
// Adam and batch 64). With them the command reaches the targets of the
// project's issue: IMDB test ≥ 90.5% (≥ 88.5% with -ngrams 1), MR 10-fold
// CV ≥ 78.5%, SST-2 dev ≥ 81%. tsv takes MR's settings.
//
// They were chosen on validation data carved out of the training data,
// never on the test (or dev) set, starting from the settings of the PyTorch
// reference script (shared/bench/SENTIMENT.md). The runs, seed 1, one
// column per epoch:
//
// IMDB: 5,000 of the 25,000 training reviews held out at random (-val 5000;
// the vocabulary is built from the other 20,000), validation accuracy:
//
//	uni+bigrams, 200,000 terms, lr 5e-4   .8996 .9054 .9090 .9104 .9112 .9130 .9118 .9110
//	uni+bigrams, 200,000 terms, lr 1e-3   .9020 .9108 .9114 .9120 .9124 .9134 .9110 .9102   ← chosen, 5 epochs
//	uni+bigrams, 200,000 terms, lr 2e-3   .9006 .9090 .9102 .9096 .9090 .9088 .9082 .9086
//	uni+bigrams, 100,000 terms, lr 1e-3   .8994 .9056 .9068 .9060 .9058 .9062 .9062 .9056
//	uni+bigrams, all terms, lr 1e-3       .9056 .9134 .9116 .9130 .9122 .9120 .9134 .9128   (no better, twice the table)
//	uni+bigrams, TF-IDF, lr 5e-3          .8954 .9056 .9080 .9076 .9078 .9072 .9080 .9076
//	uni+bigrams, counts, lr 1e-3          .8996 .9044 .9058 .9066 .9040 .9044 .9044 .9028
//	unigrams, all (≈75,000) terms, 1e-3   .8862 .8936 .8970 .8930 .8954 .8946 .8934 .8918   ← -ngrams 1 (200,000 keeps all)
//	unigrams, all terms, lr 2e-3          .8944 .8976 .8954 .8938 .8920 .8924 .8932 .8934
//	unigrams, 30,000 terms, lr 1e-3       .8854 .8916 .8946 .8924 .8956 .8940 .8928 .8930
//
// MR: inside each of the 10 folds' training part (9,596 sentences) a
// further 960 held out at random (-val 960); mean validation accuracy over
// the folds:
//
//	unigrams, lr 2e-3                     .7180 .7385 .7459 .7566 .7590 .7608 .7595 .7615
//	unigrams, lr 5e-3                     .7388 .7604 .7616 .7606 .7582 .7575 .7550 .7542
//	unigrams, lr 1e-2                     .7530 .7607 .7542 .7547 .7520 .7517 .7467 .7467
//	uni+bigrams, lr 2e-3                  .7384 .7595 .7653 .7699 .7718 .7744 .7745 .7773
//	uni+bigrams, lr 5e-3                  .7588 .7736 .7771 .7771 .7776 .7780 .7766 .7770   ← chosen, 5 epochs
//	uni+bigrams, lr 1e-2                  .7663 .7745 .7767 .7748 .7741 .7740 .7749 .7737
//	uni+bigrams, lr 2e-2                  .7611 .7669 .7642 .7644 .7643 .7652 .7659 .7661
//	uni+bigrams, TF-IDF, lr 2e-2          .7655 .7751 .7765 .7757 .7760 .7760 .7755 .7755
//	uni+bigrams, min count 2, lr 5e-3     .7545 .7678 .7702 .7689 .7690 .7687 .7669 .7675
//
// SST-2: a random split of the training set cannot choose anything: its
// 67,349 entries are phrases of the training sentences, so held-out phrases
// have their sub-phrases (and super-phrases) in training, and validation
// accuracy is ~90% and rises with every epoch. Instead, three validation
// sets of 1,000 full sentences each (drawn, with three seeds, from the
// 6,575 training phrases of 6 or more tokens that are not part of a longer
// one: sentences, as in dev), each with every training phrase contained in
// one of its sentences removed from training (≈ 56,000 phrases left).
// Mean accuracy over the three, training on the rest (-format tsv):
//
//	unigrams, lr 1e-3                     .7767 .7890 .7957 .8020 .8043 .8033
//	unigrams, lr 2e-3                     .7933 .8007 .8043 .8080 .8077 .8057
//	unigrams, lr 5e-3                     .8007 .8053 .8007 .8047 .8010 .7990
//	unigrams, lr 1e-2                     .8017 .8010 .7977 .7963 .7910 .7913
//	uni+bigrams, lr 1e-3                  .7903 .8070 .8107 .8120 .8120 .8113
//	uni+bigrams, lr 2e-3                  .8027 .8097 .8107 .8137 .8147 .8110   ← chosen, 5 epochs
//	uni+bigrams, lr 5e-3                  .8077 .8123 .8073 .8107 .8117 .8063
//	uni+bigrams, lr 1e-2                  .8050 .8040 .8013 .8053 .8000 .7953
//	uni+bigrams, TF-IDF, lr 1e-2          .8067 .8103 .8083 .8123 .8093 .8077
//	uni+bigrams, lr 2e-3, batch 32        .8057 .8130 .8087 .8140 .8147 .8130
//
// The MLP (-model mlp) uses the same settings; on IMDB's validation split
// it does not beat logistic regression (64 hidden units, lr 1e-3: .8984
// .9018 .9022 .9030; lr 3e-4 with -dropout 0.5: .9010 .9072 .9082 .9070).
var formatDefaults = map[string]struct {
	dataName string  // the folder under $DESCENT_DATA or the cache
	ngrams   int     // -ngrams
	vocab    int     // -vocab (0: all terms)
	lr       float64 // -lr for adam and adamw
	epochs   int     // -epochs
	folds    int     // -folds (0: the set's own test split; tsv without test.tsv: 10)
}{
	"imdb":     {"imdb", 2, 200000, 1e-3, 5, 0},
	"polarity": {"rt-polarity", 2, 0, 5e-3, 5, 10},
	"sst2":     {"sst2", 2, 0, 2e-3, 5, 0},
	"tsv":      {"", 2, 0, 5e-3, 5, 0},
}
