package kume_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/metric"
)

// Searching in a loop with SearchInto reuses the result buffers, so the
// steady state allocates nothing.
func ExampleIndex_searchInto() {
	ctx := context.Background()
	idx, _ := factory.New(3, "Flat", metric.InnerProduct)
	_ = idx.Add(ctx, []float32{
		1, 0, 0,
		0, 1, 0,
		0, 0, 1,
	})
	var res kume.Results
	for _, q := range [][]float32{{0.1, 0.9, 0}, {0, 0.2, 0.7}} {
		if err := idx.SearchInto(ctx, &res, q, 1, nil); err != nil {
			panic(err)
		}
		fmt.Printf("best id %d, score %.1f\n", res.IDs[0], res.Distances[0])
	}
	// Output:
	// best id 1, score 0.9
	// best id 2, score 0.7
}

// Errors wrap kume's sentinels, so callers can branch with errors.Is.
func Example_errors() {
	ctx := context.Background()
	idx, _ := factory.New(4, "Flat", metric.L2)
	err := idx.Add(ctx, []float32{1, 2, 3}) // not a whole 4-d vector
	fmt.Println(errors.Is(err, kume.ErrDimension))
	_, err = idx.Search(ctx, []float32{1, 2, 3, 4}, 0, nil)
	fmt.Println(errors.Is(err, kume.ErrInvalidArgument))
	_, err = factory.New(256, "IVF1024,SQ8", metric.L2)
	fmt.Println(errors.Is(err, kume.ErrUnsupported))
	// Output:
	// true
	// true
	// true
}
