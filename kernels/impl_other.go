//go:build !amd64 || purego

package kernels

// archImpls is empty: this build has only the pure-Go kernels.
func archImpls() []*impl { return nil }
