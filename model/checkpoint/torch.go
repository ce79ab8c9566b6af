package checkpoint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"

	"github.com/nanochat-go/nanochat/model/pickle"
)

// unpickler turns data.pkl into Go values: storages come from the zip's
// data/ records, tensors from torch's rebuild functions. Every other global
// that the stream tries to call is refused.
type unpickler struct {
	z        *zipArchive
	prefix   string
	order    binary.ByteOrder
	storages map[string]*storage
}

func (u *unpickler) decode(pkl []byte) (pickle.Value, error) {
	return pickle.Decode(pkl, pickle.Options{PersistentLoad: u.persistentLoad, Reduce: u.reduce})
}

// persistentLoad resolves ('storage', type, key, location, numel).
func (u *unpickler) persistentLoad(id pickle.Value) (pickle.Value, error) {
	t, ok := id.(pickle.Tuple)
	if !ok || len(t) != 5 || t[0] != "storage" {
		return nil, fmt.Errorf("persistent id is %s, want ('storage', type, key, location, numel)", describe(id))
	}
	dtype, err := storageDType(t[1])
	if err != nil {
		return nil, err
	}
	key, ok := t[2].(string)
	if !ok {
		return nil, fmt.Errorf("storage key is %s, want str", describe(t[2]))
	}
	numel, ok := t[4].(int64)
	if !ok || numel < 0 {
		return nil, fmt.Errorf("storage %q: element count is %s, want a non-negative int", key, describe(t[4]))
	}
	if s, ok := u.storages[key]; ok {
		if s.dtype != dtype {
			return nil, fmt.Errorf("storage %q used as both %s and %s", key, s.dtype, dtype)
		}
		return s, nil
	}
	name := u.prefix + "/data/" + key
	e, ok := u.z.entry(name)
	if !ok {
		return nil, fmt.Errorf("storage %q: no record %q", key, name)
	}
	b, err := u.z.entryData(e)
	if err != nil {
		return nil, fmt.Errorf("storage %q: %w", key, err)
	}
	size := int64(dtype.Size())
	if numel > int64(len(b))/size {
		return nil, fmt.Errorf("storage %q holds %d bytes, %d %s elements need more", key, len(b), numel, dtype)
	}
	s := &storage{key: key, dtype: dtype, numel: int(numel), data: b[: numel*size : numel*size], order: u.order}
	u.storages[key] = s
	return s, nil
}

// storageDType accepts a legacy storage class (torch.FloatStorage), a torch
// dtype (torch.bfloat16) or torch.UntypedStorage (bytes).
func storageDType(v pickle.Value) (DType, error) {
	g, ok := v.(pickle.Global)
	if !ok {
		return 0, fmt.Errorf("storage type is %s, want a torch storage class or dtype", describe(v))
	}
	switch g.Module {
	case "torch", "torch.cuda":
		if d, ok := storageDTypes[g.Name]; ok {
			return d, nil
		}
		if d, ok := torchDTypes[g.Name]; ok && g.Module == "torch" {
			return d, nil
		}
	case "torch.storage":
		if g.Name == "UntypedStorage" {
			return U8, nil
		}
	}
	return 0, fmt.Errorf("unsupported storage type %s", g)
}

// reduce calls the whitelisted globals. OrderedDict falls back to the
// decoder's own dict; the torch rebuild functions make tensors.
func (u *unpickler) reduce(callable pickle.Value, args pickle.Tuple) (pickle.Value, bool, error) {
	g, ok := callable.(pickle.Global)
	if !ok {
		return nil, false, nil
	}
	nargs := map[string][2]int{
		"_rebuild_tensor_v2":            {6, 7},
		"_rebuild_tensor":               {4, 4},
		"_rebuild_parameter":            {3, 3},
		"_rebuild_parameter_with_state": {4, 4},
	}
	switch {
	case g == pickle.Global{Module: "collections", Name: "OrderedDict"}:
		if len(args) != 0 {
			return nil, false, fmt.Errorf("%s with %d arguments is not supported", g, len(args))
		}
		return nil, false, nil
	case g.Module != "torch._utils" || nargs[g.Name] == [2]int{}:
		return nil, false, fmt.Errorf("unsupported global %s", g)
	}
	if n := nargs[g.Name]; len(args) < n[0] || len(args) > n[1] {
		return nil, false, fmt.Errorf("%s: %d arguments, want %d to %d", g, len(args), n[0], n[1])
	}
	if g.Name == "_rebuild_parameter" || g.Name == "_rebuild_parameter_with_state" {
		t, ok := args[0].(*Tensor)
		if !ok {
			return nil, false, fmt.Errorf("%s: data is %s, want a tensor", g, describe(args[0]))
		}
		return t, true, nil
	}
	t, err := rebuildTensor(args)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", g, err)
	}
	return t, true, nil
}

