package rvc

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/faissio"
	"github.com/kume-ann/kume/internal/pyfaiss"
	"github.com/kume-ann/kume/internal/race"
	"github.com/kume-ann/kume/metric"
)

func randn(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

func newIndex(t testing.TB, d int, desc string, x []float32) kume.Index {
	t.Helper()
	idx, err := factory.New(d, desc, metric.L2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := idx.Train(ctx, x); err != nil {
		t.Fatal(err)
	}
	if err := idx.Add(ctx, x); err != nil {
		t.Fatal(err)
	}
	return idx
}

// The blend of a hand-worked case: three stored 2-d frames, k = 2.
func TestBlendByHand(t *testing.T) {
	stored := []float32{0, 0, 2, 0, 10, 10}
	r, err := NewRetriever(newIndex(t, 2, "Flat", stored), &RetrieverOptions{K: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Frame (1, 1): squared distances 2 to (0,0) and 2 to (2,0): equal
	// weights, blend (1, 0); with rate 0.75: 0.75*(1,0) + 0.25*(1,1).
	// Frame (0.5, 0): distances 0.25 and 2.25: weights 1/0.0625 and
	// 1/5.0625, normalised.
	out, err := r.Blend(nil, []float32{1, 1, 0.5, 0}, 0.75)
	if err != nil {
		t.Fatal(err)
	}
	w0 := (1 / 0.0625) / (1/0.0625 + 1/5.0625)
	want := []float32{1, 0.25, float32(0.75*(2*(1-w0)) + 0.25*0.5), 0}
	for i := range want {
		if math.Abs(float64(out[i]-want[i])) > 1e-6 {
			t.Fatalf("blend %v, want %v", out, want)
		}
	}
	// In place, rate 1: the frames are replaced by the blend.
	frames := []float32{1, 1}
	if _, err := r.Blend(frames, frames, 1); err != nil || frames[0] != 1 || frames[1] != 0 {
		t.Errorf("in place: %v %v", frames, err)
	}
	// Rate 0 is the identity.
	if out, _ := r.Blend(nil, []float32{3, 4}, 0); out[0] != 3 || out[1] != 4 {
		t.Errorf("rate 0: %v", out)
	}
	// Bad arguments.
	if _, err := r.Blend(nil, []float32{1, 2, 3}, 0.5); !errors.Is(err, kume.ErrDimension) {
		t.Errorf("3 numbers of 2-d frames: %v", err)
	}
	if _, err := r.Blend(nil, []float32{1, 2}, 1.5); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("rate 1.5: %v", err)
	}
	if _, err := r.Blend(nil, []float32{1, float32(math.NaN())}, 0.5); !errors.Is(err, kume.ErrNonFinite) {
		t.Errorf("NaN frame: %v", err)
	}
	if _, err := NewRetriever(newIndex(t, 2, "Flat", stored), &RetrieverOptions{K: -1}); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("k = -1: %v", err)
	}
	ip, _ := factory.New(2, "Flat", metric.InnerProduct)
	if _, err := NewRetriever(ip, nil); !errors.Is(err, kume.ErrUnsupported) {
		t.Errorf("inner-product index: %v", err)
	}
}

// RVC's edge cases: empty slots, exact duplicates, no vectors at all.
func TestBlendEdgeCases(t *testing.T) {
	stored := []float32{0, 0, 2, 0, 2, 0, 10, 10}
	r, err := NewRetriever(newIndex(t, 2, "Flat", stored), nil) // k = 8 > 4 stored
	if err != nil {
		t.Fatal(err)
	}
	// Four stored frames, k = 8: four empty slots skipped; the frame
	// (2, 0) is stored twice: the two duplicates share the weight, so the
	// output is the frame itself whatever the rate.
	out, err := r.Blend(nil, []float32{2, 0, 1, 0}, 0.6)
	if err != nil {
		t.Fatal(err)
	}
	if out[0] != 2 || out[1] != 0 {
		t.Errorf("duplicate frame blended to %v, want (2, 0)", out[:2])
	}
	// The frame (1, 0) is at squared distance 1 from (0, 0) and from both
	// (2, 0) (and 181 from (10, 10), which weighs 3e-5): about a third
	// each, blend (4/3, 0); 0.6*4/3 + 0.4*1 = 1.2.
	if math.Abs(float64(out[2])-1.2) > 1e-3 || math.Abs(float64(out[3])) > 1e-3 {
		t.Errorf("frame (1,0) between (0,0) and twice (2,0): %v, want (1.2, 0)", out[2:])
	}
	// A trained index with no vectors: frames pass through.
	empty, _ := factory.New(2, "Flat", metric.L2)
	r, err = NewRetriever(empty, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := r.Blend(nil, []float32{5, 6}, 0.75); err != nil || out[0] != 5 || out[1] != 6 {
		t.Errorf("empty index: %v %v", out, err)
	}
}

// A reused dst costs no allocation, and many goroutines get the answers of
// one.
func TestBlendAllocsAndConcurrency(t *testing.T) {
	const d = 32
	rng := rand.New(rand.NewPCG(1, 2))
	x := randn(rng, 3000*d)
	r, err := NewRetriever(newIndex(t, d, "IVF32,Flat", x), nil)
	if err != nil {
		t.Fatal(err)
	}
	frames := randn(rng, 200*d)
	want, err := r.Blend(nil, frames, 0.75)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]float32, len(frames))
	// The race detector makes sync.Pool drop buffers: counts mean nothing.
	if !race.Enabled {
		if a := testing.AllocsPerRun(20, func() { dst, _ = r.Blend(dst, frames[:d], 0.75) }); a != 0 {
			t.Errorf("Blend of one frame with a reused dst: %v allocations", a)
		}
		if a := testing.AllocsPerRun(10, func() { dst, _ = r.Blend(dst, frames, 0.75) }); a > 2 {
			t.Errorf("Blend of 200 frames with a reused dst: %v allocations", a)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out []float32
			for rep := 0; rep < 5; rep++ {
				var err error
				if out, err = r.Blend(out, frames, 0.75); err != nil {
					errs <- err
					return
				}
				for i := range want {
					if out[i] != want[i] {
						errs <- fmt.Errorf("goroutine result differs at %d: %v vs %v", i, out[i], want[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// The blend equals RVC's numpy formula on FAISS's own answers, for an index
// kume wrote and FAISS read, and for one FAISS trained and wrote (RVC's
// file) and kume read.
func TestBlendMatchesRVCNumpy(t *testing.T) {
	pyfaiss.Require(t)
	for _, who := range []string{"kume", "faiss"} {
		t.Run(who+" wrote the index", func(t *testing.T) { testBlendMatchesRVCNumpy(t, who) })
	}
}

func testBlendMatchesRVCNumpy(t *testing.T, who string) {
	const d, n, nq = 48, 4000, 300
	rng := rand.New(rand.NewPCG(5, 6))
	x := randn(rng, n*d)
	idx := newIndex(t, d, "IVF40,Flat", x)
	if err := factory.SetParams(idx, "nprobe=1"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "added.index")
	if who == "kume" {
		if err := faissio.WriteFile(path, idx); err != nil {
			t.Fatal(err)
		}
	} else {
		// RVC's training steps in FAISS: IVF40,Flat, nprobe 1, added in
		// batches of 8192.
		bp := pyfaiss.WriteF32(t, dir, "base.f32", x)
		pyfaiss.Run(t, `
import faiss, numpy as np, sys
x = np.fromfile(sys.argv[1], dtype='<f4').reshape(-1, int(sys.argv[2]))
index = faiss.index_factory(x.shape[1], "IVF40,Flat")
faiss.extract_index_ivf(index).nprobe = 1
index.train(x)
for i in range(0, x.shape[0], 8192):
    index.add(x[i:i + 8192])
faiss.write_index(index, sys.argv[3])
`, bp, fmt.Sprint(d), path)
	}
	frames := randn(rng, nq*d)
	for j := 0; j < d; j++ { // frame 7 is stored frame 123: RVC's NaN case
		frames[7*d+j] = x[123*d+j]
	}
	fp := pyfaiss.WriteF32(t, dir, "frames.f32", frames)
	const rate = 0.75
	script := `
import faiss, numpy as np, sys
index = faiss.read_index(sys.argv[1])
d = index.d
big_npy = index.reconstruct_n(0, index.ntotal)
npy = np.fromfile(sys.argv[2], dtype='<f4').reshape(-1, d)
score, ix = index.search(npy, k=8)
with np.errstate(divide='ignore', invalid='ignore'):
    weight = np.square(1 / score)
    weight /= weight.sum(axis=1, keepdims=True)
    out = np.sum(big_npy[ix] * np.expand_dims(weight, axis=2), axis=1)
out = out * float(sys.argv[3]) + (1 - float(sys.argv[3])) * npy
score.astype('<f4').tofile(sys.argv[2] + '.score')
ix.astype('<i8').tofile(sys.argv[2] + '.ix')
out.astype('<f4').tofile(sys.argv[2] + '.out')
`
	pyfaiss.Run(t, script, path, fp, fmt.Sprint(rate))
	score := readRaw[float32](t, fp+".score")
	ix := readRaw[int64](t, fp+".ix")
	want := readRaw[float32](t, fp+".out")

	r, err := OpenRetriever(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Blend(nil, frames, rate)
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Index().Search(context.Background(), frames, 8, nil)
	if err != nil {
		t.Fatal(err)
	}
	w, acc := make([]float64, 8), make([]float64, d)
	fromFAISS := make([]float32, d)
	same, nanRows := 0, 0
	for i := 0; i < nq; i++ {
		row := frames[i*d : (i+1)*d]
		wantRow := want[i*d : (i+1)*d]
		if math.IsNaN(float64(wantRow[0])) {
			// RVC's division by zero: our rule gives the frame itself.
			nanRows++
			for j := range row {
				if got[i*d+j] != row[j] {
					t.Fatalf("frame %d (a stored frame): blend differs from the frame at %d", i, j)
				}
			}
			continue
		}
		// The formula on FAISS's answers.
		blendRow(fromFAISS, row, score[i*8:(i+1)*8], ix[i*8:(i+1)*8], r.Vectors(), d, rate, w, acc)
		if err := closeTo(fromFAISS, wantRow); err != nil {
			t.Fatalf("frame %d, on FAISS's answers: %v", i, err)
		}
		// The whole Retriever, where kume found FAISS's neighbours.
		if fmt.Sprint(res.IDs[i*8:(i+1)*8]) == fmt.Sprint(ix[i*8:(i+1)*8]) {
			same++
			if err := closeTo(got[i*d:(i+1)*d], wantRow); err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
		}
	}
	if nanRows != 1 {
		t.Errorf("%d frames gave NaN in RVC's formula, want 1 (the stored frame)", nanRows)
	}
	if same < nq*99/100 {
		t.Errorf("kume and FAISS found the same 8 neighbours for %d of %d frames", same, nq)
	}
}

// closeTo checks got against want within 1e-5 relative, measured against the
// larger of the element and the row's largest magnitude (blends of
// zero-mean features cancel, so single elements can be near zero).
func closeTo(got, want []float32) error {
	scale := 0.0
	for _, v := range want {
		scale = max(scale, math.Abs(float64(v)))
	}
	for j := range want {
		tol := 1e-5 * max(math.Abs(float64(want[j])), scale)
		if diff := math.Abs(float64(got[j] - want[j])); diff > tol || math.IsNaN(float64(got[j])) {
			return fmt.Errorf("element %d: %v, RVC's numpy %v", j, got[j], want[j])
		}
	}
	return nil
}

func readRaw[T float32 | int64](t *testing.T, path string) []T {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var zero T
	out := make([]T, len(b)/binary.Size(zero))
	if _, err := binary.Decode(b, binary.LittleEndian, out); err != nil && !strings.Contains(err.Error(), "EOF") {
		t.Fatal(err)
	}
	return out
}

// BenchmarkBlend blends segments of 2,000 frames at 768-d against an index
// of 10,000 stored frames (IVF256,Flat, nprobe 1: RVC's index after the
// reduction), reusing dst.
func BenchmarkBlend(b *testing.B) {
	const d, n, nq = 768, 10000, 2000
	rng := rand.New(rand.NewPCG(8, 9))
	x := randn(rng, n*d)
	idx := newIndex(b, d, fmt.Sprintf("IVF%d,Flat", NList(n)), x)
	if err := factory.SetParams(idx, "nprobe=1"); err != nil {
		b.Fatal(err)
	}
	r, err := NewRetriever(idx, nil)
	if err != nil {
		b.Fatal(err)
	}
	frames := randn(rng, nq*d)
	dst := make([]float32, len(frames))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if dst, err = r.Blend(dst, frames, 0.75); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*nq), "µs/frame")
}
