package ivfpqfs

import (
	"bytes"
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kume-ann/kume/metric"
)

// TestCodesEditsMatchFreshPacking checks that appending, truncating and
// keeping codes leave a list's packed blocks exactly as packing the
// remaining vectors afresh does (FAISS's layout, padding zero), and that
// decoding follows the codes.
func TestCodesEditsMatchFreshPacking(t *testing.T) {
	const d, m, nlist = 8, 4, 2
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 300*d)
	for i := range x {
		x[i] = rng.Float32()
	}
	c, err := New(d, m, metric.L2, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Init(d, nlist, x[:nlist*d]); err != nil {
		t.Fatal(err)
	}
	if err := c.Train(context.Background(), x, make([]int32, len(x)/d)); err != nil {
		t.Fatal(err)
	}
	fresh := func(rows []int) *Codes {
		l := c.NewList(1).(*Codes)
		var v []float32
		for _, r := range rows {
			v = append(v, x[r*d:(r+1)*d]...)
		}
		if err := l.Append(v); err != nil {
			t.Fatal(err)
		}
		return l
	}
	all := make([]int, 70)
	for i := range all {
		all[i] = i
	}
	l := fresh(all[:40])
	if err := l.Append(x[40*d : 70*d]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(l.Packed(), fresh(all).Packed()) {
		t.Fatal("two appends differ from one")
	}
	l.Truncate(33)
	if l.Len() != 33 || !bytes.Equal(l.Packed(), fresh(all[:33]).Packed()) {
		t.Fatal("truncated list differs from a fresh one")
	}
	keep := []int32{0, 5, 31, 32}
	l.Keep(keep)
	want := fresh([]int{0, 5, 31, 32})
	if l.Len() != 4 || !bytes.Equal(l.Packed(), want.Packed()) {
		t.Fatal("kept list differs from a fresh one")
	}
	for i := 0; i < 4; i++ {
		if got, w := l.Decode(i, nil), want.Decode(i, nil); !slices.Equal(got, w) {
			t.Fatalf("decode %d: %v, want %v", i, got, w)
		}
	}
}
