//go:build !linux

package sandbox

func namespacesMissing() string { return "not Linux" }
