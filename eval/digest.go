package eval

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/nanochat-go/nanochat/model"
	"github.com/nanochat-go/nanochat/model/homefs"
)

// digestChunk is how much of each end of the model file is hashed.
const digestChunk = 1 << 20

// Digest fingerprints a checkpoint for the result cache without reading
// the whole (possibly multi-GB) file: sha256 over the model file's size, its
// first and last MiB and the meta JSON bytes. Two checkpoints of one run
// differ in their meta (step, losses) and their weights, which any training
// step changes in the first and last MiB (torch zip header, data.pkl and
// the embedding / lm_head storages); a re-saved identical checkpoint keeps
// its digest. The result is "ck1:" + 24 hex digits.
func Digest(modelPath, metaPath string) (string, error) {
	// A named pipe or device would block or never end: regular files only.
	f, fi, err := homefs.Open(modelPath)
	if err != nil {
		return "", fmt.Errorf("digest checkpoint: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	var size [8]byte
	binary.LittleEndian.PutUint64(size[:], uint64(fi.Size()))
	h.Write(size[:])
	if _, err := io.Copy(h, io.LimitReader(f, digestChunk)); err != nil {
		return "", fmt.Errorf("digest checkpoint %q: %w", modelPath, err)
	}
	if tail := fi.Size() - digestChunk; tail > digestChunk {
		if _, err := io.Copy(h, io.NewSectionReader(f, tail, digestChunk)); err != nil {
			return "", fmt.Errorf("digest checkpoint %q: %w", modelPath, err)
		}
	} else if fi.Size() > digestChunk {
		if _, err := io.Copy(h, io.NewSectionReader(f, digestChunk, fi.Size()-digestChunk)); err != nil {
			return "", fmt.Errorf("digest checkpoint %q: %w", modelPath, err)
		}
	}
	if metaPath != "" {
		meta, err := homefs.ReadFile(metaPath, model.MaxJSONBytes)
		if err != nil {
			return "", fmt.Errorf("digest checkpoint: %w", err)
		}
		h.Write(meta)
	}
	return "ck1:" + hex.EncodeToString(h.Sum(nil))[:24], nil
}
