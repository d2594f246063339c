//go:build linux

package asm

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// guardedFloats returns a slice of n floats that ends exactly where a
// PROT_NONE page begins: a kernel that reads or writes one float past the
// end of its input faults.
func guardedFloats(t *testing.T, n int) []float32 {
	t.Helper()
	page := unix.Getpagesize()
	size := (4*n + page - 1) / page * page
	if size == 0 {
		size = page
	}
	mem, err := unix.Mmap(-1, 0, size+page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(mem) })
	if err := unix.Mprotect(mem[size:], unix.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	all := unsafe.Slice((*float32)(unsafe.Pointer(&mem[0])), size/4)
	return all[size/4-n:]
}

func guardedCopy(t *testing.T, src []float32) []float32 {
	dst := guardedFloats(t, len(src))
	copy(dst, src)
	return dst
}

func TestPageEdge(t *testing.T) {
	forEachFloatImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(11, 12))
		lengths := []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1000}
		for _, n := range lengths {
			x := guardedCopy(t, randVec(r, n, plainValue))
			y := guardedCopy(t, randVec(r, n, plainValue))
			checkClose(t, fmt.Sprintf("Dot n=%d", n), Dot(x, y), dotGeneric(x, y), refDot(x, y), n)
			checkClose(t, fmt.Sprintf("L2Sqr n=%d", n), L2Sqr(x, y), l2SqrGeneric(x, y), refL2(x, y), n)
		}
		for _, d := range []int{1, 3, 8, 13, 16, 17, 33, 100} {
			for _, n := range []int{1, 3, 4, 5, 9} {
				q := guardedCopy(t, randVec(r, d, plainValue))
				ys := guardedCopy(t, randVec(r, n*d, plainValue))
				dots, l2s := guardedFloats(t, n), guardedFloats(t, n)
				DotMany(dots, q, ys)
				L2SqrMany(l2s, q, ys)
				for i := 0; i < n; i++ {
					y := ys[i*d : (i+1)*d]
					checkClose(t, fmt.Sprintf("DotMany d=%d n=%d [%d]", d, n, i), dots[i], dotGeneric(q, y), refDot(q, y), d)
					checkClose(t, fmt.Sprintf("L2SqrMany d=%d n=%d [%d]", d, n, i), l2s[i], l2SqrGeneric(q, y), refL2(q, y), d)
				}
			}
		}
		for _, d := range []int{1, 3, 8, 13, 16, 17, 33, 100} {
			for _, n := range []int{1, 2, 5} {
				var qs [4][]float32
				for j := range qs {
					qs[j] = guardedCopy(t, randVec(r, d, plainValue))
				}
				ys := guardedCopy(t, randVec(r, n*d, plainValue))
				dots, l2s := guardedFloats(t, 4*n), guardedFloats(t, 4*n)
				DotMany4(dots, qs[0], qs[1], qs[2], qs[3], ys)
				L2SqrMany4(l2s, qs[0], qs[1], qs[2], qs[3], ys)
				for j, q := range qs {
					for i := 0; i < n; i++ {
						y := ys[i*d : (i+1)*d]
						checkClose(t, fmt.Sprintf("DotMany4 d=%d n=%d [%d,%d]", d, n, j, i), dots[j*n+i], dotGeneric(q, y), refDot(q, y), d)
						checkClose(t, fmt.Sprintf("L2SqrMany4 d=%d n=%d [%d,%d]", d, n, j, i), l2s[j*n+i], l2SqrGeneric(q, y), refL2(q, y), d)
					}
				}
			}
		}
		for _, d := range []int{1, 2, 5, 8, 15, 16, 17, 31, 33, 100} {
			for _, nx := range []int{1, 3, 5, 8, 9, 13, 17} {
				for _, ny := range []int{1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33} {
					xs := guardedCopy(t, randVec(r, nx*d, plainValue))
					ys := guardedCopy(t, randVec(r, ny*d, plainValue))
					dst := guardedFloats(t, nx*ny)
					DotTile(dst, xs, ys, d)
					for i := 0; i < nx; i++ {
						for j := 0; j < ny; j++ {
							x, y := xs[i*d:(i+1)*d], ys[j*d:(j+1)*d]
							checkClose(t, fmt.Sprintf("DotTile %dx%dx%d [%d,%d]", nx, ny, d, i, j), dst[i*ny+j], dotGeneric(x, y), refDot(x, y), d)
						}
					}
				}
			}
		}
	})
}

// TestQuantPageEdge runs the table-quantization kernels on rows that end
// exactly at an unmapped page.
func TestQuantPageEdge(t *testing.T) {
	forEachFloatImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(8, 8))
		for _, rows := range []int{1, 3, 64} {
			tab, _, a := quantInput(r, rows)
			g := guardedCopy(t, tab)
			lo, hi := guardedFloats(t, rows), guardedFloats(t, rows)
			RowRanges(lo, hi, g)
			dst := make([]byte, 16*rows)
			QuantizeRows(dst, g, lo, a)
			want := make([]byte, 16*rows)
			quantizeRowsGeneric(want, tab, lo, a)
			if fmt.Sprint(dst) != fmt.Sprint(want) {
				t.Fatalf("rows=%d: bytes differ from the twin", rows)
			}
		}
	})
}

// TestSubTablesPageEdge runs the table kernels on a query and centroids that
// end exactly at an unmapped page.
func TestSubTablesPageEdge(t *testing.T) {
	forEachFloatImpl(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(8, 9))
		for _, dsub := range []int{1, 4} {
			for _, nsub := range []int{1, 5} {
				x := guardedCopy(t, randVec(r, nsub*dsub, plainValue))
				ct := guardedCopy(t, randVec(r, 16*nsub*dsub, plainValue))
				dst := guardedFloats(t, 16*nsub)
				SubTables(dst, x, ct, dsub, true)
				want := make([]float32, 16*nsub)
				l2SubTablesGeneric(want, x, ct, dsub)
				if fmt.Sprint(dst) != fmt.Sprint(want) {
					t.Fatalf("dsub=%d nsub=%d: differs from the twin", dsub, nsub)
				}
			}
		}
	})
}

func TestPrefetchPageEdge(t *testing.T) {
	for _, n := range []int{1, 15, 16, 17, 1000} {
		Prefetch(guardedFloats(t, n))
		PrefetchL2(guardedFloats(t, n))
	}
}
