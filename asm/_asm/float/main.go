// Command float writes kume's amd64 float32 distance kernels: one file per
// instruction set (-isa avx2 or -isa avx512), each with its Go declarations.
//
// Every file holds the same set of functions:
//
//   - dotMany, l2Many: one query against consecutive rows (4 rows at a time,
//     one row at a time for the rest, each row summed in the same order, so
//     its result does not depend on its position), with masked loads for the
//     tail so no byte past a row is read;
//   - dotMany4, l2Many4: four queries against consecutive rows, each
//     row loaded once for the four, each (query, row) summed exactly as
//     dotMany and l2Many sum it;
//   - tile: the register-blocked micro-kernel of DotTile, mr rows of xs times
//     a packed panel of nr columns of ys (broadcast-FMA, accumulators held in
//     registers for the whole reduction), stored with column masks;
//   - pack: transposes nr full rows of ys (a k-range of them) into the panel
//     layout the micro-kernel reads: panel[k*nr + c] = ys[c][k];
//   - fmaPeak: independent FMAs only, to measure the machine's peak.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

var isa = flag.String("isa", "avx2", "instruction set: avx2 or avx512")

// gen holds what differs between the instruction sets.
type gen struct {
	name string // function name suffix
	w    int    // float32 lanes per vector
	wide bool   // AVX-512
	vec  func() VecVirtual
	mask Mem // tail mask table
}

func main() {
	flag.Parse()
	var g gen
	switch *isa {
	case "avx2":
		g = gen{name: "AVX2", w: 8, vec: YMM}
	case "avx512":
		g = gen{name: "AVX512", w: 16, wide: true, vec: ZMM}
	default:
		log.Fatalf("unknown -isa %q", *isa)
	}
	ConstraintExpr("!purego")
	g.maskTable()

	g.many("dotMany"+g.name, false)
	g.many("l2Many"+g.name, true)
	g.many4("dotMany4"+g.name, false)
	g.many4("l2Many4"+g.name, true)
	if g.wide {
		g.tile("tile8x32"+g.name, 8, 2)
		g.tile("tile16x16"+g.name, 16, 1)
		g.pack("pack32"+g.name, 2)
		g.pack("pack16"+g.name, 1)
	} else {
		g.tile("tile6x16"+g.name, 6, 2)
		g.tile("tile12x8"+g.name, 12, 1)
		g.pack("pack16"+g.name, 2)
		g.pack("pack8"+g.name, 1)
	}
	g.peak("fmaPeak" + g.name)
	Generate()
	addHeader()
}

// addHeader puts a comment saying what the file computes above avo's
// "Code generated" line.
func addHeader() {
	out := flag.Lookup("out").Value.String()
	if out == "" {
		return
	}
	src, err := os.ReadFile(out)
	if err != nil {
		log.Fatal(err)
	}
	ext := map[string]string{"avx2": "AVX2 and FMA (8 lanes)", "avx512": "AVX-512 F/VL (16 lanes)"}[*isa]
	head := fmt.Sprintf(`// float32 distance kernels for amd64 with %s:
// dot products and squared L2 distances of one query against many rows,
// the same for four queries against many rows (each row read once),
// the micro-kernel and panel packing of the tiled inner-product kernel
// (DotTile), and a loop of independent FMAs that measures peak throughput.
// Tails are read with masked loads: no kernel reads past its inputs.

`, ext)
	if err := os.WriteFile(out, append([]byte(head), src...), 0o644); err != nil {
		log.Fatal(err)
	}
}

// maskTable emits the table tail masks are loaded from. AVX-512: uint16
// entry r has the low r bits set (r = 0..16). AVX2: eight int32 -1 followed
// by eight 0; the 8 entries starting at 8-r have the first r lanes set.
func (g *gen) maskTable() {
	if g.wide {
		g.mask = GLOBL("tailmask16", RODATA|NOPTR)
		for r := 0; r <= 16; r++ {
			DATA(2*r, U16(uint16(1<<r-1)))
		}
		return
	}
	g.mask = GLOBL("tailmask8", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i < 8 {
			v = 0xffffffff
		}
		DATA(4*i, U32(v))
	}
}

