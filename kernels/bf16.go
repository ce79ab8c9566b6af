package kernels

import "math"

// BF16ToF32 widens a bfloat16, given as its bit pattern, to float32 exactly:
// the bf16 bits are the top half of the float32.
func BF16ToF32(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// F32ToBF16 rounds a float32 to the nearest bfloat16 (ties to even), as torch
// does. NaNs stay NaN (quiet, sign and top payload bits kept); infinities
// and values that round past the largest bf16 become infinities.
func F32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 0x40
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// WidenBF16 is:
//
//	for i, b := range src { dst[i] = BF16ToF32(b) }
func WidenBF16(dst []float32, src []uint16) {
	if len(dst) < len(src) {
		panic("kernels: WidenBF16: dst shorter than src")
	}
	cur.Load().widen(dst[:len(src)], src)
}

// RoundBF16 is:
//
//	for i, f := range src { dst[i] = F32ToBF16(f) }
func RoundBF16(dst []uint16, src []float32) {
	if len(dst) < len(src) {
		panic("kernels: RoundBF16: dst shorter than src")
	}
	dst = dst[:len(src)]
	for i, f := range src {
		dst[i] = F32ToBF16(f)
	}
}

func widenGo(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = math.Float32frombits(uint32(b) << 16)
	}
}
