package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"
)

// writeTimeout bounds each event write, so a client that stops reading
// loses its stream instead of holding a slot.
const writeTimeout = 30 * time.Second

// sse writes Server-Sent Events: "data: <payload>\n\n", flushed each time.
type sse struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

// startSSE sends the 200 and event-stream headers.
func startSSE(w http.ResponseWriter, contentType string) *sse {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &sse{w: w, rc: http.NewResponseController(w)}
	s.rc.Flush()
	return s
}

// data sends one event with a raw payload.
func (s *sse) data(payload []byte) error {
	if s.err != nil {
		return s.err
	}
	s.rc.SetWriteDeadline(time.Now().Add(writeTimeout)) // unsupported by some writers: best effort
	buf := make([]byte, 0, len(payload)+8)
	buf = append(append(append(buf, "data: "...), payload...), "\n\n"...)
	if _, err := s.w.Write(buf); err != nil {
		s.err = err
		return err
	}
	if err := s.rc.Flush(); err != nil {
		s.err = err
	}
	return s.err
}

// json sends v as one event, encoded like writeJSON.
func (s *sse) json(v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	return s.data(b)
}

// marshal encodes v as compact JSON without HTML escaping (OpenAI servers
// send <, > and & raw).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
