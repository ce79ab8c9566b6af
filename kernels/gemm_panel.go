package kernels

import "sync"

// The panel GEMM behind MatMul, MatMulBF16 and MatMulQ8 for T > 1 where the
// ISA has an outer-product tile (impl.panel: AVX2). Unlike gemm's
// dot-product tiles it packs each block of weights, widened to fp32, into
// panels of panelNR outputs × k ([k][panelNR]), so the tile does one panel
// row of loads and panelMR broadcasts of x per step and is bound by the FMA
// ports alone. The loops, from the outside in:
//
//   - tasks: blocks of panelNC weight rows, and when they are few, shares of
//     the rows of x, over the pool;
//   - k blocks of panelKC: the block's weights are packed (one sequential
//     read, about as much work as a single row of x costs), L2-resident;
//   - chunks of panelMC rows of x, which stay in L2 while every panel of
//     the block (L1-resident) passes over them in tiles of panelMR rows.
//
// A partial tile of x rows reads a zero-padded copy, a partial tile of
// outputs writes through a scratch tile.

const (
	panelMR = 6  // rows of x per tile
	panelNR = 16 // outputs per panel
)

var (
	panelKC = 256 // k per block: a multiple of QGroup
	panelNC = 128 // weight rows per block: a multiple of panelNR
	panelMC = 96  // rows of x per chunk: a multiple of panelMR
)

// panelFn computes one tile: for r < panelMR, c < panelNR,
// y[r*ldy+c] (+)= Σ_{i<k} x[r*ldx+i]·p[i*panelNR+c], adding when acc is set.
type panelFn func(k int, x []float32, ldx int, p []float32, y []float32, ldy int, acc bool)

type panelTask struct {
	im         *impl
	y, x, wf   []float32
	wb         []uint16
	wq         []int8
	wqs        []float32
	T, in, out int
	nob, ntb   int
}

type panelScratch struct {
	p   []float32 // the packed block: [panels][kc][panelNR]
	row []float32 // the block's int8 weights, dequantized: [nw][kc]
	// The rows of one panel, as slices of the weights (or of row).
	rowsB [panelNR][]uint16
	rowsF [panelNR][]float32
	xpad  []float32 // a partial tile of x rows, zero-padded: [panelMR][kc]
	tmp   []float32 // a partial output tile: [panelMR][panelNR]
}

var (
	panelPool        = sync.Pool{New: func() any { return new(panelTask) }}
	panelScratchPool = sync.Pool{New: func() any { return new(panelScratch) }}
)

// gemmPanels computes y = x·wᵀ for T > 1 with fp32 (wf), bf16 (wb) or
// int8 (wq, wqs; in a multiple of QGroup) weights through im.panel.
func gemmPanels(im *impl, y, x, wf []float32, wb []uint16, wq []int8, wqs []float32, T, in, out int) {
	g := panelPool.Get().(*panelTask)
	*g = panelTask{im: im, y: y, x: x, wf: wf, wb: wb, wq: wq, wqs: wqs, T: T, in: in, out: out}
	g.nob = (out + panelNC - 1) / panelNC
	g.ntb = 1
	if nt := Threads(); g.nob < 2*nt {
		g.ntb = min((T+panelMR-1)/panelMR, (2*nt+g.nob-1)/g.nob)
	}
	if T*in*out < serialOps {
		g.run(0, g.nob*g.ntb)
	} else {
		parallel(g.nob*g.ntb, 1, g)
	}
	*g = panelTask{}
	panelPool.Put(g)
}

func (g *panelTask) run(lo, hi int) {
	s := panelScratchPool.Get().(*panelScratch)
	for it := lo; it < hi; it++ {
		g.block(it/g.ntb, it%g.ntb, s)
	}
	panelScratchPool.Put(s)
}

