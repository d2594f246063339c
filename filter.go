package kume

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// IDFilter restricts a search to some ids: with SearchParams.Filter set, only
// ids the filter contains can be returned. It plays the part of FAISS's
// IDSelector. Contains must be safe to call from many goroutines at once and
// must give the same answer for the same id during a search.
type IDFilter interface {
	// Contains reports whether id may be returned.
	Contains(id int64) bool
}

// IDMasker is implemented by filters that can test 32 ids at once, cheaply:
// the fast-scan indexes ask them about each block of 32 codes before scanning
// it and skip the blocks whose ids are all filtered out; the flat paths skip
// the distances of such rows. Filters without it are asked id by id, only
// about the vectors that would otherwise enter the results. Every filter
// this package builds, except a hashed IDSet and combinations that contain
// one, implements it.
type IDMasker interface {
	IDFilter
	// MaskIDs returns a mask whose bit j is set when ids[j] is contained,
	// for j < len(ids) <= 32.
	MaskIDs(ids []int64) uint32
	// MaskSeq returns a mask whose bit j is set when first+j is contained,
	// for j < n <= 32 (first+n-1 does not overflow).
	MaskSeq(first int64, n int) uint32
}

// lowBits returns a mask of the n lowest bits, n <= 32.
func lowBits(n int) uint32 {
	if n >= 32 {
		return ^uint32(0)
	}
	return 1<<n - 1
}

// idRange is IDRange's filter.
type idRange struct{ lo, hi int64 }

// IDRange returns the filter of the ids lo <= id < hi, as FAISS's
// IDSelectorRange(imin, imax). It contains nothing when hi <= lo.
func IDRange(lo, hi int64) IDFilter { return idRange{lo, hi} }

func (r idRange) Contains(id int64) bool { return id >= r.lo && id < r.hi }

func (r idRange) MaskIDs(ids []int64) uint32 {
	var m uint32
	for j, id := range ids {
		if id >= r.lo && id < r.hi {
			m |= 1 << j
		}
	}
	return m
}

func (r idRange) MaskSeq(first int64, n int) uint32 {
	// The ids first .. first+n-1 that fall in [lo, hi).
	a, b := max(r.lo, first), min(r.hi, first+int64(n))
	if a >= b {
		return 0
	}
	return lowBits(int(b-first)) &^ lowBits(int(a-first))
}

func (r idRange) String() string { return fmt.Sprintf("IDRange(%d, %d)", r.lo, r.hi) }

// idBitmap is IDBitmap's filter.
type idBitmap struct{ bits []byte }

// IDBitmap returns the filter of the ids whose bit is set in bits, in FAISS's
// IDSelectorBitmap layout: id is contained when bit id&7 of byte id>>3 is
// set; ids beyond the bitmap (and negative ids) are not. bits is not copied
// and must not change while a search uses the filter.
func IDBitmap(bits []byte) IDFilter { return idBitmap{bits} }

func (b idBitmap) Contains(id int64) bool {
	if id < 0 || id>>3 >= int64(len(b.bits)) {
		return false
	}
	return b.bits[id>>3]>>(id&7)&1 != 0
}

func (b idBitmap) MaskIDs(ids []int64) uint32 {
	var m uint32
	for j, id := range ids {
		if id >= 0 && id>>3 < int64(len(b.bits)) && b.bits[id>>3]>>(id&7)&1 != 0 {
			m |= 1 << j
		}
	}
	return m
}

func (b idBitmap) MaskSeq(first int64, n int) uint32 {
	if first >= 0 && first&7 == 0 && (first>>3)+4 <= int64(len(b.bits)) {
		// Aligned: the 32 bits are four bytes, in order.
		return binary.LittleEndian.Uint32(b.bits[first>>3:]) & lowBits(n)
	}
	var m uint32
	for j := 0; j < n; j++ {
		if b.Contains(first + int64(j)) {
			m |= 1 << j
		}
	}
	return m
}

