package kume_test

import (
	"context"
	"fmt"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/metric"
)

// A filter restricts a search to some ids: here a tenant's block of ids,
// minus the ones deleted. Only allowed ids come back, k of them when there
// are that many.
func ExampleIDFilter() {
	ctx := context.Background()
	idx, _ := factory.New(2, "Flat", metric.L2)
	_ = idx.Add(ctx, []float32{
		0, 0, // id 0
		1, 0, // id 1
		2, 0, // id 2
		3, 0, // id 3
		4, 0, // id 4
	})
	tenant := kume.IDRange(1, 5)      // ids 1..4
	deleted := kume.IDSet([]int64{2}) // id 2 is gone
	allowed := kume.AndFilter(tenant, kume.NotFilter(deleted))
	res, _ := idx.Search(ctx, []float32{0, 0}, 2, &kume.SearchParams{Filter: allowed})
	fmt.Println(res.IDs, res.Distances)
	// Output: [1 3] [1 9]
}

// A range search returns every vector within a radius (squared distance
// below it, under L2), best first, in FAISS's lims/ids/distances layout.
func ExampleRangeSearcher() {
	ctx := context.Background()
	idx, _ := factory.New(2, "Flat", metric.L2)
	_ = idx.Add(ctx, []float32{0, 0, 1, 0, 2, 0, 3, 0})
	queries := []float32{
		0, 0,
		2.9, 0,
	}
	res, _ := idx.(kume.RangeSearcher).RangeSearch(ctx, queries, 1.5, nil)
	for i := 0; i < res.NQ; i++ {
		dist, ids := res.Row(i)
		fmt.Printf("query %d: ids %v, distances %.2f\n", i, ids, dist)
	}
	fmt.Println("lims", res.Lims)
	// Output:
	// query 0: ids [0 1], distances [0.00 1.00]
	// query 1: ids [3 2], distances [0.01 0.81]
	// lims [0 2 4]
}
