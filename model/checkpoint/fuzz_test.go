package checkpoint

import (
	"bytes"
	"os"
	"testing"
)

// FuzzParse checks that no input makes Parse or the tensor accessors panic.
// Inputs that do not start like a zip are taken as data.pkl and wrapped in
// an archive with storage records, so that the fuzzer also reaches the
// torch layer with well-formed zips.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"testdata/golden/home/tokenizer/token_bytes.pt", "testdata/demo/home/tokenizer/token_bytes.pt"} {
		data, err := os.ReadFile(repoPath(p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	storages := map[string][]byte{"0": f32le(seq(12)...)}
	f.Add(archive("w", viewSpecs, false, storages, nil, zipOpts{}))
	f.Add(archive("w", viewSpecs[:2], false, storages, nil, zipOpts{zip64: true, align: true}))
	f.Add(archive("w", viewSpecs[2:3], true, storages, []zipRec{{name: "w/byteorder", data: []byte("big")}}, zipOpts{}))
	f.Add(statePickle(viewSpecs, false))
	f.Add(statePickle(viewSpecs[2:3], true))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !bytes.HasPrefix(data, []byte("PK")) {
			data = buildZip([]zipRec{
				{name: "p/data.pkl", data: data},
				{name: "p/data/0", data: f32le(seq(12)...)},
				{name: "p/data/1", data: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
			}, zipOpts{})
		}
		file, err := Parse("fuzz.pt", data)
		if err != nil {
			return
		}
		for _, x := range file.Tensors {
			_, _ = x.Bytes()
			_, _ = x.Float32()
			_, _ = x.Int64s()
			_, _ = x.BF16Bits()
		}
	})
}
