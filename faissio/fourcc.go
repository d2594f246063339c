package faissio

import "strings"

// fourcc is a record tag: four ASCII bytes, the first in the low byte, as
// FAISS stores them.
type fourcc uint32

func tag(s string) fourcc {
	return fourcc(uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24)
}

// String returns the four characters, with unprintable bytes escaped.
func (h fourcc) String() string {
	var b strings.Builder
	for i := 0; i < 4; i++ {
		c := byte(h >> (8 * i))
		if c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
		} else {
			b.WriteString("\\x")
			b.WriteByte("0123456789abcdef"[c>>4])
			b.WriteByte("0123456789abcdef"[c&15])
		}
	}
	return b.String()
}

// Record tags kume reads or writes.
var (
	tagFlatL2      = tag("IxF2")
	tagFlatIP      = tag("IxFI")
	tagFlat        = tag("IxFl")
	tagIVFFlat     = tag("IwFl")
	tagIVFPQ       = tag("IwPQ")
	tagIVFPQR      = tag("IwQR")
	tagIVFPQOld    = tag("IvPQ")
	tagPQFastScan  = tag("IPfs")
	tagIVFPQFS     = tag("IwPf")
	tagRefine      = tag("IxRF")
	tagPreTrans    = tag("IxPT")
	tagIDMap       = tag("IxMp")
	tagIDMap2      = tag("IxM2")
	tagNull        = tag("null")
	tagNormalize   = tag("VNrm")
	tagInvNone     = tag("il00")
	tagInvArray    = tag("ilar")
	tagInvBlock    = tag("ilbl")
	tagListFull    = tag("full")
	tagListSparse  = tag("sprs")
	tagPQ          = tag("IxPq")
	tagHNSWFlat    = tag("IHNf")
	tagScalarQuant = tag("IxSQ")
)

// recordNames names the FAISS classes behind tags kume does not read, for
// error messages.
var recordNames = map[fourcc]string{
	tagPQ:          "IndexPQ",
	tagHNSWFlat:    "IndexHNSWFlat",
	tagScalarQuant: "IndexScalarQuantizer",
	tag("IwSq"):    "IndexIVFScalarQuantizer",
	tag("IwFd"):    "IndexIVFFlatDedup",
	tag("IHNp"):    "IndexHNSWPQ",
	tag("IHNs"):    "IndexHNSWSQ",
	tag("IxHe"):    "IndexLSH",
	tag("IxLa"):    "IndexLattice",
	tag("Imiq"):    "MultiIndexQuantizer",
	tag("IwRQ"):    "IndexIVFResidualQuantizer",
	tag("IwLS"):    "IndexIVFLocalSearchQuantizer",
	tag("IxRQ"):    "IndexResidualQuantizer",
	tag("IwSh"):    "IndexIVFSpectralHash",
	tag("INSf"):    "IndexNSGFlat",
	tag("IxRP"):    "IndexRefinePanorama",
	tag("IwP2"):    "IndexIVFFlatPanorama",
	tag("IxFP"):    "IndexFlatPanorama",
	tag("IRMf"):    "IndexRowwiseMinMax",
	tag("Ix2L"):    "Index2Layer",
	tag("IwIQ"):    "IndexIVFIndependentQuantizer",
	tagIVFPQR:      "IndexIVFPQR",
	tagPQFastScan:  "IndexPQFastScan",
	tagIVFPQFS:     "IndexIVFPQFastScan",
	tag("LTra"):    "LinearTransform (OPQ is stored as one)",
	tag("Pcam"):    "PCAMatrix",
	tag("PcAm"):    "PCAMatrix",
	tag("PCAm"):    "PCAMatrix",
	tag("rrot"):    "RandomRotationMatrix",
	tag("VCnt"):    "CenteringTransform",
	tag("RmDT"):    "RemapDimensionsTransform",
	tag("HRot"):    "HadamardRotation",
	tag("Viqm"):    "ITQMatrix",
	tag("Viqt"):    "ITQTransform",
}

// describe returns "'IHNf' (IndexHNSWFlat)" or "'xyzw'".
func describe(h fourcc) string {
	if n, ok := recordNames[h]; ok {
		return "'" + h.String() + "' (" + n + ")"
	}
	return "'" + h.String() + "'"
}

// plausible reports whether h looks like a FAISS record tag (four letters or
// digits), as opposed to bytes that are no record at all.
func (h fourcc) plausible() bool {
	for i := 0; i < 4; i++ {
		c := byte(h >> (8 * i))
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
