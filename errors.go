package kume

import "errors"

// Sentinel errors. Errors returned by kume wrap one of these, so callers can
// branch with errors.Is.
var (
	// ErrNotTrained: the index must be trained before vectors are added or
	// searched.
	ErrNotTrained = errors.New("index is not trained")
	// ErrDimension: a vector slice is not a whole number of rows of the
	// index's dimension, or two inputs disagree on their dimension.
	ErrDimension = errors.New("dimension mismatch")
	// ErrNonFinite: an input vector contains NaN or ±Inf, or values so
	// large that its squared norm overflows float32 (from about 1.8e19 in
	// one component).
	ErrNonFinite = errors.New("vector contains NaN or Inf")
	// ErrInvalidArgument: an argument is out of range (k <= 0, a negative
	// nprobe, a bad parameter string, ...).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrFactory: a factory string could not be parsed.
	ErrFactory = errors.New("bad factory string")
	// ErrUnsupported: the request is well formed but kume does not implement
	// it (an index type, a metric, a file record).
	ErrUnsupported = errors.New("not supported")
	// ErrCorrupt: serialized index data is truncated, inconsistent or claims
	// impossible sizes.
	ErrCorrupt = errors.New("corrupt index data")
	// ErrNotFound: an id is not stored in the index.
	ErrNotFound = errors.New("id not found")
)
