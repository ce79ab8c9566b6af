package tokenizer

import (
	"fmt"
	"math"

	"github.com/nanochat-go/nanochat/model/checkpoint"
)

// LoadTokenBytes reads token_bytes.pt, nanochat's int32 tensor of the UTF-8
// byte length of every token (0 for special tokens), which bits-per-byte
// evaluation divides by.
func LoadTokenBytes(path string) ([]int32, error) {
	f, err := checkpoint.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load token bytes: %w", err)
	}
	defer f.Close()
	if len(f.Tensors) != 1 {
		return nil, fmt.Errorf("load token bytes %q: %d tensors, want 1", path, len(f.Tensors))
	}
	t := f.Tensors[0]
	if len(t.Shape) != 1 {
		return nil, fmt.Errorf("load token bytes %q: shape %v, want one dimension", path, t.Shape)
	}
	var v []int64
	err = f.Guard(func() (err error) { // a file truncated meanwhile is an error, not SIGBUS
		v, err = t.Int64s()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load token bytes %q: %w", path, err)
	}
	out := make([]int32, len(v))
	for i, n := range v {
		if n < 0 || n > math.MaxInt32 {
			return nil, fmt.Errorf("load token bytes %q: token %d has length %d", path, i, n)
		}
		out[i] = int32(n)
	}
	return out, nil
}
