package tokenizer

import (
	"fmt"

	"github.com/nanochat-go/nanochat/model/homefs"
	"github.com/nanochat-go/nanochat/model/pickle"
)

// maxPickleBytes caps tokenizer.pkl: nanochat's 65536-token vocabulary
// pickles to about 1 MB.
const maxPickleBytes = 64 << 20

// Load reads a nanochat tokenizer.pkl: a pickled tiktoken Encoding whose
// state is {"name", "pat_str", "mergeable_ranks": {bytes: int},
// "special_tokens": {str: int}}. Errors name the file and the field. The
// path must be (after symlinks) a regular file of at most 64 MiB.
func Load(path string) (*Tokenizer, error) {
	data, err := homefs.ReadFile(path, maxPickleBytes)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	t, err := decodePickle(data)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %q: %w", path, err)
	}
	return t, nil
}

func decodePickle(data []byte) (*Tokenizer, error) {
	v, err := pickle.Decode(data, pickle.Options{})
	if err != nil {
		return nil, err
	}
	return fromPickle(v)
}

// fromPickle interprets the decoded pickle value of a tiktoken Encoding.
func fromPickle(v pickle.Value) (*Tokenizer, error) {
	var state *pickle.Dict
	switch x := v.(type) {
	case *pickle.Object:
		if x.Class != (pickle.Global{Module: "tiktoken.core", Name: "Encoding"}) {
			return nil, fmt.Errorf("pickled object is %s, want tiktoken.core.Encoding", x.Class)
		}
		d, ok := x.State.(*pickle.Dict)
		if !ok {
			return nil, fmt.Errorf("tiktoken Encoding state is %s, want dict", pickle.TypeName(x.State))
		}
		state = d
	case string:
		// Encoding.__getstate__ returns just the name for encodings in
		// tiktoken's registry; their vocabularies are downloaded, not pickled.
		return nil, fmt.Errorf("pickle holds only the name of registered tiktoken encoding %q; its vocabulary is not in the file", x)
	default:
		return nil, fmt.Errorf("pickle holds %s, want a tiktoken.core.Encoding object", pickle.TypeName(v))
	}

	field := func(name string) (pickle.Value, error) {
		f, ok := state.Get(name)
		if !ok {
			return nil, fmt.Errorf("field %s missing", name)
		}
		return f, nil
	}
	pv, err := field("pat_str")
	if err != nil {
		return nil, err
	}
	pattern, ok := pv.(string)
	if !ok {
		return nil, fmt.Errorf("pat_str: is %s, want str", pickle.TypeName(pv))
	}

	mv, err := field("mergeable_ranks")
	if err != nil {
		return nil, err
	}
	md, ok := mv.(*pickle.Dict)
	if !ok {
		return nil, fmt.Errorf("mergeable_ranks: is %s, want dict", pickle.TypeName(mv))
	}
	ranks := make(map[string]int, md.Len())
	for i, k := range md.Keys {
		b, ok := k.([]byte)
		if !ok {
			return nil, fmt.Errorf("mergeable_ranks: key %d is %s, want bytes", i, pickle.TypeName(k))
		}
		r, err := smallInt(md.Values[i])
		if err != nil {
			return nil, fmt.Errorf("mergeable_ranks: rank of %q: %w", b, err)
		}
		ranks[string(b)] = r
	}

	sv, err := field("special_tokens")
	if err != nil {
		return nil, err
	}
	sd, ok := sv.(*pickle.Dict)
	if !ok {
		return nil, fmt.Errorf("special_tokens: is %s, want dict", pickle.TypeName(sv))
	}
	specials := make(map[string]int, sd.Len())
	for i, k := range sd.Keys {
		name, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("special_tokens: key %d is %s, want str", i, pickle.TypeName(k))
		}
		id, err := smallInt(sd.Values[i])
		if err != nil {
			return nil, fmt.Errorf("special_tokens: id of %s: %w", name, err)
		}
		specials[name] = id
	}
	return build(pattern, ranks, specials)
}

func smallInt(v pickle.Value) (int, error) {
	n, ok := v.(int64)
	if !ok {
		return 0, fmt.Errorf("is %s, want int", pickle.TypeName(v))
	}
	if n < 0 || n >= noRank {
		return 0, fmt.Errorf("%d out of range", n)
	}
	return int(n), nil
}
