//go:build race

package kernels

// raceEnabled: under -race, sync.Pool drops items at random, so the
// zero-allocation tests do not apply.
const raceEnabled = true