// tailMask returns a mask for the first rem lanes (0 <= rem <= w). On
// AVX-512 it is an opmask register, on AVX2 a vector register.
func (g *gen) tailMask(rem Register) Register {
	t := GP64()
	LEAQ(g.mask, t)
	if g.wide {
		k := K()
		KMOVW(Mem{Base: t, Index: rem, Scale: 2}, k)
		return k
	}
	i := GP64()
	MOVQ(U32(8), i)
	SUBQ(rem, i)
	m := YMM()
	VMOVDQU(Mem{Base: t, Index: i, Scale: 4}, m)
	return m
}

// maskedLoad loads the lanes of m selected by mask into v, zeroing the rest.
func (g *gen) maskedLoad(m Mem, mask Register, v VecVirtual) {
	if g.wide {
		VMOVUPS_Z(m, mask, v)
	} else {
		VMASKMOVPS(m, mask, v)
	}
}

func (g *gen) zero(v VecVirtual) {
	if g.wide {
		VPXORD(v, v, v)
	} else {
		VXORPS(v, v, v)
	}
}

// toX folds a full-width vector into an xmm register holding four partial
// sums.
func (g *gen) toX(v VecVirtual) VecVirtual {
	var y VecVirtual
	if g.wide {
		t := YMM()
		VEXTRACTF64X4(U8(1), v, t)
		y = YMM()
		VADDPS(t, v.AsY(), y)
	} else {
		y = v
	}
	t := XMM()
	if g.wide {
		VEXTRACTF32X4(U8(1), y, t)
	} else {
		VEXTRACTF128(U8(1), y, t)
	}
	x := XMM()
	VADDPS(t, y.AsX(), x)
	return x
}

