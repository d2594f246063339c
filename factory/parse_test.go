package factory

import (
	"errors"
	"github.com/google/go-cmp/cmp"
	"testing"

	"github.com/kume-ann/kume"
)

func TestParseGood(t *testing.T) {
	cases := []struct {
		d    int
		s    string
		want Spec
	}{
		{8, "Flat", Spec{Code: CodeFlat}},
		{256, "IVF1024,Flat", Spec{NList: 1024, Code: CodeFlat}},
		{256, "IVF4k,Flat", Spec{NList: 4096, Code: CodeFlat}},
		{256, "IVF1M,Flat", Spec{NList: 1 << 20, Code: CodeFlat}},
		{256, "PQ32x4fs", Spec{Code: CodePQ4FastScan, M: 32}},
		{256, "PQ32x4fs_32", Spec{Code: CodePQ4FastScan, M: 32}},
		{256, "IVF64,PQ32x4fsr_64", Spec{NList: 64, Code: CodePQ4FastScan, M: 32, ByResidual: true}},
		{256, "IVF1024,PQ128x4fs", Spec{NList: 1024, Code: CodePQ4FastScan, M: 128}},
		{256, "IVF1024,PQ128x4fsr", Spec{NList: 1024, Code: CodePQ4FastScan, M: 128, ByResidual: true}},
		{256, "IVF1024,PQ128x4fs,RFlat", Spec{NList: 1024, Code: CodePQ4FastScan, M: 128, Refine: true}},
		{256, "PQ32x4fs,Refine(Flat)", Spec{Code: CodePQ4FastScan, M: 32, Refine: true}},
		{256, "Flat,RFlat", Spec{Code: CodeFlat, Refine: true}},
		{64, "L2norm,IVF16,PQ16x4fs,RFlat", Spec{Normalize: true, NList: 16, Code: CodePQ4FastScan, M: 16, Refine: true}},
		{64, "L2norm,Flat", Spec{Normalize: true, Code: CodeFlat}},
		{784, "IVF256,PQ196x4fs,RFlat", Spec{NList: 256, Code: CodePQ4FastScan, M: 196, Refine: true}},
		{256, "IVF16384_HNSW32,Flat", Spec{NList: 16384, QuantizerM: 32, Code: CodeFlat}},
		{256, "IVF64k_HNSW,Flat", Spec{NList: 65536, QuantizerM: 32, Code: CodeFlat}},
		{64, "L2norm,IVF256_HNSW8,PQ16x4fsr,RFlat", Spec{Normalize: true, NList: 256, QuantizerM: 8, Code: CodePQ4FastScan, M: 16, ByResidual: true, Refine: true}},
	}
	for _, c := range cases {
		got, err := Parse(c.d, c.s)
		if err != nil {
			t.Errorf("Parse(%d, %q): %v", c.d, c.s, err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("Parse(%d, %q) mismatch (-want +got):\n%s", c.d, c.s, diff)
		}
		// The canonical string parses back to the same spec.
		again, err := Parse(c.d, got.String())
		if err != nil || again != got {
			t.Errorf("Parse(String()) of %q: %+v, %v", c.s, again, err)
		}
	}
}

func TestParseBad(t *testing.T) {
	cases := []struct {
		d    int
		s    string
		want error
		msg  string // the whole message
	}{
		{256, "", kume.ErrFactory,
			"factory: bad factory string \"\": empty string"},
		{256, "IVF0,Flat", kume.ErrFactory,
			"factory: bad factory string \"IVF0,Flat\": IVF0: the number of lists must be at least 1"},
		{256, "PQ7x4fs", kume.ErrFactory,
			"factory: bad factory string \"PQ7x4fs\": PQ7x4fs: M = 7 sub-quantizers must divide the dimension d = 256"},
		{256, "PQ0x4fs", kume.ErrFactory,
			"factory: bad factory string \"PQ0x4fs\": PQ0x4fs: the number of sub-quantizers must be at least 1"},
		{256, "IVF1024,PQ128x4fs,RFlat,", kume.ErrFactory,
			"factory: bad factory string \"IVF1024,PQ128x4fs,RFlat,\": component 4 is empty (a stray comma?)"},
		{256, "IVF1024,,Flat", kume.ErrFactory,
			"factory: bad factory string \"IVF1024,,Flat\": component 2 is empty (a stray comma?)"},
		{256, "Flta", kume.ErrFactory,
			"factory: bad factory string \"Flta\": unknown component \"Flta\""},
		{256, "IVF1024", kume.ErrFactory,
			"factory: bad factory string \"IVF1024\": IVF1024 needs a code after it, such as IVF1024,Flat"},
		{256, "IVF1024,Flat ", kume.ErrFactory,
			"factory: bad factory string \"IVF1024,Flat \": component 2 \"Flat \" has surrounding spaces"},
		{256, "IVF64,Blah", kume.ErrFactory,
			"factory: bad factory string \"IVF64,Blah\": unknown component \"Blah\""},
		{256, "Foo,Flat", kume.ErrFactory,
			"factory: bad factory string \"Foo,Flat\": component 1 \"Foo\": want IVF{n} before \"Flat\""},
		{256, "PQ32x4fs,Refine(Flat", kume.ErrFactory,
			"factory: bad factory string \"PQ32x4fs,Refine(Flat\": unbalanced parentheses: 1 '(' not closed"},
		{256, "PQ32x4fs)", kume.ErrFactory,
			"factory: bad factory string \"PQ32x4fs)\": unbalanced parentheses: ')' at offset 8 has no '('"},
		{256, "RFlat", kume.ErrFactory,
			"factory: bad factory string \"RFlat\": RFlat refines an index and needs one before it, such as PQ32x4fs,RFlat"},
		{256, "PQ32x4fsr", kume.ErrFactory,
			"factory: bad factory string \"PQ32x4fsr\": the residual form PQ32x4fsr only exists inside an IVF index"},
		{256, "IVF99999999999999999999,Flat", kume.ErrFactory,
			"factory: bad factory string \"IVF99999999999999999999,Flat\": IVF99999999999999999999: the number of lists 99999999999999999999 is too large (at most 16777216)"},
		{256, "IVF20M,Flat", kume.ErrFactory,
			"factory: bad factory string \"IVF20M,Flat\": IVF20M: 20971520 lists is too many (at most 16777216)"},
		{1 << 19, "IVF65536,Flat", kume.ErrFactory,
			"factory: bad factory string \"IVF65536,Flat\": IVF65536: 65536 lists of 524288 floats is too large (at most 16777216 lists and 2^32 floats of centroids)"},
		{256, "L2norm,L2norm,Flat", kume.ErrFactory,
			"factory: bad factory string \"L2norm,L2norm,Flat\": L2norm given twice"},
		{256, "IVF16,Flat,Flat,Flat", kume.ErrFactory,
			"factory: bad factory string \"IVF16,Flat,Flat,Flat\": 4 components where at most [L2norm,]IVF{n},code[,RFlat] is understood"},
		{0, "Flat", kume.ErrInvalidArgument,
			"factory: invalid argument: dimension 0 is outside 1..1048576"},
		{256, "IVF1024_NSG32,Flat", kume.ErrUnsupported,
			"factory: not supported in \"IVF1024_NSG32,Flat\": coarse quantizer \"IVF1024_NSG32\" (kume has the flat one, IVF{n}, and HNSW, IVF{n}_HNSW{M})"},
		{256, "IVF1024_HNSW1,Flat", kume.ErrFactory,
			"factory: bad factory string \"IVF1024_HNSW1,Flat\": IVF1024_HNSW1: HNSW's M must be 2..4096"},
		{256, "HNSW32", kume.ErrUnsupported,
			"factory: not supported in \"HNSW32\": HNSW32: stand-alone HNSW graph index (use IVF{n}_HNSW{M}, or package hnsw) is not supported"},
		{256, "HNSW32,Flat", kume.ErrUnsupported,
			"factory: not supported in \"HNSW32,Flat\": HNSW32: stand-alone HNSW graph index (use IVF{n}_HNSW{M}, or package hnsw) is not supported"},
		{256, "OPQ16_64,IVF1024,PQ16x4fs", kume.ErrUnsupported,
			"factory: not supported in \"OPQ16_64,IVF1024,PQ16x4fs\": OPQ16_64: OPQ rotation is not supported"},
		{256, "PCA64,Flat", kume.ErrUnsupported,
			"factory: not supported in \"PCA64,Flat\": PCA64: PCA transform is not supported"},
		{256, "IVF1024,SQ8", kume.ErrUnsupported,
			"factory: not supported in \"IVF1024,SQ8\": SQ8: scalar quantizer is not supported"},
		{256, "SQfp16", kume.ErrUnsupported,
			"factory: not supported in \"SQfp16\": SQfp16: scalar quantizer is not supported"},
		{256, "IVF1024,PQ32", kume.ErrUnsupported,
			"factory: not supported in \"IVF1024,PQ32\": PQ32: PQ with 8-bit (or non-fast-scan) codes; use PQ{M}x4fs"},
		{256, "PQ32x8", kume.ErrUnsupported,
			"factory: not supported in \"PQ32x8\": PQ32x8: PQ with 8-bit (or non-fast-scan) codes; use PQ{M}x4fs"},
		{256, "PQ32x8fs", kume.ErrUnsupported,
			"factory: not supported in \"PQ32x8fs\": PQ32x8fs: fast scan with 8-bit codes (fast scan codes have 4 bits)"},
		{256, "PQ32x4fs_48", kume.ErrFactory,
			"factory: bad factory string \"PQ32x4fs_48\": PQ32x4fs_48: the fast-scan block size 48 must be a positive multiple of 32"},
		{256, "IDMap,Flat", kume.ErrUnsupported,
			"factory: not supported in \"IDMap,Flat\": IDMap: IDMap (kume indexes take ids directly: use AddWithIDs) is not supported"},
		{256, "PQ32x4fs,Refine(SQfp16)", kume.ErrUnsupported,
			"factory: not supported in \"PQ32x4fs,Refine(SQfp16)\": Refine(SQfp16): refinement with anything but Flat"},
		{256, "IVF256,RaBitQ", kume.ErrUnsupported,
			"factory: not supported in \"IVF256,RaBitQ\": RaBitQ: RaBitQ quantizer is not supported"},
	}
	for _, c := range cases {
		_, err := Parse(c.d, c.s)
		if !errors.Is(err, c.want) {
			t.Errorf("Parse(%d, %q) error = %v, want %v", c.d, c.s, err, c.want)
			continue
		}
		if err.Error() != c.msg {
			t.Errorf("Parse(%d, %q) error\n got %q\nwant %q", c.d, c.s, err, c.msg)
		}
	}
}