// idSorted is a small IDSet: a sorted slice.
type idSorted struct{ ids []int64 }

func (s idSorted) Contains(id int64) bool {
	_, ok := slices.BinarySearch(s.ids, id)
	return ok
}

func (s idSorted) MaskIDs(ids []int64) uint32 {
	var m uint32
	for j, id := range ids {
		if s.Contains(id) {
			m |= 1 << j
		}
	}
	return m
}

func (s idSorted) MaskSeq(first int64, n int) uint32 {
	// The set's ids in [first, first+n).
	i, _ := slices.BinarySearch(s.ids, first)
	var m uint32
	for ; i < len(s.ids) && s.ids[i] < first+int64(n); i++ {
		m |= 1 << (s.ids[i] - first)
	}
	return m
}

// idDense is an IDSet whose ids span a range not much wider than their
// number: a bitmap offset by the smallest id.
type idDense struct {
	base int64
	bm   idBitmap
}

func (s idDense) Contains(id int64) bool { return id >= s.base && s.bm.Contains(id-s.base) }

func (s idDense) MaskIDs(ids []int64) uint32 {
	var m uint32
	for j, id := range ids {
		if s.Contains(id) {
			m |= 1 << j
		}
	}
	return m
}

func (s idDense) MaskSeq(first int64, n int) uint32 {
	if first >= s.base {
		return s.bm.MaskSeq(first-s.base, n)
	}
	var m uint32
	for j := 0; j < n; j++ {
		if s.Contains(first + int64(j)) {
			m |= 1 << j
		}
	}
	return m
}

// idHashed is a large, sparse IDSet.
type idHashed struct{ set map[int64]struct{} }

func (s idHashed) Contains(id int64) bool {
	_, ok := s.set[id]
	return ok
}

// smallSet is the largest IDSet kept as a sorted slice; denseFactor the
// widest span, in ids per element, kept as a bitmap (8 ids per element cost
// one byte each, as much as a sorted int64).
const (
	smallSet    = 64
	denseFactor = 64
)

// IDSet returns the filter of the given ids (FAISS's IDSelectorBatch). The
// ids are copied; duplicates and negative ids are harmless. The
// representation is chosen by size: up to 64 ids a sorted slice; more, a
// bitmap when they span at most 64 ids per element (a tenant's block of ids,
// a random tenth of an index), else a hash set.
func IDSet(ids []int64) IDFilter {
	if len(ids) == 0 {
		return idSorted{}
	}
	lo, hi := slices.Min(ids), slices.Max(ids)
	if len(ids) <= smallSet {
		s := slices.Clone(ids)
		slices.Sort(s)
		return idSorted{slices.Compact(s)}
	}
	if span := uint64(hi) - uint64(lo); span/denseFactor < uint64(len(ids)) {
		bm := make([]byte, span/8+1)
		for _, id := range ids {
			o := id - lo
			bm[o>>3] |= 1 << (o & 7)
		}
		return idDense{lo, idBitmap{bm}}
	}
	set := make(map[int64]struct{}, len(ids))
	for _, id := range ids {
		set[id] = struct{}{}
	}
	return idHashed{set}
}

// notFilter is NotFilter's.
type notFilter struct{ f IDFilter }

type notMasker struct{ f IDMasker }

// NotFilter returns the filter of the ids f does not contain (FAISS's
// IDSelectorNot). f must not be nil.
func NotFilter(f IDFilter) IDFilter {
	mustFilter("NotFilter", f)
	if m, ok := f.(IDMasker); ok {
		return notMasker{m}
	}
	return notFilter{f}
}

func (n notFilter) Contains(id int64) bool { return !n.f.Contains(id) }
func (n notMasker) Contains(id int64) bool { return !n.f.Contains(id) }

func (n notMasker) MaskIDs(ids []int64) uint32 {
	return ^n.f.MaskIDs(ids) & lowBits(len(ids))
}

