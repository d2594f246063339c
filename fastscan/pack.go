// Package fastscan implements FAISS's 4-bit PQ fast scan: codes packed in
// blocks of 32 vectors, per-query look-up tables quantized to bytes, and a
// scan that sums table entries for 32 vectors at a time with SIMD byte
// shuffles (package asm), keeping the best k with a threshold that skips
// every vector that cannot enter the top k.
//
// The packed layout is FAISS's, byte for byte: indexes move between kume and
// FAISS as files. It provides the flat index "PQ{M}x4fs" and the block
// scanner (Scanner) and packing that the inverted-list codec of
// "IVF{n},PQ{M}x4fs[r]" (package ivf/ivfpqfs) builds on; it knows nothing of
// inverted lists.
package fastscan

import (
	"github.com/kume-ann/kume/asm"
	"github.com/kume-ann/kume/pq"
)

// BlockSize is the number of vectors in a packed block.
const BlockSize = asm.BlockSize

// M2 is the number of sub-quantizers the packed layout holds for m: m rounded
// up to even. The padding sub-quantizer has code 0 and a zero table.
func M2(m int) int { return (m + 1) &^ 1 }

// BlockBytes is the size of one packed block: 32 vectors of M2 nibbles.
func BlockBytes(m int) int { return BlockSize / 2 * M2(m) }

// KSub is the number of entries of one sub-quantizer's table: one per
// 4-bit code.
const KSub = pq.KSub

// LUTBytes is the size of one query's quantized table for m sub-quantizers:
// M2 rows of KSub bytes (the padding row zero).
func LUTBytes(m int) int { return KSub * M2(m) }

// Blocks is the number of blocks that hold n vectors.
func Blocks(n int) int { return (n + BlockSize - 1) / BlockSize }

// nibbleAddr returns the byte offset and shift of sub-quantizer s of vector v
// in a packed buffer with m2 sub-quantizers. Inside a block, the pair of
// sub-quantizers s/2 owns 32 bytes: 16 for the even one, then 16 for the odd
// one. In each 16 bytes, byte 2i holds vectors i (low nibble) and i+16
// (high), and byte 2i+1 holds vectors i+8 and i+24.
func nibbleAddr(m2, v, s int) (int, uint) {
	l := v % BlockSize
	r := l % 16
	pos := 2 * r
	if r >= 8 {
		pos = 2*(r-8) + 1
	}
	off := (v/BlockSize)*(BlockSize/2)*m2 + 32*(s/2) + 16*(s%2) + pos
	if l >= 16 {
		return off, 4
	}
	return off, 0
}

// Pack writes n codes in FAISS's unpacked form (ceil(m/2) bytes each,
// sub-quantizer j in byte j/2, low nibble first) as vectors start ..
// start+n-1 of packed, which must hold Blocks(start+n) blocks. The nibbles of
// other vectors are kept, so codes can be appended to a partly filled block.
func Pack(packed, codes []byte, n, m, start int) {
	m2 := M2(m)
	cs := (m + 1) / 2
	for i := 0; i < n; i++ {
		code := codes[i*cs : (i+1)*cs]
		for s := 0; s < m2; s++ {
			var c byte
			if s < m {
				c = code[s/2] >> (4 * (s % 2)) & 15
			}
			off, shift := nibbleAddr(m2, start+i, s)
			packed[off] = packed[off]&^(15<<shift) | c<<shift
		}
	}
}

// Unpack reads vectors start .. start+n-1 of packed back into FAISS's
// unpacked form, ceil(m/2) bytes each.
func Unpack(codes, packed []byte, n, m, start int) {
	m2 := M2(m)
	cs := (m + 1) / 2
	for i := 0; i < n; i++ {
		code := codes[i*cs : (i+1)*cs]
		clear(code)
		for s := 0; s < m; s++ {
			off, shift := nibbleAddr(m2, start+i, s)
			code[s/2] |= (packed[off] >> shift & 15) << (4 * (s % 2))
		}
	}
}

// AppendPacked grows packed (holding n0 codes) to hold n more and packs
// codes (FAISS's unpacked form) into them.
func AppendPacked(packed, codes []byte, n0, n, m int) []byte {
	need := Blocks(n0+n) * BlockBytes(m)
	if need > len(packed) {
		packed = append(packed, make([]byte, need-len(packed))...)
	}
	Pack(packed, codes, n, m, n0)
	return packed
}

// TruncatePacked keeps the first n codes of packed: whole blocks past them
// are dropped and the rest of the last block is zeroed, as FAISS's files
// have it.
func TruncatePacked(packed []byte, n, m int) []byte {
	end := Blocks(n) * BlockSize
	if pad := end - n; pad > 0 {
		Pack(packed, make([]byte, pad*((m+1)/2)), pad, m, n)
	}
	return packed[:Blocks(n)*BlockBytes(m)]
}

// KeepPacked returns new packed blocks holding the codes at positions keep
// (ascending) of the n codes of packed, in that order.
func KeepPacked(packed []byte, n, m int, keep []int32) []byte {
	cs := (m + 1) / 2
	all := make([]byte, n*cs)
	Unpack(all, packed, n, m, 0)
	codes := make([]byte, 0, len(keep)*cs)
	for _, i := range keep {
		codes = append(codes, all[int(i)*cs:(int(i)+1)*cs]...)
	}
	return AppendPacked(nil, codes, 0, len(keep), m)
}
