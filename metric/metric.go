// Package metric defines the distance measures kume supports and the small
// helpers that depend on them: which of two scores is better, the value of an
// empty result slot, and L2 normalisation for cosine similarity.
package metric

import (
	"fmt"
	"math"
)

// Metric is the distance measure of an index.
//
// The zero value is L2, the measure most indexes use.
type Metric int

const (
	// L2 is the squared Euclidean distance. Smaller is closer. Results are
	// reported squared, as FAISS reports them.
	L2 Metric = iota
	// InnerProduct is the dot product. Larger is closer. Cosine similarity is
	// inner product on L2-normalised vectors.
	InnerProduct
)

// String returns "L2" or "IP".
func (m Metric) String() string {
	switch m {
	case L2:
		return "L2"
	case InnerProduct:
		return "IP"
	}
	return fmt.Sprintf("Metric(%d)", int(m))
}

// Valid reports whether m is a metric kume implements.
func (m Metric) Valid() bool { return m == L2 || m == InnerProduct }

// Better reports whether score a ranks strictly before score b.
func (m Metric) Better(a, b float32) bool {
	if m == InnerProduct {
		return a > b
	}
	return a < b
}

// Worst is the score of an empty result slot: +Inf for L2, -Inf for inner
// product. Every real score ranks before it.
func (m Metric) Worst() float32 {
	if m == InnerProduct {
		return float32(math.Inf(-1))
	}
	return float32(math.Inf(1))
}

// Parse turns "L2" or "IP" (also "INNER_PRODUCT", as FAISS spells it) into a
// Metric.
func Parse(s string) (Metric, error) {
	switch s {
	case "L2", "l2":
		return L2, nil
	case "IP", "ip", "INNER_PRODUCT", "inner_product", "InnerProduct":
		return InnerProduct, nil
	}
	return 0, fmt.Errorf("metric: unknown metric %q (want L2 or IP)", s)
}
