// Package contract holds tests, and nothing else, that check the promises
// every kume index makes to its callers, across every index the factory
// builds, both metrics and every kernel implementation the CPU runs:
//
//   - a batch of queries is answered exactly as its queries are one by one,
//     whatever the batch's size, its other queries, the query's position in it
//     and GOMAXPROCS;
//   - the exact indexes (Flat, and IVF,Flat visiting every list) return the
//     true nearest neighbours, with distances close to the float64 value,
//     also on data that defeats the ||q||² + ||x||² - 2<q,x> shortcut
//     (un-centred vectors, near-duplicates, very large and very small
//     magnitudes);
//   - equal distances are ordered by id, so the best k are a prefix of the
//     best k+1;
//   - ids are never lost, reused or invented, whatever sequence of adds,
//     removals, resets, trainings and failed adds the index sees;
//   - bad input is rejected with an error wrapping one of kume's sentinels,
//     never with a panic or a silently wrong answer;
//   - a cancelled context stops a long Search, Add or Train promptly.
//
// The tests use fixed seeds and name the seed and case in every failure.
// With -short they run on smaller data.
package contract
