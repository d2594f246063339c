package contract

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kume-ann/kume"
)

// TestTies checks, for every index type and metric, on a data set where
// every vector is stored several times (so equal distances straddle the k
// boundary), that:
//
//   - equal distances come in increasing id order;
//   - copies of one vector have the same distance, and a copy is returned
//     only after every copy with a smaller id;
//   - the best k are a prefix of the best k+1 (ids and distances), for k
//     around the boundaries of the groups of copies.
//
// A re-ranking index with a small k_factor re-ranks a candidate set that
// grows with k, so the prefix property is asked of it only with a k_factor
// large enough for the candidates to be every stored vector.
func TestTies(t *testing.T) {
	const (
		d        = 16
		distinct = 60
		copies   = 7
		nlist    = 8
		seed     = 41
	)
	rng := rand.New(rand.NewPCG(seed, 0))
	u := gaussian(rng, distinct, d, 0, 1)
	var base []float32
	var group []int // group[id] = which distinct vector id is a copy of
	for c := 0; c < copies; c++ {
		for _, r := range rng.Perm(distinct) {
			base = append(base, u[r*d:(r+1)*d]...)
			group = append(group, r)
		}
	}
	n := len(group)
	var queries []float32
	nq := 10
	if testing.Short() {
		nq = 4
	}
	for i := 0; i < nq; i++ {
		queries = append(queries, gaussian(rng, 1, d, 0, 1)...)
		r := rng.IntN(distinct)
		queries = append(queries, u[r*d:(r+1)*d]...)
		queries = append(queries, perturbed(rng, u, d, []int{r}, 1e-3)...)
	}
	ks := []int{1, 6, 7, 8, 14, 15, 21, 22}
	if testing.Short() {
		ks = []int{1, 6, 7, 14}
	}
	for _, desc := range descriptions(nlist, 8) {
		for _, m := range metrics {
			idx := build(t, d, desc, m, base, base)
			kd := kindOf(t, d, desc)
			for _, p := range []*kume.SearchParams{{NProbe: 2}, {NProbe: nlist}} {
				cover := 0
				if kd.spec.Refine {
					cover = n
				}
				label := fmt.Sprintf("seed %d, %s %v, %s", seed, desc, m, paramString(p))
				if cover > 0 {
					label += fmt.Sprintf(", k_factor = ceil(%d/k)", n)
				}
				if !checkTies(t, label, idx, queries, ks, p, cover, group, true) {
					continue
				}
				if kd.spec.Refine {
					// With the default k_factor only the tie rules hold.
					q := &kume.SearchParams{NProbe: p.NProbe}
					checkTies(t, label+" then k_factor=1", idx, queries, ks, q, 0, group, false)
				}
			}
		}
	}
}

// checkTies checks the tie rules of TestTies on the answers to queries for
// every k of ks, and with prefix set that the best k are a prefix of the best
// k+1. With cover > 0 the k_factor is set for each k so that k*k_factor >=
// cover. It reports the first failure and returns false after it.
func checkTies(t *testing.T, label string, idx kume.Index, queries []float32, ks []int, p *kume.SearchParams, cover int, group []int, prefix bool) bool {
	t.Helper()
	for _, k := range ks {
		pk := *p
		if cover > 0 {
			pk.KFactor = float32((cover + k - 1) / k)
		}
		a := mustSearch(t, label, idx, queries, k, &pk)
		b := mustSearch(t, label, idx, queries, k+1, &pk)
		for i := 0; i < a.NQ; i++ {
			ad, ai := a.Row(i)
			bd, bi := b.Row(i)
			for _, row := range []struct {
				k    int
				d    []float32
				ids  []int64
				name string
			}{{k, ad, ai, "k"}, {k + 1, bd, bi, "k+1"}} {
				if msg := tieOrder(row.d, row.ids, group); msg != "" {
					t.Errorf("%s: query %d, k = %d: %s; ids %v distances %v", label, i, row.k, msg, row.ids, row.d)
					return false
				}
			}
			if !prefix {
				continue
			}
			if diff := rowDiff(ad, ai, bd[:k], bi[:k], true); diff != "" {
				t.Errorf("%s: query %d: the best %d are not a prefix of the best %d: %s", label, i, k, k+1, diff)
				return false
			}
		}
	}
	return true
}

// tieOrder returns "" when the row obeys the tie rules, else what is wrong.
func tieOrder(dist []float32, ids []int64, group []int) string {
	at := map[int64]int{}
	for j, id := range ids {
		if id >= 0 {
			at[id] = j
		}
	}
	for j := 0; j+1 < len(ids); j++ {
		if ids[j] >= 0 && ids[j+1] >= 0 && dist[j] == dist[j+1] && ids[j] > ids[j+1] {
			return fmt.Sprintf("ranks %d and %d have the same distance %v and ids %d > %d", j, j+1, dist[j], ids[j], ids[j+1])
		}
	}
	for j, id := range ids {
		if id < 0 {
			continue
		}
		if id >= int64(len(group)) {
			return fmt.Sprintf("rank %d: id %d was never stored", j, id)
		}
		for other := int64(0); other < id; other++ {
			if group[other] != group[id] {
				continue
			}
			o, ok := at[other]
			if !ok || o > j {
				return fmt.Sprintf("rank %d: id %d is returned before id %d, an identical vector with a smaller id (at rank %s)", j, id, other, rankOf(o, ok))
			}
			if math.Float32bits(dist[o]) != math.Float32bits(dist[j]) {
				return fmt.Sprintf("identical vectors %d and %d have distances %v and %v", other, id, dist[o], dist[j])
			}
		}
	}
	return ""
}

func rankOf(r int, ok bool) string {
	if !ok {
		return "none"
	}
	return fmt.Sprint(r)
}
