package ivfpqfs

// ReservoirMinK lets the external tests choose how batches gather
// candidates.
var ReservoirMinK = &reservoirMinK
