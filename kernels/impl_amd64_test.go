//go:build amd64 && !purego

package kernels

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// optionalKernels are the impl fields a kernel path checks for nil before
// use; every other func field is called unconditionally and must be set in
// every implementation, including those this CPU cannot run (an AVX-512
// impl with a nil kernel would only fail on an AVX-512 machine).
var optionalKernels = map[string]bool{
	"tile2": true, "tile2B": true, "tileDP": true, "tile2DP": true, "tile": true, "tileB": true,
	"attnScoresB": true, "attnAccumB": true, "attnScores4": true, "expSub4": true, "attnAccum4": true,
	"attnScores4B": true, "attnAccum4B": true, "panel": true, "packB16": true, "packF16": true,
	"gemvBF16X4": true, "gemvQ8X4": true, "dpLoop": true,
}

func TestImplsComplete(t *testing.T) {
	for _, im := range []*impl{avx512Impl, avx2Impl, goImpl} {
		v := reflect.ValueOf(im).Elem()
		for i := range v.NumField() {
			f, name := v.Field(i), v.Type().Field(i).Name
			if f.Kind() == reflect.Func && f.IsNil() && !optionalKernels[name] {
				t.Errorf("%s: %s is nil", im.name, name)
			}
		}
		// A GEMM needs either the panel tile or the dot-product tiles.
		if im.panel == nil && (im.tile == nil || im.tileB == nil || im.mr == 0) {
			t.Errorf("%s: no GEMM tiles", im.name)
		}
	}
}

// TestMatMulQ8RowsAsOne checks that batched decode (1 < T ≤ rowsMax,
// the four-row GEMV where the ISA has one) gives every row exactly what a
// T = 1 call on that row gives, partial blocks of four included.
// It runs on each ISA of this CPU that has the four-row GEMV (pure Go runs
// the GEMM for T > 1, where rows need not match a lone row bit for bit).
func TestMatMulQ8RowsAsOne(t *testing.T) {
	defer SetISA(ISA())
	checked := 0
	for _, im := range impls {
		if im.gemvQ8X4 == nil {
			continue
		}
		checked++
		cur.Store(im)
		r := rand.New(rand.NewPCG(11, 11))
		in, out := 1280, 300
		w := randSlice(r, in*out)
		q, s := make([]int8, len(w)), make([]float32, len(w)/QGroup)
		if err := QuantizeQ8(q, s, w); err != nil {
			t.Fatal(err)
		}
		for T := 2; T <= rowsMax; T++ {
			x, y := randSlice(r, T*in), make([]float32, T*out)
			MatMulQ8(y, x, q, s, T, in, out)
			one := make([]float32, out)
			for row := range T {
				MatMulQ8(one, x[row*in:(row+1)*in], q, s, 1, in, out)
				if !slices.Equal(one, y[row*out:(row+1)*out]) {
					t.Fatalf("%s T=%d: row %d differs from the same row alone", im.name, T, row)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatalf("no ISA of this CPU (%v) has the four-row int8 GEMV", ISAs())
	}
}
