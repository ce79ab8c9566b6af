//go:build !linux

package sandbox

func landlockAvailable() bool { return false }

func unshareWrapper(python string) []string { return nil }
