package kernels

import "sync"

// The GEMM behind MatMul for T > 1 with AVX-512 and in pure Go, and for
// MatMulBF16Fast's bf16 × bf16 products (AVX2 runs gemmPanels instead).
// The microkernels (impl.tile*) are in
// dot-product form: one keeps an mr×4 tile of outputs (mr rows of x against
// 4 rows of w) as mr·4 vector accumulators running along k, and sums them
// horizontally once at the end, so neither operand is packed or transposed.
// bf16 weights are widened in registers as they are loaded. Around it:
//
//   - the weights are cut into blocks of nc rows × kc columns, copied (one
//     sequential read) into a per-worker buffer that stays in L2 while every
//     group of mr rows of x (mr×kc) streams past it;
//   - the blocks (and, when there are few, ranges of x row groups) are
//     shared out over the pool;
//   - rows of x left over after the mr-row groups go through the narrower
//     mr2-row tile when the ISA has one; a partial group of x rows goes
//     through a zero-padded copy, and the k%kAlign tail terms are added in Go.

// gemmNR is the number of weight rows (outputs) per tile in every impl.
const gemmNR = 4

var (
	gemmKC     = 1280    // max columns per block (a multiple of every kAlign)
	gemmBlockB = 1 << 18 // bytes of weights per block
)

// tileFn and tileBFn compute one full mr×4 output tile:
// y[r*ldy+c] (+)= Σ_{i<k} x[r*ldx+i]·w[c*ldw+i], k a positive multiple of
// kAlign, adding to y when acc is set.
// tileDPFn is the same with bf16 x and w (MatMulBF16Fast).
type (
	tileFn   func(k int, x []float32, ldx int, w []float32, ldw int, y []float32, ldy int, acc bool)
	tileBFn  func(k int, x []float32, ldx int, w []uint16, ldw int, y []float32, ldy int, acc bool)
	tileDPFn func(k int, x []uint16, ldx int, w []uint16, ldw int, y []float32, ldy int, acc bool)
)

type gemmTask struct {
	im             *impl
	y, x, wf       []float32
	xb, wb         []uint16  // xb: x in bf16, for the tileDP kernels
	wq             []int8    // int8 weights (MatMulQ8), widened to fp32 per block
	wqs            []float32 // their scales
	T, in, out     int
	kMain, kc, nc  int
	nob, ntb       int
	nMain, ngroups int       // x row groups: nMain of mr rows, then groups of mr2 (or one of mr)
	mr2            int       // the tail group height when it is not mr, else 0
	xpad           []float32 // the last, partial group of x rows, zero-padded (group size × in)
	xbpad          []uint16  // the same for xb
}

type gemmScratch struct {
	wf  []float32 // the current weight block, nc × kc, rows zero-padded to a multiple of 4
	wb  []uint16
	tmp []float32 // one edge tile, mr×4
}

var (
	gemmPool        = sync.Pool{New: func() any { return new(gemmTask) }}
	gemmScratchPool = sync.Pool{New: func() any { return new(gemmScratch) }}
	xpadPool        = sync.Pool{New: func() any { return new([]float32) }}
	xbpadPool       = sync.Pool{New: func() any { return new([]uint16) }}
)

// gemm computes y = x·wᵀ for fp32 (wf) or bf16 (wb) weights and fp32
// activations x, or, when xb is set, bf16 activations xb and weights wb on
// the tileDP kernels.
func gemm(im *impl, y, x []float32, xb []uint16, wf []float32, wb []uint16, T, in, out int) {
	gemmW(im, y, x, xb, wf, wb, nil, nil, T, in, out)
}

// gemmQ8 is gemm for int8 weights q with scales s (in a multiple of
// QGroup): each block of weights is widened to fp32 once, in the copy into
// L2, and goes through the fp32 tiles.
func gemmQ8(im *impl, y, x []float32, q []int8, s []float32, T, in, out int) {
	gemmW(im, y, x, nil, nil, nil, q, s, T, in, out)
}

