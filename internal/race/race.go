//go:build race

// Package race tells tests whether the race detector is on: it makes
// sync.Pool drop items at random, so allocation counts are meaningless then.
package race

// Enabled is true when built with -race.
const Enabled = true
