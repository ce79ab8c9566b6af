package checkpoint

import "fmt"

// DType is the element type of a tensor's storage.
type DType uint8

// The dtypes torch.save can write for nanochat checkpoints. The zero DType is
// invalid.
const (
	F32 DType = iota + 1
	BF16
	F16
	F64
	I64
	I32
	I16
	I8
	U8
	Bool
)

var dtypeInfo = [...]struct {
	name string
	size int
}{
	F32:  {"f32", 4},
	BF16: {"bf16", 2},
	F16:  {"f16", 2},
	F64:  {"f64", 8},
	I64:  {"i64", 8},
	I32:  {"i32", 4},
	I16:  {"i16", 2},
	I8:   {"i8", 1},
	U8:   {"u8", 1},
	Bool: {"bool", 1},
}

// String returns the short name of d, e.g. "bf16".
func (d DType) String() string {
	if d == 0 || int(d) >= len(dtypeInfo) {
		return fmt.Sprintf("DType(%d)", uint8(d))
	}
	return dtypeInfo[d].name
}

// Size returns the number of bytes of one element, or 0 for an invalid DType.
func (d DType) Size() int {
	if int(d) >= len(dtypeInfo) {
		return 0
	}
	return dtypeInfo[d].size
}

// storageDTypes maps torch's legacy typed-storage class names, which
// torch.save writes into each storage's persistent id, to dtypes.
var storageDTypes = map[string]DType{
	"FloatStorage":    F32,
	"BFloat16Storage": BF16,
	"HalfStorage":     F16,
	"DoubleStorage":   F64,
	"LongStorage":     I64,
	"IntStorage":      I32,
	"ShortStorage":    I16,
	"CharStorage":     I8,
	"ByteStorage":     U8,
	"BoolStorage":     Bool,
	"UntypedStorage":  U8,
}

// torchDTypes maps torch dtype attribute names (torch.bfloat16, ...) to
// dtypes, for storages described by a dtype instead of a storage class.
var torchDTypes = map[string]DType{
	"float32": F32, "float": F32,
	"bfloat16": BF16,
	"float16":  F16, "half": F16,
	"float64": F64, "double": F64,
	"int64": I64, "long": I64,
	"int32": I32, "int": I32,
	"int16": I16, "short": I16,
	"int8":  I8,
	"uint8": U8,
	"bool":  Bool,
}
