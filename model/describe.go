package model

import (
	"fmt"
	"sort"
	"strings"
)

// TensorInfo describes one tensor of a checkpoint.
type TensorInfo struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
}

// Summary is what can be known about a checkpoint without loading weights.
type Summary struct {
	Config    Config       `json:"config"`
	Arch      Arch         `json:"arch"`
	Params    int64        `json:"params"`
	DTypes    string       `json:"dtypes"` // e.g. "bf16 41%, f32 59%" by element count
	Tensors   []TensorInfo `json:"tensors"`
	Overrides []string     `json:"override_files,omitempty"`
	Meta      *Meta        `json:"-"`
}

// Describe reads a checkpoint's meta and tensor table (the mapping is opened
// and closed again; no weight is read) and detects its generation.
func Describe(modelPath string, ov Overrides) (*Summary, error) {
	f, meta, ov, used, err := open(modelPath, ov)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ts, err := newTensorSet(f)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %q: %w", modelPath, err)
	}
	shapes := ts.shapes()
	if err := CheckShapes(*meta.ModelConfig, shapes); err != nil {
		return nil, fmt.Errorf("checkpoint %q: meta %q: %w", modelPath, meta.Path, err)
	}
	arch, err := Detect(*meta.ModelConfig, shapes, meta.UserConfig, ov)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %q: %w", modelPath, err)
	}
	s := &Summary{Config: *meta.ModelConfig, Arch: arch, Meta: meta, Overrides: used}
	byType := map[string]int64{}
	for _, t := range f.Tensors {
		s.Tensors = append(s.Tensors, TensorInfo{Name: t.Name, DType: t.DType.String(), Shape: t.Shape})
		n := int64(t.NumEl())
		s.Params += n
		byType[t.DType.String()] += n
	}
	var names []string
	for k := range byType {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		if len(names) == 1 {
			parts = append(parts, k)
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.0f%%", k, 100*float64(byType[k])/float64(max(s.Params, 1))))
	}
	s.DTypes = strings.Join(parts, ", ")
	return s, nil
}
