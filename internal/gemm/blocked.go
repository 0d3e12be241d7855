package gemm

// The blocked path follows the BLIS design (Van Zee & van de Geijn, 2015).
// op(B) is copied ("packed") kc rows × nc columns at a time into micro-panels
// of nr columns, op(A) kc columns × mc rows at a time into micro-panels of mr
// rows, both laid out in the exact order the micro-kernel reads them. Packing
// absorbs the transposes and the leading dimensions, and pads the ragged
// edges with zeros, so the micro-kernel only ever sees one shape: a 6×16
// tile of C updated by alpha times a kc-long sum of outer products (at the
// ragged edges of C it reads and writes through masks). A packed mc×kc block
// of A stays in L2, one kc×16 micro-panel of B in L1.
const (
	mr = 6    // rows of a micro-tile: 6 × 2 YMM accumulators …
	nr = 16   // … of 8 floats each: 12 of the 16 YMM registers
	kc = 256  // depth of a packed block: one B micro-panel is kc·nr·4 = 16 KiB
	mc = 144  // rows of a packed A block: mc·kc·4 = 144 KiB
	nc = 2048 // columns of a packed B block: kc·nc·4 = 2 MiB
)

// workspace holds the packing buffers of one goroutine running the blocked
// path. Workspaces are recycled (see getWorkspace), so a warmed-up Sgemm
// allocates nothing.
type workspace struct {
	a   []float32 // packed A block: ⌈mc/mr⌉ micro-panels of kc×mr
	b   []float32 // packed B block: ⌈nc/nr⌉ micro-panels of kc×nr
	t   []float32 // a ragged panel of Bᵀ, zero-padded to nr rows of kc
	job job       // the product this workspace's caller is computing
}

func newWorkspace() *workspace {
	return &workspace{a: make([]float32, mc*kc), b: make([]float32, kc*nc), t: make([]float32, nr*kc)}
}

// pool recycles the workspaces of calling goroutines. A buffered channel,
// unlike sync.Pool, is not emptied by the garbage collector, so the steady
// state allocates nothing; goroutines beyond its capacity allocate.
var pool = make(chan *workspace, 16)

func getWorkspace() *workspace {
	select {
	case w := <-pool:
		return w
	default:
		return newWorkspace()
	}
}

func putWorkspace(w *workspace) {
	select {
	case pool <- w:
	default:
	}
}

// run computes rows [i0, i1) × columns [j0, j1) of C for job j.
func (w *workspace) run(j *job, i0, i1, j0, j1 int) {
	if j.beta != 0 { // beta = 0 is left to the first k block, which overwrites C
		scale(i1-i0, j1-j0, j.beta, j.c[i0*j.ldc+j0:], j.ldc)
	}
	k := j.k
	// Split k into equal blocks of at most kc (784 → 4×196, not 3×256+16).
	kb := (k + kc - 1) / kc
	kstep := (k + kb - 1) / kb
	for jc := j0; jc < j1; jc += nc {
		ncur := min(nc, j1-jc)
		for pc := 0; pc < k; pc += kstep {
			kcur := min(kstep, k-pc)
			w.packB(j, pc, kcur, jc, ncur)
			acc := 1
			if pc == 0 && j.beta == 0 {
				acc = 0 // first block overwrites C: beta = 0 clears even NaN
			}
			for ic := i0; ic < i1; ic += mc {
				mcur := min(mc, i1-ic)
				w.packA(j, ic, mcur, pc, kcur)
				w.macro(j, ic, mcur, jc, ncur, kcur, acc)
			}
		}
	}
}

// macro runs the micro-kernel over the packed mcur×kcur block of A and
// kcur×ncur block of B, updating C[ic:ic+mcur, jc:jc+ncur].
func (w *workspace) macro(j *job, ic, mcur, jc, ncur, kcur, acc int) {
	c, ldc, alpha := j.c, j.ldc, j.alpha
	for jr := 0; jr < ncur; jr += nr {
		nb := min(nr, ncur-jr)
		bp := &w.b[jr*kcur]
		for ir := 0; ir < mcur; ir += mr {
			mb := min(mr, mcur-ir)
			off := (ic+ir)*ldc + jc + jr
			_ = c[off+(mb-1)*ldc+nb-1] // the tile's valid part lies inside c
			kernel6x16(kcur, &w.a[ir*kcur], bp, &c[off], ldc, alpha, acc, mb, nb)
		}
	}
}

// packA copies op(A)[ic:ic+mcur, pc:pc+kcur] into w.a as micro-panels of mr
// rows: element (i, p) of the panel starting at row ir goes to
// w.a[ir·kcur + p·mr + i-ir]. Rows past mcur are zero.
func (w *workspace) packA(j *job, ic, mcur, pc, kcur int) {
	a, lda := j.a, j.lda
	for ir := 0; ir < mcur; ir += mr {
		mb := min(mr, mcur-ir)
		d := w.a[ir*kcur : ir*kcur+kcur*mr]
		i := ic + ir
		switch {
		case mb == mr && !j.transA:
			// op(A)[i,p] = a[i·lda + p]: interleave 6 rows.
			_ = a[(i+mr-1)*lda+pc+kcur-1]
			packA6N(kcur, &a[i*lda+pc], lda, &d[0])
		case mb == mr && j.transA:
			// op(A)[i,p] = a[p·lda + i]: 6 consecutive values of each row p.
			_ = a[(pc+kcur-1)*lda+i+mr-1]
			packA6T(kcur, &a[pc*lda+i], lda, &d[0])
		default:
			clear(d)
			for r := range mb {
				if j.transA {
					for p := range kcur {
						d[p*mr+r] = a[(pc+p)*lda+i+r]
					}
				} else {
					for p, v := range a[(i+r)*lda+pc:][:kcur] {
						d[p*mr+r] = v
					}
				}
			}
		}
	}
}

// packB copies op(B)[pc:pc+kcur, jc:jc+ncur] into w.b as micro-panels of nr
// columns: element (p, x) of the panel starting at column jr goes to
// w.b[jr·kcur + p·nr + x-jr]. Columns past ncur are zero.
func (w *workspace) packB(j *job, pc, kcur, jc, ncur int) {
	b, ldb := j.b, j.ldb
	for jr := 0; jr < ncur; jr += nr {
		nb := min(nr, ncur-jr)
		d := w.b[jr*kcur : jr*kcur+kcur*nr]
		x := jc + jr
		switch {
		case !j.transB:
			// op(B)[p,x] = b[p·ldb + x]: nb consecutive values of each row p.
			_ = b[(pc+kcur-1)*ldb+x+nb-1]
			packB16N(kcur, &b[pc*ldb+x], ldb, &d[0], nb)
		case nb == nr:
			// op(B)[p,x] = b[x·ldb + p]: 16 stored rows become the columns.
			_ = b[(x+nr-1)*ldb+pc+kcur-1]
			packB16T(kcur, &b[x*ldb+pc], ldb, &d[0])
		default:
			// A ragged panel of Bᵀ: copy its nb rows next to zero rows first,
			// so that the transposes read nothing past the end of b.
			t := w.t[:nr*kcur]
			for c := range nb {
				copy(t[c*kcur:(c+1)*kcur], b[(x+c)*ldb+pc:])
			}
			clear(t[nb*kcur:])
			packB16T(kcur, &t[0], kcur, &d[0])
		}
	}
}
