package factory_test

import (
	"context"
	"fmt"

	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/metric"
)

// An exact index built from a factory string: add three 2-d points and find
// the two nearest to a query.
func ExampleNew() {
	ctx := context.Background()
	idx, err := factory.New(2, "Flat", metric.L2)
	if err != nil {
		panic(err)
	}
	if err := idx.Add(ctx, []float32{0, 0, 1, 0, 5, 5}); err != nil {
		panic(err)
	}
	res, err := idx.Search(ctx, []float32{0.9, 0.1}, 2, nil)
	if err != nil {
		panic(err)
	}
	for i, id := range res.IDs {
		fmt.Printf("id %d at squared distance %.2f\n", id, res.Distances[i])
	}
	// Output:
	// id 1 at squared distance 0.02
	// id 0 at squared distance 0.82
}
