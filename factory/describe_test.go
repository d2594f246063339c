package factory

import (
	"errors"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/hnsw"
	"github.com/kume-ann/kume/l2norm"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/refine"
)

// TestDescribeInvertsBuild checks that Describe gives back the canonical
// string of every index the factory builds.
func TestDescribeInvertsBuild(t *testing.T) {
	for _, desc := range []string{
		"Flat", "PQ8x4fs", "IVF16,Flat", "IVF16_HNSW8,Flat", "IVF16,PQ8x4fs", "IVF16,PQ8x4fsr",
		"IVF16_HNSW32,PQ4x4fsr,RFlat", "L2norm,Flat", "L2norm,IVF16,PQ8x4fs,RFlat", "PQ4x4fs,RFlat",
	} {
		idx, err := New(16, desc, metric.L2)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Describe(idx)
		if err != nil {
			t.Fatalf("%s: %v", desc, err)
		}
		if s.String() != desc {
			t.Errorf("Describe(New(%q)) = %q", desc, s.String())
		}
	}
}

// TestDescribeRefusesWhatTheGrammarCannotSay checks the structures no
// factory string describes.
func TestDescribeRefusesWhatTheGrammarCannotSay(t *testing.T) {
	h, err := hnsw.New(8, 16, metric.L2)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := New(8, "L2norm,Flat", metric.L2)
	if err != nil {
		t.Fatal(err)
	}
	wrapped, err := refine.New(inner)
	if err != nil {
		t.Fatal(err)
	}
	for _, idx := range []kume.Index{h, wrapped, l2norm.New(l2norm.New(h))} {
		if _, err := Describe(idx); !errors.Is(err, kume.ErrUnsupported) {
			t.Errorf("Describe(%T) = %v, want ErrUnsupported", idx, err)
		}
	}
}
