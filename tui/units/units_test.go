package units

import "testing"

func TestUnits(t *testing.T) {
	for _, tt := range []struct {
		n            int64
		params, size string
	}{
		{71, "71", "71 B"},
		{2_612_480, "2.6M", "2.5 MiB"},
		{7_654_321, "7.7M", "7.3 MiB"},
		{561_000_000, "561.0M", "535 MiB"},
		{1_880_000_000, "1.88B", "1.8 GiB"},
	} {
		if got := Params(tt.n); got != tt.params {
			t.Errorf("Params(%d) = %q, want %q", tt.n, got, tt.params)
		}
		if got := Bytes(tt.n); got != tt.size {
			t.Errorf("Bytes(%d) = %q, want %q", tt.n, got, tt.size)
		}
	}
}
