package metric

import (
	"math"
	"testing"
)

func TestBetterAndWorst(t *testing.T) {
	if !L2.Better(1, 2) || L2.Better(2, 1) || L2.Better(1, 1) {
		t.Error("L2.Better must prefer smaller scores, strictly")
	}
	if !InnerProduct.Better(2, 1) || InnerProduct.Better(1, 2) {
		t.Error("InnerProduct.Better must prefer larger scores")
	}
	if !L2.Better(1e30, L2.Worst()) || !InnerProduct.Better(-1e30, InnerProduct.Worst()) {
		t.Error("every finite score must beat Worst")
	}
}

func TestParse(t *testing.T) {
	for s, want := range map[string]Metric{"L2": L2, "IP": InnerProduct, "INNER_PRODUCT": InnerProduct} {
		got, err := Parse(s)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := Parse("cosine"); err == nil {
		t.Error("Parse(cosine) should fail: cosine is L2norm + IP")
	}
	if Metric(7).Valid() || Metric(7).String() != "Metric(7)" {
		t.Error("unknown metric must be invalid and print its number")
	}
}

func TestNormalizeL2(t *testing.T) {
	x := []float32{3, 4, 0, 0, 1e-30, 0, 1e30, 1e30}
	NormalizeL2(x, 2)
	want := []float32{0.6, 0.8, 0, 0, 1, 0, float32(math.Sqrt(0.5)), float32(math.Sqrt(0.5))}
	for i := range x {
		if math.Abs(float64(x[i]-want[i])) > 1e-6 {
			t.Fatalf("x[%d] = %v, want %v (all: %v)", i, x[i], want[i], x)
		}
	}
}