// block computes weight rows [ob·panelNC, +panelNC) for share tb of the
// rows of x (whole tiles of panelMR rows).
func (g *panelTask) block(ob, tb int, s *panelScratch) {
	in, out, T := g.in, g.out, g.T
	o0 := ob * panelNC
	nw := min(panelNC, out-o0)
	np := (nw + panelNR - 1) / panelNR
	tiles := (T + panelMR - 1) / panelMR
	r0, r1 := tb*tiles/g.ntb*panelMR, min(T, (tb+1)*tiles/g.ntb*panelMR)
	s.tmp = grow(s.tmp, panelMR*panelNR)
	for k0 := 0; k0 < in; k0 += panelKC {
		kl := min(panelKC, in-k0)
		acc := k0 > 0
		s.p = grow(s.p, np*kl*panelNR)
		g.pack(s, o0, nw, k0, kl)
		for c0 := r0; c0 < r1; c0 += panelMC {
			c1 := min(r1, c0+panelMC)
			for j := range np {
				p := s.p[j*kl*panelNR : (j+1)*kl*panelNR]
				ncol := min(panelNR, nw-j*panelNR)
				for t0 := c0; t0 < c1; t0 += panelMR {
					nt := min(panelMR, c1-t0)
					xs, ldx := g.x[t0*in+k0:], in
					if nt < panelMR {
						s.xpad = grow(s.xpad, panelMR*kl)
						clear(s.xpad)
						for r := range nt {
							copy(s.xpad[r*kl:(r+1)*kl], g.x[(t0+r)*in+k0:])
						}
						xs, ldx = s.xpad, kl
					}
					yo := t0*out + o0 + j*panelNR
					if nt == panelMR && ncol == panelNR {
						g.im.panel(kl, xs, ldx, p, g.y[yo:], out, acc)
						continue
					}
					if acc {
						for r := range nt {
							copy(s.tmp[r*panelNR:r*panelNR+ncol], g.y[yo+r*out:])
						}
					}
					g.im.panel(kl, xs, ldx, p, s.tmp, panelNR, acc)
					for r := range nt {
						copy(g.y[yo+r*out:yo+r*out+ncol], s.tmp[r*panelNR:r*panelNR+ncol])
					}
				}
			}
		}
	}
}

// pack writes weight rows o0..o0+nw-1, columns k0..k0+kl-1, widened to
// fp32, into s.p as panels [kl][panelNR] (rows past nw zero): for each
// panel, the k loop is outside so the writes are sequential.
func (g *panelTask) pack(s *panelScratch, o0, nw, k0, kl int) {
	in := g.in
	if g.wq != nil {
		// Dequantize the rows once (whole scale groups), then pack fp32.
		s.row = grow(s.row, nw*kl)
		for c := range nw {
			o := o0 + c
			g.im.dequantQ8(s.row[c*kl:(c+1)*kl], g.wq[o*in+k0:o*in+k0+kl], g.wqs[(o*in+k0)/QGroup:(o*in+k0+kl)/QGroup])
		}
	}
	for j := 0; j < nw; j += panelNR {
		n := min(panelNR, nw-j)
		p := s.p[j*kl : (j+panelNR)*kl]
		if n < panelNR {
			clear(p)
		}
		for c := range n {
			switch o := o0 + j + c; {
			case g.wb != nil:
				s.rowsB[c] = g.wb[o*in+k0 : o*in+k0+kl]
			case g.wq != nil:
				s.rowsF[c] = s.row[(j+c)*kl : (j+c+1)*kl]
			default:
				s.rowsF[c] = g.wf[o*in+k0 : o*in+k0+kl]
			}
		}
		if g.wb != nil && n == panelNR && g.im.packB16 != nil {
			o := o0 + j
			g.im.packB16(p, g.wb[o*in+k0:(o+panelNR-1)*in+k0+kl], in, kl)
		} else if g.wb != nil {
			packBF16(p, s.rowsB[:n], kl)
		} else if n == panelNR && g.im.packF16 != nil {
			w, ldw, off := g.wf, in, (o0+j)*in+k0
			if g.wq != nil {
				w, ldw, off = s.row, kl, j*kl
			}
			g.im.packF16(p, w[off:off+(panelNR-1)*ldw+kl], ldw, kl)
		} else {
			packF32(p, s.rowsF[:n], kl)
		}
	}
	// The scratch is pooled: keep no reference to the weights.
	clear(s.rowsB[:])
	clear(s.rowsF[:])
}

// packBF16 writes p[i*panelNR+c] = BF16ToF32(rows[c][i]) for i < k.
func packBF16(p []float32, rows [][]uint16, k int) {
	if len(rows) == panelNR {
		r := (*[panelNR][]uint16)(rows)
		for i := range k {
			d := (*[panelNR]float32)(p[i*panelNR:])
			for c := range panelNR {
				d[c] = BF16ToF32(r[c][i])
			}
		}
		return
	}
	for i := range k {
		for c, r := range rows {
			p[i*panelNR+c] = BF16ToF32(r[i])
		}
	}
}

// packF32 writes p[i*panelNR+c] = rows[c][i] for i < k.
func packF32(p []float32, rows [][]float32, k int) {
	for i := range k {
		for c, r := range rows {
			p[i*panelNR+c] = r[i]
		}
	}
}
