package main

import (
	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/faissio"
)

// saveIndex writes idx to path in FAISS's index format (faiss.read_index
// reads it).
func saveIndex(path string, idx kume.Index) error {
	return faissio.WriteFile(path, idx)
}

// loadIndex reads an index in FAISS's index format (as faiss.write_index
// writes it).
func loadIndex(path string) (kume.Index, error) {
	return faissio.ReadFile(path)
}
