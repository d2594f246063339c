package kmeans_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/kume-ann/kume/kmeans"
)

// Reduce 20,000 points to 50 centres with mini-batch k-means, as RVC
// reduces a large voice's frames to 10,000 centres before indexing them.
func ExampleTrainMiniBatch() {
	const n, d, k = 20000, 16, 50
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	res, err := kmeans.TrainMiniBatch(context.Background(), x, d, k, kmeans.MiniBatchConfig{BatchSize: 512, Seed: 42})
	if err != nil {
		panic(err)
	}
	inertia, _ := kmeans.Inertia(context.Background(), x, d, res.Centroids)
	fmt.Println(len(res.Centroids)/d, "centres; stopped early:", res.Converged)
	// Standard normal points are at mean squared distance 16 from the
	// origin; 50 centres bring them closer.
	fmt.Println("closer than to the origin:", inertia/n < 16)
	// Output:
	// 50 centres; stopped early: true
	// closer than to the origin: true
}