// many emits func(dst, q, ys []float32): dst[i] = <q, row i> or ||q - row i||².
func (g *gen) many(name string, l2 bool) {
	TEXT(name, NOSPLIT, "func(dst, q, ys []float32)")
	Pragma("noescape")
	if l2 {
		Doc(name + " writes dst[i] = ||q - ys[i*d:(i+1)*d]||² for d = len(q) and len(dst) rows.")
	} else {
		Doc(name + " writes dst[i] = <q, ys[i*d:(i+1)*d]> for d = len(q) and len(dst) rows.")
	}
	dst := Load(Param("dst").Base(), GP64())
	n := Load(Param("dst").Len(), GP64())
	q := Load(Param("q").Base(), GP64())
	stride := Load(Param("q").Len(), GP64())
	ys := Load(Param("ys").Base(), GP64())

	rem := GP64()
	MOVQ(stride, rem)
	ANDQ(U32(g.w-1), rem)
	mask := g.tailMask(rem)
	SHLQ(U8(2), stride) // row length in bytes

	vb := g.w * 4 // vector bytes
	// One block of R rows with A accumulators per row.
	block := func(R, A int, pfx string) {
		p := make([]GPVirtual, R)
		for r := range p {
			p[r] = GP64()
			if r == 0 {
				MOVQ(ys, p[r])
			} else {
				LEAQ(Mem{Base: p[r-1], Index: stride, Scale: 1}, p[r])
			}
		}
		acc := make([][]VecVirtual, R)
		for r := range acc {
			acc[r] = make([]VecVirtual, A)
			for a := range acc[r] {
				acc[r][a] = g.vec()
				g.zero(acc[r][a])
			}
		}
		koff, lim, lim1 := g.sumBounds(stride, A, vb)

		step := func(a int, disp int, masked bool) {
			qv := g.vec()
			qm := Mem{Base: q, Index: koff, Scale: 1, Disp: disp}
			if masked {
				g.maskedLoad(qm, mask, qv)
			} else {
				VMOVUPS(qm, qv)
			}
			for r := 0; r < R; r++ {
				ym := Mem{Base: p[r], Index: koff, Scale: 1, Disp: disp}
				var yv Op = ym
				if masked || l2 {
					t := g.vec()
					if masked {
						g.maskedLoad(ym, mask, t)
					} else {
						VMOVUPS(ym, t)
					}
					yv = t
				}
				if l2 {
					t := g.vec()
					VSUBPS(yv, qv, t)
					VFMADD231PS(t, t, acc[r][a])
				} else {
					VFMADD231PS(yv, qv, acc[r][a])
				}
			}
		}
		g.sumLoop(pfx, koff, lim, lim1, rem, A, vb, step)
		xs := make([]VecVirtual, R)
		for r := 0; r < R; r++ {
			for a := 1; a < A; a++ {
				VADDPS(acc[r][a], acc[r][0], acc[r][0])
			}
			xs[r] = g.toX(acc[r][0])
		}
		if R == 4 {
			a, b, c, e := XMM(), XMM(), XMM(), XMM()
			VUNPCKLPS(xs[1], xs[0], a)
			VUNPCKHPS(xs[1], xs[0], b)
			VADDPS(b, a, a)
			VUNPCKLPS(xs[3], xs[2], c)
			VUNPCKHPS(xs[3], xs[2], e)
			VADDPS(e, c, c)
			lo, hi := XMM(), XMM()
			VUNPCKLPD(c, a, lo)
			VUNPCKHPD(c, a, hi)
			VADDPS(hi, lo, lo)
			VMOVUPS(lo, Mem{Base: dst})
		} else {
			x := xs[0]
			t := XMM()
			VUNPCKHPD(x, x, t)
			VADDPS(t, x, x)
			VMOVSHDUP(x, t)
			VADDPS(t, x, x)
			VMOVSS(x, Mem{Base: dst})
		}
		ADDQ(U32(4*R), dst)
		LEAQ(Mem{Base: p[R-1], Index: stride, Scale: 1}, ys)
		SUBQ(U32(R), n)
	}

	Label(name + "_block4")
	CMPQ(n, U32(4))
	JL(LabelRef(name + "_block1"))
	block(4, 2, name+"_r4_")
	JMP(LabelRef(name + "_block4"))
	Label(name + "_block1")
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	// The same accumulators and reduction tree as a row of the 4-row
	// block, so a row's result does not depend on its position among the
	// rows, nor on whether it is compared alone (Dot, L2Sqr).
	block(1, 2, name+"_r1_")
	JMP(LabelRef(name + "_block1"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// sumBounds emits the registers sumLoop runs on for rows of stride bytes:
// the byte offset koff, zeroed, the last offset where A vectors of vb bytes
// fit (lim) and the last where one fits (lim1).
func (g *gen) sumBounds(stride Register, A, vb int) (koff, lim, lim1 GPVirtual) {
	koff = GP64()
	XORQ(koff, koff)
	lim = GP64()
	MOVQ(stride, lim)
	SUBQ(U32(A*vb), lim)
	lim1 = GP64()
	MOVQ(stride, lim1)
	SUBQ(U32(vb), lim1)
	return koff, lim, lim1
}

// sumLoop emits the loop over the vectors of a row that many and many4
// share, so that both sum in one order: pairs of vectors into accumulators
// 0 and 1 (step(a, byte offset, masked)) while a pair fits below lim, then
// single vectors into 0 while one fits below lim1, then the masked tail
// (rem floats) into A-1. koff is the byte offset, advanced here. It ends at
// the label pfx+"reduce".
func (g *gen) sumLoop(pfx string, koff, lim, lim1, rem Register, A, vb int, step func(a, disp int, masked bool)) {
	Label(pfx + "loopA")
	CMPQ(koff, lim)
	JG(LabelRef(pfx + "loop1"))
	for a := 0; a < A; a++ {
		step(a, a*vb, false)
	}
	ADDQ(U32(A*vb), koff)
	JMP(LabelRef(pfx + "loopA"))
	Label(pfx + "loop1")
	CMPQ(koff, lim1)
	JG(LabelRef(pfx + "tail"))
	step(0, 0, false)
	ADDQ(U32(vb), koff)
	JMP(LabelRef(pfx + "loop1"))
	Label(pfx + "tail")
	TESTQ(rem, rem)
	JZ(LabelRef(pfx + "reduce"))
	step(A-1, 0, true)
	Label(pfx + "reduce")
}

// many4 emits func(dst []float32, ld, n int, q0, q1, q2, q3, ys []float32):
// dst[j*ld+i] = <q_j, row i> or ||q_j - row i||² for the first n rows of
// ys. Each row's vectors are loaded once for the four queries (under L2,
// y - q squares to the same bits as q - y); every (query, row) pair has
// many's two accumulators, the same loop over vectors (pairs, then one,
// then the masked tail into the second) and the one-row reduction, so its
// value is many's bit for bit.
func (g *gen) many4(name string, l2 bool) {
	TEXT(name, NOSPLIT, "func(dst []float32, ld, n int, q0, q1, q2, q3, ys []float32)")
	Pragma("noescape")
	if l2 {
		Doc(name + " writes dst[j*ld+i] = ||q_j - ys[i*d:(i+1)*d]||² for the queries q0..q3 of d = len(q0) floats and i < n.")
	} else {
		Doc(name + " writes dst[j*ld+i] = <q_j, ys[i*d:(i+1)*d]> for the queries q0..q3 of d = len(q0) floats and i < n.")
	}
	dst := Load(Param("dst").Base(), GP64())
	n := Load(Param("n"), GP64())
	qs := []Register{
		Load(Param("q0").Base(), GP64()), Load(Param("q1").Base(), GP64()),
		Load(Param("q2").Base(), GP64()), Load(Param("q3").Base(), GP64()),
	}
	stride := Load(Param("q0").Len(), GP64())
	ys := Load(Param("ys").Base(), GP64())
	rem := GP64()
	MOVQ(stride, rem)
	ANDQ(U32(g.w-1), rem)
	mask := g.tailMask(rem)
	SHLQ(U8(2), stride)              // row length in bytes
	out := Load(Param("ld"), GP64()) // the step between the queries' outputs, in bytes
	SHLQ(U8(2), out)
	vb := g.w * 4
	const A = 2

	Label(name + "_row")
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	acc := make([][]VecVirtual, 4)
	for j := range acc {
		acc[j] = make([]VecVirtual, A)
		for a := range acc[j] {
			acc[j][a] = g.vec()
			g.zero(acc[j][a])
		}
	}
	koff, lim, lim1 := g.sumBounds(stride, A, vb)
	step := func(a int, disp int, masked bool) {
		yv := g.vec()
		ym := Mem{Base: ys, Index: koff, Scale: 1, Disp: disp}
		if masked {
			g.maskedLoad(ym, mask, yv)
		} else {
			VMOVUPS(ym, yv)
		}
		for j := 0; j < 4; j++ {
			qm := Mem{Base: qs[j], Index: koff, Scale: 1, Disp: disp}
			switch {
			case !l2 && masked:
				t := g.vec()
				g.maskedLoad(qm, mask, t)
				VFMADD231PS(t, yv, acc[j][a])
			case !l2:
				VFMADD231PS(qm, yv, acc[j][a])
			default:
				t := g.vec()
				if masked {
					g.maskedLoad(qm, mask, t)
					VSUBPS(t, yv, t)
				} else {
					VSUBPS(qm, yv, t)
				}
				VFMADD231PS(t, t, acc[j][a])
			}
		}
	}
	g.sumLoop(name+"_", koff, lim, lim1, rem, A, vb, step)
	o := GP64()
	MOVQ(dst, o)
	for j := 0; j < 4; j++ {
		for a := 1; a < A; a++ {
			VADDPS(acc[j][a], acc[j][0], acc[j][0])
		}
		x := g.toX(acc[j][0])
		t := XMM()
		VUNPCKHPD(x, x, t)
		VADDPS(t, x, x)
		VMOVSHDUP(x, t)
		VADDPS(t, x, x)
		VMOVSS(x, Mem{Base: o})
		if j < 3 {
			ADDQ(out, o)
		}
	}
	ADDQ(U32(4), dst)
	ADDQ(stride, ys)
	DECQ(n)
	JMP(LabelRef(name + "_row"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// tile emits the DotTile micro-kernel for mr rows and nv vectors of columns:
//
//	func(dst *float32, ldc int, a *float32, lda int, b *float32, kc, rows, cols, accum int)
//
// For i < rows and j < cols it sets (accum == 0) or adds to (accum != 0)
// dst[i*ldc+j] the sum over k < kc of a[i*lda+k] * b[k*nr+j], nr = nv*w. All
// mr rows of a are read (the caller pads); b is a packed panel.
func (g *gen) tile(name string, mr, nv int) {
	nr := nv * g.w
	TEXT(name, NOSPLIT, "func(dst *float32, ldc int, a *float32, lda int, b *float32, kc, rows, cols, accum int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s accumulates a %d-row by %d-column block of a times the packed panel b.", name, mr, nr))
	a := Load(Param("a"), GP64())
	lda := Load(Param("lda"), GP64())
	SHLQ(U8(2), lda)
	b := Load(Param("b"), GP64())
	kc := Load(Param("kc"), GP64())

	// Row r is read at (base[r/3])(lda*(r%3)).
	nb := (mr + 2) / 3
	base := make([]GPVirtual, nb)
	for i := range base {
		base[i] = GP64()
		if i == 0 {
			MOVQ(a, base[0])
		} else {
			LEAQ(Mem{Base: base[i-1], Index: lda, Scale: 2}, base[i])
			ADDQ(lda, base[i])
		}
	}
	row := func(r, disp int) Mem {
		m := Mem{Base: base[r/3], Disp: disp}
		if r%3 != 0 {
			m.Index, m.Scale = lda, uint8(r%3)
		}
		return m
	}
	acc := make([][]VecVirtual, mr)
	for r := range acc {
		acc[r] = make([]VecVirtual, nv)
		for v := range acc[r] {
			acc[r][v] = g.vec()
			g.zero(acc[r][v])
		}
	}
	step := func(u int) {
		bv := make([]VecVirtual, nv)
		for v := range bv {
			bv[v] = g.vec()
			VMOVUPS(Mem{Base: b, Disp: (u*nr + v*g.w) * 4}, bv[v])
		}
		for r := 0; r < mr; r++ {
			t := g.vec()
			VBROADCASTSS(row(r, 4*u), t)
			for v := 0; v < nv; v++ {
				VFMADD231PS(bv[v], t, acc[r][v])
			}
		}
	}
	const unroll = 4
	Label(name + "_loop4")
	CMPQ(kc, U32(unroll))
	JL(LabelRef(name + "_loop1"))
	for u := 0; u < unroll; u++ {
		step(u)
	}
	for _, p := range base {
		ADDQ(U32(4*unroll), p)
	}
	ADDQ(U32(4*unroll*nr), b)
	SUBQ(U32(unroll), kc)
	JMP(LabelRef(name + "_loop4"))
	Label(name + "_loop1")
	TESTQ(kc, kc)
	JZ(LabelRef(name + "_store"))
	step(0)
	for _, p := range base {
		ADDQ(U32(4), p)
	}
	ADDQ(U32(4*nr), b)
	DECQ(kc)
	JMP(LabelRef(name + "_loop1"))

	Label(name + "_store")
	dst := Load(Param("dst"), GP64())
	ldc := Load(Param("ldc"), GP64())
	SHLQ(U8(2), ldc)
	rows := Load(Param("rows"), GP64())
	cols := Load(Param("cols"), GP64())
	accum := Load(Param("accum"), GP64())

	// masks[v] selects the valid columns of vector v: clamp(cols-v*w, 0, w).
	masks := make([]Register, nv)
	for v := 0; v < nv; v++ {
		c, z, wv := GP64(), GP64(), GP64()
		MOVQ(cols, c)
		if v > 0 {
			SUBQ(U32(v*g.w), c)
		}
		XORQ(z, z)
		CMPQ(c, U32(0))
		CMOVQLT(z, c)
		MOVQ(U32(g.w), wv)
		CMPQ(c, wv)
		CMOVQGT(wv, c)
		masks[v] = g.tailMask(c)
	}
	emit := func(add bool, full bool, pfx string) {
		for r := 0; r < mr; r++ {
			if r > 0 {
				CMPQ(rows, U32(r))
				JLE(LabelRef(name + "_done"))
				ADDQ(ldc, dst)
			}
			for v := 0; v < nv; v++ {
				m := Mem{Base: dst, Disp: v * g.w * 4}
				x := acc[r][v]
				switch {
				case g.wide:
					if add {
						t := g.vec()
						VMOVUPS_Z(m, masks[v], t)
						VADDPS(t, x, x)
					}
					VMOVUPS(x, masks[v], m)
				case full:
					if add {
						VADDPS(m, x, x)
					}
					VMOVUPS(x, m)
				default:
					if add {
						t := g.vec()
						VMASKMOVPS(m, masks[v], t)
						VADDPS(t, x, x)
					}
					VMASKMOVPS(x, masks[v], m)
				}
			}
		}
		JMP(LabelRef(name + "_done"))
	}
	TESTQ(accum, accum)
	JNZ(LabelRef(name + "_add"))
	if !g.wide {
		CMPQ(cols, U32(nr))
		JNE(LabelRef(name + "_setmasked"))
		emit(false, true, "set")
		Label(name + "_setmasked")
	}
	emit(false, false, "setm")
	Label(name + "_add")
	if !g.wide {
		CMPQ(cols, U32(nr))
		JNE(LabelRef(name + "_addmasked"))
		emit(true, true, "add")
		Label(name + "_addmasked")
	}
	emit(true, false, "addm")
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// pack emits func(p, y *float32, ldy, kc int): for the nr = nv*w rows of y
// (row c at y + c*ldy) and k < kc it sets p[k*nr+c] = y[c*ldy+k]. The panel
// is written in whole blocks of w values of k: p must hold
// ceil(kc/w)*w*nr floats. Rows of y are read only up to kc.
func (g *gen) pack(name string, nv int) {
	nr := nv * g.w
	w := g.w
	TEXT(name, NOSPLIT, "func(p, y *float32, ldy, kc int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("%s transposes %d rows of y (k < kc) into a panel of %d columns.", name, nr, nr))
	p := Load(Param("p"), GP64())
	y := Load(Param("y"), GP64())
	ldy := Load(Param("ldy"), GP64())
	SHLQ(U8(2), ldy)
	kc := Load(Param("kc"), GP64())

	chunk := func(masked bool) {
		var mask Register
		if masked {
			mask = g.tailMask(kc)
		}
		for h := 0; h < nv; h++ {
			t := GP64()
			if h == 0 {
				MOVQ(y, t)
			} else {
				IMUL3Q(U32(h*w), ldy, t)
				ADDQ(y, t)
			}
			r := make([]VecVirtual, w)
			for c := 0; c < w; c++ {
				r[c] = g.vec()
				if masked {
					g.maskedLoad(Mem{Base: t}, mask, r[c])
				} else {
					VMOVUPS(Mem{Base: t}, r[c])
				}
				if c+1 < w {
					ADDQ(ldy, t)
				}
			}
			out := g.transpose(r)
			for k := 0; k < w; k++ {
				VMOVUPS(out[k], Mem{Base: p, Disp: (k*nr + h*w) * 4})
			}
		}
	}
	Label(name + "_loop")
	CMPQ(kc, U32(w))
	JL(LabelRef(name + "_tail"))
	chunk(false)
	ADDQ(U32(4*w), y)
	ADDQ(U32(4*w*nr), p)
	SUBQ(U32(w), kc)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_tail")
	TESTQ(kc, kc)
	JZ(LabelRef(name + "_done"))
	chunk(true)
	Label(name + "_done")
	VZEROUPPER()
	RET()
}

// transpose returns the columns of the w x w matrix whose rows are r.
func (g *gen) transpose(r []VecVirtual) []VecVirtual {
	w := len(r)
	// Within each 128-bit lane: after these two stages, group q (rows
	// 4q..4q+3) has vectors s[4q+j] whose 128-bit lane L holds column 4L+j
	// of those four rows.
	t := make([]VecVirtual, w)
	for i := 0; i < w; i += 2 {
		t[i], t[i+1] = g.vec(), g.vec()
		VUNPCKLPS(r[i+1], r[i], t[i])
		VUNPCKHPS(r[i+1], r[i], t[i+1])
	}
	s := make([]VecVirtual, w)
	for q := 0; q < w; q += 4 {
		s[q], s[q+1], s[q+2], s[q+3] = g.vec(), g.vec(), g.vec(), g.vec()
		VUNPCKLPD(t[q+2], t[q], s[q])
		VUNPCKHPD(t[q+2], t[q], s[q+1])
		VUNPCKLPD(t[q+3], t[q+1], s[q+2])
		VUNPCKHPD(t[q+3], t[q+1], s[q+3])
	}
	out := make([]VecVirtual, w)
	if w == 8 {
		for j := 0; j < 4; j++ {
			out[j], out[j+4] = g.vec(), g.vec()
			VPERM2F128(U8(0x20), s[4+j], s[j], out[j])
			VPERM2F128(U8(0x31), s[4+j], s[j], out[j+4])
		}
		return out
	}
	// w == 16: for each j, a 4x4 transpose of 128-bit lanes across the
	// four groups.
	for j := 0; j < 4; j++ {
		v0, v1, v2, v3 := s[j], s[4+j], s[8+j], s[12+j]
		a0, a1, a2, a3 := g.vec(), g.vec(), g.vec(), g.vec()
		VSHUFF32X4(U8(0x44), v1, v0, a0) // v0.0 v0.1 v1.0 v1.1
		VSHUFF32X4(U8(0xEE), v1, v0, a1) // v0.2 v0.3 v1.2 v1.3
		VSHUFF32X4(U8(0x44), v3, v2, a2) // v2.0 v2.1 v3.0 v3.1
		VSHUFF32X4(U8(0xEE), v3, v2, a3) // v2.2 v2.3 v3.2 v3.3
		for L := 0; L < 4; L++ {
			out[4*L+j] = g.vec()
		}
		VSHUFF32X4(U8(0x88), a2, a0, out[j])    // lane 0 of each
		VSHUFF32X4(U8(0xDD), a2, a0, out[4+j])  // lane 1
		VSHUFF32X4(U8(0x88), a3, a1, out[8+j])  // lane 2
		VSHUFF32X4(U8(0xDD), a3, a1, out[12+j]) // lane 3
	}
	return out
}

// peak emits func(n int): n iterations of 12 independent FMAs.
func (g *gen) peak(name string) {
	TEXT(name, NOSPLIT, "func(n int)")
	Doc(name + " runs n iterations of 12 independent vector FMAs.")
	n := Load(Param("n"), GP64())
	acc := make([]VecVirtual, 12)
	for i := range acc {
		acc[i] = g.vec()
		g.zero(acc[i])
	}
	x := g.vec()
	g.zero(x)
	Label(name + "_loop")
	TESTQ(n, n)
	JZ(LabelRef(name + "_done"))
	for i := range acc {
		VFMADD231PS(x, x, acc[i])
	}
	DECQ(n)
	JMP(LabelRef(name + "_loop"))
	Label(name + "_done")
	VZEROUPPER()
	RET()
}
