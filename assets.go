// Package nanochat holds the files the nanochat binary carries with it: the
// demo model and its toy eval sets (testdata/demo), which model/demo
// unpacks for --demo. It has no code of its own.
package nanochat

import "embed"

// Demo is testdata/demo: home/ (a nanochat home with one 7 MB sft
// checkpoint and its tokenizer) and data/ (toy ARC, MMLU and GSM8K sets).
//
//go:embed testdata/demo/home testdata/demo/data
var Demo embed.FS

// DemoRoot is Demo's top directory.
const DemoRoot = "testdata/demo"
