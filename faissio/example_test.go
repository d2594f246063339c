package faissio_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/kume-ann/kume/faissio"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/metric"
)

// Save an IVF index in FAISS's format and load it back, as
// faiss.write_index and faiss.read_index would.
func Example() {
	ctx := context.Background()
	const d, n = 16, 2000
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, n*d)
	for i := range x {
		x[i] = rng.Float32()
	}
	idx, _ := ivf.NewFlat(d, 16, metric.L2)
	_ = idx.Train(ctx, x)
	_ = idx.Add(ctx, x)
	_ = idx.SetNProbe(4)

	var buf bytes.Buffer
	if err := faissio.Write(&buf, idx); err != nil {
		fmt.Println(err)
		return
	}
	loaded, err := faissio.Read(&buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, _ := loaded.Search(ctx, x[42*d:43*d], 1, nil)
	fmt.Printf("%T with %d vectors, nprobe %d\n", loaded, loaded.Len(), loaded.(*ivf.Index).NProbe())
	fmt.Println("nearest to vector 42:", res.IDs[0])
	// Output:
	// *ivf.Index with 2000 vectors, nprobe 4
	// nearest to vector 42: 42
}
