package checkpoint

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

func safetensorsFile(t *testing.T, header string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func TestSafetensorsRoundTrip(t *testing.T) {
	w := []byte{1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0} // bf16 [2 3]
	v := []byte{0, 0, 128, 63, 0, 0, 0, 64}         // f32 [1.0 2.0]
	var buf bytes.Buffer
	err := WriteSafetensors(&buf, []SafetensorsTensor{{"w", BF16, []int{2, 3}, w}, {"v", F32, []int{2}, v}}, map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(buf.Bytes()); n%8 != 0 {
		t.Errorf("header of %d bytes, want a multiple of 8", n)
	}
	f, err := ParseSafetensors("x.safetensors", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["format"] != "pt" || len(f.Tensors) != 2 || f.Tensors[0].Name != "w" || f.Tensors[1].Name != "v" {
		t.Fatalf("parsed %+v, want w then v with format pt", f)
	}
	got, _ := f.Tensors[1].Float32()
	if got[0] != 1 || got[1] != 2 {
		t.Errorf("v = %v, want [1 2]", got)
	}
	if b, _ := f.Tensors[0].Bytes(); !bytes.Equal(b, w) {
		t.Errorf("w bytes %v, want %v", b, w)
	}
	if err := f.Rename(map[string]string{"w": "a", "v": "b"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Tensor("a"); !ok {
		t.Error("renamed tensor a not found")
	}
	if err := f.Rename(map[string]string{"a": "b"}); err == nil {
		t.Error("renaming two tensors to one name succeeded")
	}
}

func TestSafetensorsRejects(t *testing.T) {
	data := make([]byte, 16)
	for _, c := range []struct{ header, want string }{
		{`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, "without holes or overlaps"},
		{`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}`, "without holes or overlaps"},
		{`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, "tensors end at byte 8 of 16"},
		{`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}`, "needs 12 bytes"},
		{`{"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,16]}}`, `unknown dtype "Q4"`},
		{`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,20]}}`, "outside the 16 data bytes"},
		{`{"a":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}}`, "bad shape"},
		{`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16],"extra":1}}`, "unknown field"},
		{`{"a":`, "header"},
	} {
		_, err := ParseSafetensors("x", safetensorsFile(t, c.header, data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.header, err, c.want)
		}
	}
	huge := make([]byte, 16)
	binary.LittleEndian.PutUint64(huge, 1<<40)
	if _, err := ParseSafetensors("x", huge); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Errorf("huge header: %v", err)
	}
}