func (n notMasker) MaskSeq(first int64, cnt int) uint32 {
	return ^n.f.MaskSeq(first, cnt) & lowBits(cnt)
}

// andFilter and orFilter combine filters; the maskers' versions combine
// masks too.
type (
	andFilter struct{ fs []IDFilter }
	orFilter  struct{ fs []IDFilter }
	andMasker struct{ fs []IDMasker }
	orMasker  struct{ fs []IDMasker }
)

// AndFilter returns the filter of the ids every one of fs contains (FAISS's
// IDSelectorAnd, for any number of filters); with none, every id. The
// filters must not be nil.
func AndFilter(fs ...IDFilter) IDFilter {
	if ms, ok := maskers("AndFilter", fs); ok {
		return andMasker{ms}
	}
	return andFilter{slices.Clone(fs)}
}

// OrFilter returns the filter of the ids at least one of fs contains (FAISS's
// IDSelectorOr, for any number of filters); with none, no id. The filters
// must not be nil.
func OrFilter(fs ...IDFilter) IDFilter {
	if ms, ok := maskers("OrFilter", fs); ok {
		return orMasker{ms}
	}
	return orFilter{slices.Clone(fs)}
}

// maskers returns fs as IDMaskers when they all are.
func maskers(name string, fs []IDFilter) ([]IDMasker, bool) {
	ms := make([]IDMasker, 0, len(fs))
	all := true
	for _, f := range fs {
		mustFilter(name, f)
		m, ok := f.(IDMasker)
		all = all && ok
		ms = append(ms, m)
	}
	return ms, all
}

func mustFilter(name string, f IDFilter) {
	if f == nil {
		panic("kume." + name + ": nil filter")
	}
}

func (a andFilter) Contains(id int64) bool {
	for _, f := range a.fs {
		if !f.Contains(id) {
			return false
		}
	}
	return true
}

func (o orFilter) Contains(id int64) bool {
	for _, f := range o.fs {
		if f.Contains(id) {
			return true
		}
	}
	return false
}

func (a andMasker) Contains(id int64) bool {
	for _, f := range a.fs {
		if !f.Contains(id) {
			return false
		}
	}
	return true
}

func (o orMasker) Contains(id int64) bool {
	for _, f := range o.fs {
		if f.Contains(id) {
			return true
		}
	}
	return false
}

func (a andMasker) MaskIDs(ids []int64) uint32 {
	m := lowBits(len(ids))
	for _, f := range a.fs {
		if m == 0 {
			break
		}
		m &= f.MaskIDs(ids)
	}
	return m
}

func (a andMasker) MaskSeq(first int64, n int) uint32 {
	m := lowBits(n)
	for _, f := range a.fs {
		if m == 0 {
			break
		}
		m &= f.MaskSeq(first, n)
	}
	return m
}

func (o orMasker) MaskIDs(ids []int64) uint32 {
	var m uint32
	for _, f := range o.fs {
		m |= f.MaskIDs(ids)
	}
	return m
}

func (o orMasker) MaskSeq(first int64, n int) uint32 {
	var m uint32
	for _, f := range o.fs {
		m |= f.MaskSeq(first, n)
	}
	return m
}

// FilterMask returns the mask of the n <= 32 ids ids[0:n], or first ..
// first+n-1 when ids is nil, that f contains: bit j for the j-th id. It uses
// f's IDMasker methods when it has them and asks id by id otherwise.
func FilterMask(f IDFilter, ids []int64, first int64, n int) uint32 {
	if m, ok := f.(IDMasker); ok {
		if ids != nil {
			return m.MaskIDs(ids[:n])
		}
		return m.MaskSeq(first, n)
	}
	var m uint32
	for j := 0; j < n; j++ {
		id := first + int64(j)
		if ids != nil {
			id = ids[j]
		}
		if f.Contains(id) {
			m |= 1 << j
		}
	}
	return m
}
