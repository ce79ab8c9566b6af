package model

import (
	"bytes"
	"encoding/json"
)

// jsonStrict decodes data into v, rejecting unknown fields.
func jsonStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
