package exact

import (
	"math/bits"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/internal/rangeres"
	"github.com/kume-ann/kume/internal/topk"
)

// group is how many rows a filter is asked about at once.
const group = 32

// Scan compares q with every row of rows (len(q) floats each) with the
// one-query kernels and offers each row's key (squared distance, or negated
// inner product when ip) to h with its id, ids[j] or base+j when ids is nil.
// With a filter f, rows whose ids f does not contain are never offered; when
// f is a kume.IDMasker, groups of 32 rows that it filters out entirely are
// not even measured. buf is scratch of at least one float; rows are measured
// len(buf) at a time.
func Scan(h *topk.Heap, q, rows []float32, ids []int64, base int64, ip bool, f kume.IDFilter, buf []float32) {
	d := len(q)
	n := len(rows) / d
	if f != nil {
		if _, ok := f.(kume.IDMasker); ok {
			scanMasked(h, q, rows, ids, base, ip, f, buf)
			return
		}
	}
	for r0 := 0; r0 < n; r0 += len(buf) {
		r1 := min(r0+len(buf), n)
		b := buf[:r1-r0]
		measure(b, q, rows[r0*d:r1*d], ip)
		thr := h.Threshold()
		for j, v := range b {
			if ip {
				v = -v
			}
			if v <= thr {
				id := base + int64(r0+j)
				if ids != nil {
					id = ids[r0+j]
				}
				if f != nil && !f.Contains(id) {
					continue
				}
				h.Push(v, id)
				thr = h.Threshold()
			}
		}
	}
}

// measure writes the one-query kernel's values of q against rows into dst.
func measure(dst, q, rows []float32, ip bool) {
	if ip {
		asm.DotMany(dst, q, rows)
	} else {
		asm.L2SqrMany(dst, q, rows)
	}
}

// groupIDs returns the ids of rows r0..r0+n-1 for kume.FilterMask.
func groupIDs(ids []int64, r0, n int) []int64 {
	if ids == nil {
		return nil
	}
	return ids[r0 : r0+n]
}

func scanMasked(h *topk.Heap, q, rows []float32, ids []int64, base int64, ip bool, f kume.IDFilter, buf []float32) {
	d := len(q)
	n := len(rows) / d
	var tmp [group]float32
	b := tmp[:]
	if len(buf) >= group {
		b = buf[:group]
	}
	for r0 := 0; r0 < n; r0 += group {
		g := min(group, n-r0)
		mask := kume.FilterMask(f, groupIDs(ids, r0, g), base+int64(r0), g)
		if mask == 0 {
			continue
		}
		measure(b[:g], q, rows[r0*d:(r0+g)*d], ip)
		thr := h.Threshold()
		for ; mask != 0; mask &= mask - 1 {
			j := bits.TrailingZeros32(mask)
			v := b[j]
			if ip {
				v = -v
			}
			if v <= thr {
				id := base + int64(r0+j)
				if ids != nil {
					id = ids[r0+j]
				}
				h.Push(v, id)
				thr = h.Threshold()
			}
		}
	}
}

// ScanRadius compares q with every row of rows as Scan does and appends to
// out each row within radius (rangeres.Keep) whose id f contains (every id
// when f is nil), with its one-query kernel value (squared distance, or
// inner product when ip).
func ScanRadius(out *rangeres.Out, q, rows []float32, ids []int64, base int64, ip bool, radius float32, f kume.IDFilter, buf []float32) {
	d := len(q)
	n := len(rows) / d
	masker := false
	if f != nil {
		_, masker = f.(kume.IDMasker)
	}
	step := len(buf)
	if masker {
		step = min(step, group)
	}
	for r0 := 0; r0 < n; r0 += step {
		r1 := min(r0+step, n)
		all := ^uint32(0)
		if masker {
			all = kume.FilterMask(f, groupIDs(ids, r0, r1-r0), base+int64(r0), r1-r0)
			if all == 0 {
				continue
			}
		}
		b := buf[:r1-r0]
		measure(b, q, rows[r0*d:r1*d], ip)
		for j, v := range b {
			if !(ip && v > radius || !ip && v < radius) {
				continue
			}
			if masker && all>>j&1 == 0 {
				continue
			}
			id := base + int64(r0+j)
			if ids != nil {
				id = ids[r0+j]
			}
			if f != nil && !masker && !f.Contains(id) {
				continue
			}
			out.Append(v, id)
		}
	}
}