func gemmW(im *impl, y, x []float32, xb []uint16, wf []float32, wb []uint16, wq []int8, wqs []float32, T, in, out int) {
	if im.panel != nil && xb == nil {
		gemmPanels(im, y, x, wf, wb, wq, wqs, T, in, out)
		return
	}
	kAlign := im.kAlign
	if xb != nil {
		kAlign = dpAlign
	}
	if wq != nil {
		kAlign = QGroup // blocks start on a scale group; in%QGroup == 0
	}
	kMain := in - in%kAlign
	kc := kMain
	if kc > gemmKC {
		nk := (kMain + gemmKC - 1) / gemmKC
		kc = roundUp((kMain+nk-1)/nk, kAlign)
	}
	wbytes := 4
	if wb != nil {
		wbytes = 2
	}
	nc := max(gemmNR, min(256, gemmBlockB/max(1, kc*wbytes))/gemmNR*gemmNR)
	nob := (out + nc - 1) / nc

	g := gemmPool.Get().(*gemmTask)
	*g = gemmTask{im: im, y: y, x: x, xb: xb, wf: wf, wb: wb, wq: wq, wqs: wqs, T: T, in: in, out: out,
		kMain: kMain, kc: kc, nc: nc, nob: nob}
	// x row groups: T/mr of mr rows, then the rest in groups of mr2 rows
	// (the last zero-padded), or, when that would take more than mr rows of
	// tiles or the ISA has no mr2 tile, in one zero-padded group of mr.
	g.nMain = T / im.mr
	rem := T % im.mr
	size := im.mr
	switch {
	case rem == 0:
		g.ngroups = g.nMain
	case im.mr2 > 0 && rem <= im.mr-im.mr2:
		size, g.mr2 = im.mr2, im.mr2
		g.ngroups = g.nMain + (rem+im.mr2-1)/im.mr2
	default:
		g.ngroups = g.nMain + 1
	}
	g.ntb = 1
	if nt := Threads(); nob < 2*nt {
		g.ntb = min(g.ngroups, (2*nt+nob-1)/nob)
	}
	var xp *[]float32
	var xbp *[]uint16
	if part := (T - g.nMain*im.mr) % size; part != 0 && kMain > 0 {
		if xb != nil {
			xbp = xbpadPool.Get().(*[]uint16)
			*xbp = growU16(*xbp, size*in)
			g.xbpad = (*xbp)[:size*in]
			copy(g.xbpad, xb[(T-part)*in:T*in])
			clear(g.xbpad[part*in:])
		} else {
			xp = xpadPool.Get().(*[]float32)
			*xp = grow(*xp, size*in)
			g.xpad = (*xp)[:size*in]
			copy(g.xpad, x[(T-part)*in:T*in])
			clear(g.xpad[part*in:])
		}
	}
	if T*in*out < serialOps {
		g.run(0, nob*g.ntb)
	} else {
		parallel(nob*g.ntb, 1, g)
	}
	if xp != nil {
		xpadPool.Put(xp)
	}
	if xbp != nil {
		xbpadPool.Put(xbp)
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

// tiles are the kernels of one x row group.
type tiles struct {
	f32  tileFn
	bf16 tileBFn
	dp   tileDPFn
}

// group returns the first x row, the tile height and the tiles of x row
// group i.
func (g *gemmTask) group(i int) (t0, size int, tl tiles) {
	im := g.im
	if i < g.nMain || g.mr2 == 0 {
		return i * im.mr, im.mr, tiles{im.tile, im.tileB, im.tileDP}
	}
	return g.nMain*im.mr + (i-g.nMain)*im.mr2, im.mr2, tiles{im.tile2, im.tile2B, im.tile2DP}
}

// block computes weight-row block ob for the x row groups of share tb.
func (g *gemmTask) block(ob, tb int, s *gemmScratch) {
	in, out, T := g.in, g.out, g.T
	o0 := ob * g.nc
	nw := min(g.nc, out-o0)
	gr0, gr1 := tb*g.ngroups/g.ntb, (tb+1)*g.ngroups/g.ntb
	s.tmp = grow(s.tmp, g.im.mr*gemmNR)
	nwp := roundUp(nw, gemmNR)
	for k0 := 0; k0 < g.kMain; k0 += g.kc {
		kl := min(g.kc, g.kMain-k0)
		acc := k0 > 0
		// Copy the weight block into the L2-resident scratch, zero-padding
		// its rows to a multiple of 4: the copy reads memory as one
		// sequential stream, about twice as fast as the tiles' four
		// interleaved row streams would.
		var wsf []float32
		var wsb []uint16
		if g.wq != nil {
			s.wf = grow(s.wf, nwp*kl)
			wsf = s.wf[:nwp*kl]
			ng := in / QGroup
			for r := range nw {
				o := o0 + r
				g.im.dequantQ8(wsf[r*kl:r*kl+kl], g.wq[o*in+k0:o*in+k0+kl], g.wqs[o*ng+k0/QGroup:o*ng+(k0+kl)/QGroup])
			}
			clear(wsf[nw*kl:])
		} else if g.wb != nil {
			s.wb = growU16(s.wb, nwp*kl)
			wsb = s.wb[:nwp*kl]
			if kl == in {
				copy(wsb, g.wb[o0*in:(o0+nw)*in])
			} else {
				for r := range nw {
					copy(wsb[r*kl:r*kl+kl], g.wb[(o0+r)*in+k0:])
				}
			}
			clear(wsb[nw*kl:])
		} else {
			s.wf = grow(s.wf, nwp*kl)
			wsf = s.wf[:nwp*kl]
			if kl == in {
				copy(wsf, g.wf[o0*in:(o0+nw)*in])
			} else {
				for r := range nw {
					copy(wsf[r*kl:r*kl+kl], g.wf[(o0+r)*in+k0:])
				}
			}
			clear(wsf[nw*kl:])
		}
		for gr := gr0; gr < gr1; gr++ {
			t0, size, tl := g.group(gr)
			nt := min(size, T-t0)
			var xs []float32
			var xsb []uint16
			switch {
			case g.xb != nil && nt == size:
				xsb = g.xb[t0*in+k0:]
			case g.xb != nil:
				xsb = g.xbpad[k0:]
			case nt == size:
				xs = g.x[t0*in+k0:]
			default:
				xs = g.xpad[k0:]
			}
			for c0 := 0; c0 < nw; c0 += gemmNR {
				ncol := min(gemmNR, nw-c0)
				yo := t0*out + o0 + c0
				ys, ldy := g.y[yo:], out
				if nt < size || ncol < gemmNR {
					ys, ldy = s.tmp[:size*gemmNR], gemmNR
					if acc {
						for r := range nt {
							copy(ys[r*gemmNR:r*gemmNR+ncol], g.y[yo+r*out:yo+r*out+ncol])
						}
					}
				}
				switch {
				case xsb != nil:
					tl.dp(kl, xsb, in, wsb[c0*kl:], kl, ys, ldy, acc)
				case wsb != nil:
					tl.bf16(kl, xs, in, wsb[c0*kl:], kl, ys, ldy, acc)
				default:
					tl.f32(kl, xs, in, wsf[c0*kl:], kl, ys, ldy, acc)
				}
				if ldy == gemmNR {
					for r := range nt {
						copy(g.y[yo+r*out:yo+r*out+ncol], ys[r*gemmNR:r*gemmNR+ncol])
					}
				}
			}
		}
	}
	if g.kMain == in {
		return
	}
	// The k%kAlign tail terms (or all of them when in < kAlign).
	tlo, _, _ := g.group(gr0)
	thi := T
	if gr1 < g.ngroups {
		thi, _, _ = g.group(gr1)
	}
	for t := tlo; t < thi; t++ {
		for o := o0; o < o0+nw; o++ {
			var sum float32
			if g.xb != nil {
				for i := g.kMain; i < in; i++ {
					sum += BF16ToF32(g.xb[t*in+i]) * BF16ToF32(g.wb[o*in+i])
				}
			} else if g.wb != nil {
				xt := g.x[t*in : t*in+in]
				for i := g.kMain; i < in; i++ {
					sum += xt[i] * BF16ToF32(g.wb[o*in+i])
				}
			} else {
				xt := g.x[t*in : t*in+in]
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

// grow returns s with length n, reallocating only when needed.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func growU16(s []uint16, n int) []uint16 {
	if cap(s) < n {
		return make([]uint16, n)
	}
	return s[:n]
}
