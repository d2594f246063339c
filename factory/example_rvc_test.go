package factory_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/metric"
)

// The retrieval step of RVC voice conversion: an IVF index over a voice's
// feature frames, searched with k=8 and nprobe=1 for every frame of new
// speech, and the neighbours blended with weights 1/d² (d being the squared
// distance FAISS and kume return), normalised to sum to one.
func Example_rvc() {
	ctx := context.Background()
	const dim, frames = 16, 4000
	rng := rand.New(rand.NewPCG(1, 2))
	voice := make([]float32, frames*dim) // stands in for HuBERT features
	for i := range voice {
		voice[i] = float32(rng.NormFloat64())
	}

	// RVC's rule for the number of lists: min(16·sqrt(N), N/39).
	nlist := min(int(16*math.Sqrt(frames)), frames/39)
	idx, err := factory.New(dim, fmt.Sprintf("IVF%d,Flat", nlist), metric.L2)
	if err != nil {
		panic(err)
	}
	if err := idx.Train(ctx, voice); err != nil {
		panic(err)
	}
	if err := idx.Add(ctx, voice); err != nil {
		panic(err)
	}
	stored, err := idx.(kume.Reconstructor).ReconstructN(0, int64(idx.Len()), nil) // RVC's big_npy
	if err != nil {
		panic(err)
	}

	// One frame of new speech: close to stored frame 42.
	frame := make([]float32, dim)
	for j := range frame {
		frame[j] = voice[42*dim+j] + 0.01
	}
	res, err := idx.Search(ctx, frame, 8, &kume.SearchParams{NProbe: 1})
	if err != nil {
		panic(err)
	}
	blended := make([]float32, dim)
	var total float64
	weights := make([]float64, len(res.IDs))
	for i, id := range res.IDs {
		if id < 0 { // fewer than 8 vectors in the probed list
			continue
		}
		weights[i] = 1 / (float64(res.Distances[i]) * float64(res.Distances[i]))
		total += weights[i]
	}
	for i, id := range res.IDs {
		if id < 0 {
			continue
		}
		for j := range blended {
			blended[j] += float32(weights[i]/total) * stored[int(id)*dim+j]
		}
	}
	fmt.Println("nearest frame:", res.IDs[0])
	fmt.Printf("blend is dominated by it: %.2f\n", weights[0]/total)
	// Output:
	// nearest frame: 42
	// blend is dominated by it: 1.00
}

// Cosine similarity: L2-normalise on the way in and rank by inner product.
func Example_cosine() {
	ctx := context.Background()
	idx, err := factory.New(2, "L2norm,Flat", metric.InnerProduct)
	if err != nil {
		panic(err)
	}
	// Direction matters, length does not.
	_ = idx.Add(ctx, []float32{10, 0, 0, 0.5, 3, 3})
	res, _ := idx.Search(ctx, []float32{1, 1.1}, 3, nil)
	for i, id := range res.IDs {
		fmt.Printf("id %d cosine %.3f\n", id, res.Distances[i])
	}
	// Output:
	// id 2 cosine 0.999
	// id 1 cosine 0.740
	// id 0 cosine 0.673
}
