package fastscan

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestPackHandExample packs a block whose bytes are written out here from
// FAISS's layout rules: M = 2, vector v has code (v mod 16) for
// sub-quantizer 0 and (15 - v mod 16) for sub-quantizer 1. Byte 2i of the
// first 16 holds vectors i (low nibble) and i+16 (high); byte 2i+1 holds
// vectors i+8 and i+24. The next 16 bytes do the same for sub-quantizer 1.
func TestPackHandExample(t *testing.T) {
	codes := make([]byte, 32)
	for v := 0; v < 32; v++ {
		codes[v] = byte(v%16) | byte(15-v%16)<<4
	}
	want := []byte{
		// sub-quantizer 0: (v0,v16) (v8,v24) (v1,v17) (v9,v25) ...
		0x00, 0x88, 0x11, 0x99, 0x22, 0xaa, 0x33, 0xbb,
		0x44, 0xcc, 0x55, 0xdd, 0x66, 0xee, 0x77, 0xff,
		// sub-quantizer 1: 15 - the above
		0xff, 0x77, 0xee, 0x66, 0xdd, 0x55, 0xcc, 0x44,
		0xbb, 0x33, 0xaa, 0x22, 0x99, 0x11, 0x88, 0x00,
	}
	packed := make([]byte, BlockBytes(2))
	Pack(packed, codes, 32, 2, 0)
	if !bytes.Equal(packed, want) {
		t.Fatalf("packed\n% x\nwant\n% x", packed, want)
	}
	// M = 1 pads to M2 = 2 with a zero sub-quantizer.
	packed1 := make([]byte, BlockBytes(1))
	one := make([]byte, 32)
	for v := range one {
		one[v] = byte(v % 16)
	}
	Pack(packed1, one, 32, 1, 0)
	if !bytes.Equal(packed1[:16], want[:16]) || !bytes.Equal(packed1[16:], make([]byte, 16)) {
		t.Fatalf("M=1 packed % x", packed1)
	}
}

func TestPackRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for m := 1; m <= 65; m++ {
		for n := 0; n <= 100; n++ {
			cs := (m + 1) / 2
			codes := make([]byte, n*cs)
			for i := range codes {
				codes[i] = byte(rng.IntN(256))
			}
			if m%2 == 1 { // the unused high nibble of the last byte is zero
				for i := 0; i < n; i++ {
					codes[i*cs+cs-1] &= 15
				}
			}
			// Pack in two steps, the second appending to a partial block.
			packed := make([]byte, Blocks(n)*BlockBytes(m))
			h := n / 3
			Pack(packed, codes[:h*cs], h, m, 0)
			Pack(packed, codes[h*cs:], n-h, m, h)
			got := make([]byte, n*cs)
			Unpack(got, packed, n, m, 0)
			if !bytes.Equal(got, codes) {
				t.Fatalf("m=%d n=%d: round trip differs", m, n)
			}
		}
	}
}
