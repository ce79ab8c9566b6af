package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// apiError is an OpenAI error object with its HTTP status.
type apiError struct {
	Status  int     `json:"-"`
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func (e *apiError) Error() string { return e.Message }

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// badRequest is a 400 invalid_request_error about param.
func badRequest(param, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Param: strPtr(param),
		Message: fmt.Sprintf(format, args...)}
}

func modelNotFound(name string) *apiError {
	return &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Param: strPtr("model"),
		Code: strPtr("model_not_found"), Message: fmt.Sprintf("the model %q does not exist (GET /v1/models lists them)", name)}
}

func serverError(err error) *apiError {
	return &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: err.Error()}
}

// writeJSON writes v as compact JSON without HTML escaping.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// writeError writes err as an OpenAI error response.
func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = serverError(err)
	}
	writeJSON(w, ae.Status, map[string]any{"error": ae})
}

// decodeBody reads a JSON request body of at most limit bytes into v. Type
// mismatches and syntax errors become 400 errors naming the field; an
// oversized body becomes 413.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	data, err := readBody(w, r, limit)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return jsonError(err)
	}
	return nil
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error",
			Message: fmt.Sprintf("request body is larger than %d bytes", limit)}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil, &apiError{Status: http.StatusRequestTimeout, Type: "invalid_request_error", Code: strPtr("body_timeout"),
			Message: "request body was not received in time"}
	}
	if err != nil {
		return nil, badRequest("", "read request body: %v", err)
	}
	return data, nil
}

// jsonError turns a json.Unmarshal error into a 400 naming the field.
func jsonError(err error) *apiError {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := strings.TrimPrefix(te.Field, "samplingParams.") // embedded in the request types
		if field == "" {
			return badRequest("", "invalid request body: expected a JSON object, got %s", te.Value)
		}
		return badRequest(field, "invalid type for %q: expected %s, got %s", field, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.As(err, &se):
		return badRequest("", "invalid JSON in request body at byte %d: %v", se.Offset, se)
	case errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "unexpected end of JSON"):
		return badRequest("", "invalid JSON in request body: unexpected end")
	}
	return badRequest("", "invalid request body: %v", err)
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "float"):
		return "a number"
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "an integer"
	case k == "string":
		return "a string"
	case k == "bool":
		return "a boolean"
	case k == "slice":
		return "an array"
	case k == "struct", k == "map":
		return "an object"
	}
	return k
}
