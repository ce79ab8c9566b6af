package kernels

import "sync"

// The GEMM behind MatMul for T > 1. The microkernel (impl.gemmTile) is in
// dot-product form: it keeps an mr×nr tile of outputs (mr rows of x against
// nr rows of w) as mr·nr vector accumulators running along k, and reduces
// them horizontally once at the end, so neither operand is transposed.
// Around it:
//
//   - the weights are cut into blocks of nc rows × kc columns that stay in L2
//     while every group of mr rows of x (mr×kc, in L1) streams past them;
//     bf16 blocks are widened to fp32 into a per-worker buffer first (one
//     cheap pass per weight, amortized over T rows);
//   - the blocks (and, when there are few of them, ranges of x rows) are
//     shared out over the pool;
//   - partial tiles at the edges go through a padded copy, and the k%kAlign
//     tail terms are added in Go.

var (
	gemmKC = 512 // max columns per block (a multiple of every kAlign)
	gemmNC = 128 // weight rows per block (a multiple of every nr)
)

type gemmTask struct {
	im                *impl
	y, x, wf          []float32
	wb                []uint16
	T, in, out        int
	kMain, kc, nc     int
	nob, ntb, tgroups int
	xpad              []float32 // mr rows × in: the last, partial group of x rows, zero-padded
}

type gemmScratch struct {
	w   []float32 // a widened or padded weight block, nc×kc
	tmp []float32 // one edge tile, mr×nr
}

var (
	gemmPool        = sync.Pool{New: func() any { return new(gemmTask) }}
	gemmScratchPool = sync.Pool{New: func() any { return new(gemmScratch) }}
	xpadPool        = sync.Pool{New: func() any { return new([]float32) }}
)

func gemm(im *impl, y, x, wf []float32, wb []uint16, T, in, out int) {
	mr := im.mr
	kMain := in - in%im.kAlign
	kc := kMain
	if kc > gemmKC {
		nk := (kMain + gemmKC - 1) / gemmKC
		kc = roundUp((kMain+nk-1)/nk, im.kAlign)
	}
	nc := max(im.nr, gemmNC/im.nr*im.nr)
	nob := (out + nc - 1) / nc
	tgroups := (T + mr - 1) / mr
	ntb := 1
	if nt := Threads(); nob < 2*nt {
		ntb = min(tgroups, (2*nt+nob-1)/nob)
	}

	g := gemmPool.Get().(*gemmTask)
	*g = gemmTask{im: im, y: y, x: x, wf: wf, wb: wb, T: T, in: in, out: out,
		kMain: kMain, kc: kc, nc: nc, nob: nob, ntb: ntb, tgroups: tgroups}
	var xp *[]float32
	if rem := T % mr; rem != 0 && kMain > 0 {
		xp = xpadPool.Get().(*[]float32)
		*xp = grow(*xp, mr*in)
		g.xpad = (*xp)[:mr*in]
		copy(g.xpad, x[(T-rem)*in:T*in])
		clear(g.xpad[rem*in:])
	}
	if T*in*out < serialOps {
		g.run(0, nob*ntb)
	} else {
		parallel(nob*ntb, 1, g)
	}
	if xp != nil {
		xpadPool.Put(xp)
	}
	*g = gemmTask{}
	gemmPool.Put(g)
}

func (g *gemmTask) run(lo, hi int) {
	s := gemmScratchPool.Get().(*gemmScratch)
	for it := lo; it < hi; it++ {
		g.block(it/g.ntb, it%g.ntb, s)
	}
	gemmScratchPool.Put(s)
}

// block computes weight-row block ob for x row groups of share tb.
func (g *gemmTask) block(ob, tb int, s *gemmScratch) {
	im, in, out, T := g.im, g.in, g.out, g.T
	mr, nr := im.mr, im.nr
	o0 := ob * g.nc
	nw := min(g.nc, out-o0)
	nwp := roundUp(nw, nr)
	tg0, tg1 := tb*g.tgroups/g.ntb, (tb+1)*g.tgroups/g.ntb
	s.tmp = grow(s.tmp, mr*nr)
	for k0 := 0; k0 < g.kMain; k0 += g.kc {
		kl := min(g.kc, g.kMain-k0)
		acc := k0 > 0
		ws, ldw := []float32(nil), in
		if g.wb != nil || nw != nwp {
			s.w = grow(s.w, nwp*kl)
			ws, ldw = s.w[:nwp*kl], kl
			for r := range nw {
				src := (o0+r)*in + k0
				if g.wb != nil {
					im.widen(ws[r*kl:r*kl+kl], g.wb[src:src+kl])
				} else {
					copy(ws[r*kl:r*kl+kl], g.wf[src:src+kl])
				}
			}
			clear(ws[nw*kl:])
		} else {
			ws = g.wf[o0*in+k0 : (o0+nw-1)*in+k0+kl]
		}
		for tg := tg0; tg < tg1; tg++ {
			t0 := tg * mr
			nt := min(mr, T-t0)
			xs := g.xpad[min(k0, len(g.xpad)):]
			if nt == mr {
				xs = g.x[t0*in+k0:]
			}
			for c0 := 0; c0 < nw; c0 += nr {
				ncol := min(nr, nw-c0)
				yo := t0*out + o0 + c0
				if nt == mr && ncol == nr {
					im.gemmTile(kl, xs, in, ws[c0*ldw:], ldw, g.y[yo:], out, acc)
					continue
				}
				tmp := s.tmp[:mr*nr]
				if acc {
					for r := range nt {
						copy(tmp[r*nr:r*nr+ncol], g.y[yo+r*out:yo+r*out+ncol])
					}
				}
				im.gemmTile(kl, xs, in, ws[c0*ldw:], ldw, tmp, nr, acc)
				for r := range nt {
					copy(g.y[yo+r*out:yo+r*out+ncol], tmp[r*nr:r*nr+ncol])
				}
			}
		}
	}
	if g.kMain == in {
		return
	}
	// The k%kAlign tail terms (or all of them when in < kAlign).
	for t := tg0 * mr; t < min(tg1*mr, T); t++ {
		xt := g.x[t*in : t*in+in]
		for o := o0; o < o0+nw; o++ {
			var sum float32
			if g.wb != nil {
				for i := g.kMain; i < in; i++ {
					sum += xt[i] * BF16ToF32(g.wb[o*in+i])
				}
			} else {
				for i := g.kMain; i < in; i++ {
					sum += xt[i] * g.wf[o*in+i]
				}
			}
			if g.kMain > 0 {
				g.y[t*out+o] += sum
			} else {
				g.y[t*out+o] = sum
			}
		}
	}
}

func roundUp(n, m int) int { return (n + m - 1) / m * m }

// grow returns s with length at least n, reallocating only when needed.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
