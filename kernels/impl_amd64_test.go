//go:build amd64 && !purego

package kernels

import (
	"reflect"
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
