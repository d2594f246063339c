package rvc_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/npy"
	"github.com/kume-ann/kume/rvc"
)

// The whole RVC index flow at 768-d (a v2 model): a feature folder, the
// index RVC's training writes, and the retrieval step of inference.
func Example() {
	exp, err := os.MkdirTemp("", "myvoice")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(exp)
	// Stand-in for the HuBERT features RVC's extraction writes: two
	// utterances of 768-d frames in 3_feature768.
	feat := filepath.Join(exp, "3_feature768")
	os.Mkdir(feat, 0o755)
	rng := rand.New(rand.NewPCG(1, 2))
	for i, frames := range []int{1200, 800} {
		x := make([]float32, frames*768)
		for j := range x {
			x[j] = float32(rng.NormFloat64())
		}
		if err := npy.WriteFile(filepath.Join(feat, fmt.Sprintf("%d_1.npy", i)), x, frames, 768); err != nil {
			panic(err)
		}
	}

	ctx := context.Background()
	res, err := rvc.TrainIndex(ctx, exp, &rvc.TrainOptions{Name: "myvoice"})
	if err != nil {
		panic(err)
	}
	fmt.Println("n_ivf", res.NList, "rows", res.Rows)
	fmt.Println(filepath.Base(res.AddedPath))

	// Inference: open the index once, blend each segment's frames.
	r, err := rvc.OpenRetriever(res.AddedPath, nil) // k = 8, the file's nprobe 1
	if err != nil {
		panic(err)
	}
	segment := make([]float32, 100*768)
	copy(segment, r.Vectors()[:100*768]) // frames the index holds
	var out []float32
	out, err = r.Blend(out, segment, 0.75) // reuse out for the next segment
	if err != nil {
		panic(err)
	}
	fmt.Println(len(out)/768, "frames blended; a stored frame is its own blend:", out[5] == segment[5])
	// Output:
	// n_ivf 51 rows 2000
	// added_IVF51_Flat_nprobe_1_myvoice_v2.index
	// 100 frames blended; a stored frame is its own blend: true
}

// A Retriever over an index built in memory: two stored 2-d frames, the
// two nearest blended by RVC's weights 1/d².
func ExampleNewRetriever() {
	idx, err := factory.New(2, "Flat", metric.L2)
	if err != nil {
		panic(err)
	}
	if err := idx.Add(context.Background(), []float32{0, 0, 4, 0}); err != nil {
		panic(err)
	}
	r, err := rvc.NewRetriever(idx, &rvc.RetrieverOptions{K: 2})
	if err != nil {
		panic(err)
	}
	// Frame (1, 0): squared distances 1 and 9, weights 81/82 and 1/82;
	// blend (4/82, 0); with index rate 1 the frame is replaced by it.
	out, err := r.Blend(nil, []float32{1, 0}, 1)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%.4f %.4f\n", out[0], out[1])
	// Output:
	// 0.0488 0.0000
}
