//go:build !linux

package sandbox

func landlockAvailable() bool { return false }

func unshareWrapper() []string { return nil }