// rebuildTensor builds a tensor from (storage, offset, size, stride, …).
// Bounds are checked later by validate, once the tensor has a name.
func rebuildTensor(args pickle.Tuple) (*Tensor, error) {
	s, ok := args[0].(*storage)
	if !ok {
		return nil, fmt.Errorf("storage is %s, want a persistent storage", describe(args[0]))
	}
	offset, err := toInt(args[1])
	if err != nil {
		return nil, fmt.Errorf("storage offset: %w", err)
	}
	shape, err := toInts(args[2])
	if err != nil {
		return nil, fmt.Errorf("size: %w", err)
	}
	stride, err := toInts(args[3])
	if err != nil {
		return nil, fmt.Errorf("stride: %w", err)
	}
	if len(shape) != len(stride) {
		return nil, fmt.Errorf("size %v and stride %v differ in length", shape, stride)
	}
	return &Tensor{DType: s.dtype, Shape: shape, Stride: stride, Offset: offset, storage: s}, nil
}

func toInt(v pickle.Value) (int, error) {
	n, ok := v.(int64)
	if !ok || n < 0 || n > math.MaxInt {
		return 0, fmt.Errorf("%s is not a non-negative int", describe(v))
	}
	return int(n), nil
}

func toInts(v pickle.Value) ([]int, error) {
	t, ok := v.(pickle.Tuple)
	if !ok {
		return nil, fmt.Errorf("%s is not a tuple", describe(v))
	}
	out := make([]int, len(t))
	for i, x := range t {
		n, err := toInt(x)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// stateDict extracts the named tensors of a str → tensor mapping, or the
// single tensor of a file such as token_bytes.pt (named "").
func stateDict(top pickle.Value) ([]*Tensor, error) {
	switch v := top.(type) {
	case *Tensor:
		t := *v
		t.Name = ""
		return []*Tensor{&t}, nil
	case *pickle.Dict:
		out := make([]*Tensor, 0, v.Len())
		for i, k := range v.Keys {
			name, ok := k.(string)
			if !ok {
				return nil, fmt.Errorf("top-level object is a dict with a %s key, want a state dict (str → tensor)", describe(k))
			}
			src, ok := v.Values[i].(*Tensor)
			if !ok {
				return nil, fmt.Errorf("top-level object is a dict whose entry %q is %s, want a state dict (str → tensor)", name, describe(v.Values[i]))
			}
			t := *src // a tensor saved under two names is one pickled object
			t.Name = name
			out = append(out, &t)
		}
		return out, nil
	}
	return nil, fmt.Errorf("top-level object is %s, want a state dict (str → tensor)", describe(top))
}

func describe(v pickle.Value) string {
	switch v.(type) {
	case *Tensor:
		return "a tensor"
	case *storage:
		return "a storage"
	}
	return pickle.TypeName(v)
}

// errView is wrapped by errors about views that leave their storage.
var errView = errors.New("view out of bounds")

// validate checks that every element of t lies inside its storage and that
// t has no more elements than its storage, which rules out broadcast views
// whose conversion would allocate without bound.
func (t *Tensor) validate() error {
	s := t.storage
	numel, last, empty := uint64(1), uint64(t.Offset), false
	for k, d := range t.Shape {
		if d == 0 {
			empty = true
			continue
		}
		hi, lo := bits.Mul64(numel, uint64(d))
		if hi != 0 {
			numel = math.MaxUint64
		} else {
			numel = lo
		}
		hi, lo = bits.Mul64(uint64(d-1), uint64(t.Stride[k]))
		var carry uint64
		last, carry = bits.Add64(last, lo, 0)
		if hi != 0 || carry != 0 {
			last = math.MaxUint64
		}
	}
	size := uint64(t.DType.Size())
	switch {
	case empty && uint64(t.Offset) > uint64(s.numel):
		return fmt.Errorf("tensor %q: storage %q holds %d bytes, offset %d elements is past its end: %w",
			t.Name, s.key, len(s.data), t.Offset, errView)
	case empty:
		return nil
	case last >= uint64(s.numel):
		need := "more"
		if last < math.MaxUint64/size-1 {
			need = fmt.Sprint((last + 1) * size)
		}
		return fmt.Errorf("tensor %q: storage %q holds %d bytes, view needs %s: %w", t.Name, s.key, len(s.data), need, errView)
	case numel > uint64(s.numel):
		return fmt.Errorf("tensor %q: shape %v has more elements than its %d-element storage %q: %w",
			t.Name, t.Shape, s.numel, s.key, errView)
	}
	return nil
}
