package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/factory"
	"github.com/kume-ann/kume/faissio"
	"github.com/kume-ann/kume/ivf"
	"github.com/kume-ann/kume/metric"
	"github.com/kume-ann/kume/npy"
	"github.com/kume-ann/kume/rvc"
)

// RVC's retrieval step: every frame of a chunk of speech (HuBERT features,
// 50 frames a second) searched in one call of IVF{n},Flat with nprobe 1 and
// k 8, n given by RVC's rule (rvc.NList). The cases below are voice models of
// 10,000 and 50,000 stored frames (200,000 with -full or KUME_BENCH=full),
// 256-d (v1) and 768-d (v2), searched in chunks of 500 and 2,000 frames.

// rvcK and rvcNProbe are RVC's retrieval settings.
const (
	rvcK      = 8
	rvcNProbe = 1
)

// rvcChunks are the chunk lengths measured, in frames.
var rvcChunks = []int{500, 2000}

// rvcChunkSet is the number of different chunks of each length a benchmark
// cycles through, so that successive calls probe different lists, as the
// chunks of a song do.
const rvcChunkSet = 4

// rvcShape is a voice model's size: N stored frames of D numbers.
type rvcShape struct{ D, N int }

func (s rvcShape) name() string { return fmt.Sprintf("d=%d/n=%d", s.D, s.N) }

func rvcShapes(full bool) []rvcShape {
	var out []rvcShape
	for _, d := range []int{256, 768} {
		for _, n := range []int{10_000, 50_000, 200_000} {
			if n > 50_000 && !full {
				continue
			}
			out = append(out, rvcShape{d, n})
		}
	}
	return out
}

// rvcCase is a filled index and the chunks searched in it.
type rvcCase struct {
	shape  rvcShape
	nlist  int
	index  kume.Index
	coarse ivf.Quantizer
	// chunks[t] holds rvcChunkSet chunks of t frames each, row-major.
	chunks map[int][][]float32
}

var rvcCache struct {
	sync.Mutex
	cases map[rvcShape]*rvcCase
}

// speechFrames draws frames as speech gives them to RVC's retrieval: runs of
// 4 to 12 consecutive frames stay near one stored frame (a phone lasts a few
// frames), each frame that stored frame plus a little noise that drifts from
// frame to frame (an AR(1) process of per-coordinate spread sigma, so
// consecutive frames are similar). sigma 0.05 is the isotropic noise of
// Synth's vectors, so a frame is about as far from its anchor as stored
// frames are from their nearest neighbours.
func speechFrames(base []float32, d, frames int, seed uint64) []float32 {
	const sigma, keep = 0.05, 0.7
	rng := rand.New(rand.NewPCG(seed, 0x73706565))
	n := len(base) / d
	out := make([]float32, frames*d)
	noise := make([]float64, d)
	for i := range noise {
		noise[i] = sigma * rng.NormFloat64()
	}
	fresh := math.Sqrt(1 - keep*keep)
	anchor, left := 0, 0
	for t := 0; t < frames; t++ {
		if left == 0 {
			anchor, left = rng.IntN(n), 4+rng.IntN(9)
		}
		left--
		row := base[anchor*d : (anchor+1)*d]
		dst := out[t*d : (t+1)*d]
		for i := range dst {
			noise[i] = keep*noise[i] + fresh*sigma*rng.NormFloat64()
			dst[i] = row[i] + float32(noise[i])
		}
	}
	return out
}

// rvcSeed gives each shape its own data.
func (s rvcShape) seed() uint64 { return uint64(s.D)*1_000_003 + uint64(s.N) }

// newRVCCase generates the shape's stored frames (a Synth set) and chunks,
// and builds RVC's index on them as rvc.TrainIndex does: IVF{n},Flat, nprobe
// 1, rows added in batches of 8,192.
func newRVCCase(ctx context.Context, s rvcShape) (*rvcCase, error) {
	base, _, err := Synth{N: s.N, NQ: 1, D: s.D, Seed: s.seed()}.Generate(ctx, nil)
	if err != nil {
		return nil, err
	}
	c := &rvcCase{shape: s, nlist: rvc.NList(s.N), chunks: map[int][][]float32{}}
	idx, err := factory.New(s.D, fmt.Sprintf("IVF%d,Flat", c.nlist), metric.L2)
	if err != nil {
		return nil, err
	}
	if err := idx.Train(ctx, base); err != nil {
		return nil, err
	}
	for i := 0; i < s.N; i += 8192 {
		if err := idx.Add(ctx, base[i*s.D:min(i+8192, s.N)*s.D]); err != nil {
			return nil, err
		}
	}
	if err := c.setIndex(idx); err != nil {
		return nil, err
	}
	for _, t := range rvcChunks {
		for j := 0; j < rvcChunkSet; j++ {
			c.chunks[t] = append(c.chunks[t], speechFrames(base, s.D, t, s.seed()+uint64(t*16+j)))
		}
	}
	return c, nil
}

func (c *rvcCase) setIndex(idx kume.Index) error {
	q, ok := idx.(interface{ Quantizer() ivf.Quantizer })
	if !ok {
		return fmt.Errorf("bench: %T is not an IVF index", idx)
	}
	if err := factory.SetParams(idx, fmt.Sprintf("nprobe=%d", rvcNProbe)); err != nil {
		return err
	}
	c.index, c.coarse = idx, q.Quantizer()
	return nil
}

// rvcBenchShapes are the shapes BenchmarkRVCChunk measures: with
// KUME_RVC_DIR set, every case that folder holds (its rvc.json, whatever
// sizes it was exported with); else rvcShapes'.
func rvcBenchShapes(tb testing.TB) []rvcShape {
	dir := os.Getenv("KUME_RVC_DIR")
	if dir == "" {
		return rvcShapes(isFull())
	}
	raw, err := os.ReadFile(filepath.Join(dir, "rvc.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var meta struct {
		Cases []struct{ D, N int }
	}
	if err := json.Unmarshal(raw, &meta); err != nil {
		tb.Fatalf("%s/rvc.json: %v", dir, err)
	}
	var out []rvcShape
	for _, c := range meta.Cases {
		out = append(out, rvcShape{c.D, c.N})
	}
	if len(out) == 0 {
		tb.Fatalf("%s/rvc.json lists no cases", dir)
	}
	return out
}

// rvcFiles are the names of a case's files in an exported folder.
func rvcFiles(dir string, s rvcShape) (caseDir, indexPath string, chunk func(t, j int) string, ids func(t, j int) string) {
	caseDir = filepath.Join(dir, fmt.Sprintf("rvc_d%d_n%d", s.D, s.N))
	return caseDir, filepath.Join(caseDir, "index.faiss"),
		func(t, j int) string { return filepath.Join(caseDir, fmt.Sprintf("chunk%d_%d.npy", t, j)) },
		func(t, j int) string { return filepath.Join(caseDir, fmt.Sprintf("kume_ids%d_%d.npy", t, j)) }
}

// loadRVCCase reads a case exported by TestRVCExport: the same index file
// and chunks FAISS is timed on.
func loadRVCCase(dir string, s rvcShape) (*rvcCase, error) {
	_, indexPath, chunk, _ := rvcFiles(dir, s)
	idx, err := faissio.ReadFile(indexPath)
	if err != nil {
		return nil, err
	}
	c := &rvcCase{shape: s, nlist: rvc.NList(s.N), chunks: map[int][][]float32{}}
	if err := c.setIndex(idx); err != nil {
		return nil, err
	}
	for _, t := range rvcChunks {
		for j := 0; j < rvcChunkSet; j++ {
			m, err := npy.ReadFile(chunk(t, j), nil)
			if err != nil {
				return nil, err
			}
			c.chunks[t] = append(c.chunks[t], m.Data)
		}
	}
	return c, nil
}

// getRVCCase returns the shape's case, built once per process; with
// KUME_RVC_DIR set, read from that exported folder instead.
func getRVCCase(tb testing.TB, s rvcShape) *rvcCase {
	rvcCache.Lock()
	defer rvcCache.Unlock()
	if c := rvcCache.cases[s]; c != nil {
		return c
	}
	var c *rvcCase
	var err error
	if dir := os.Getenv("KUME_RVC_DIR"); dir != "" {
		c, err = loadRVCCase(dir, s)
	} else {
		c, err = newRVCCase(context.Background(), s)
	}
	if err != nil {
		tb.Fatal(err)
	}
	if rvcCache.cases == nil {
		rvcCache.cases = map[rvcShape]*rvcCase{}
	}
	rvcCache.cases[s] = c
	return c
}

// BenchmarkRVCChunk measures RVC's retrieval of whole chunks, named
// BenchmarkRVCChunk/d=<D>/n=<N>/chunk=<frames>/<part>, where part is
//
//   - search: the whole search (k 8, nprobe 1) of every frame of the chunk
//     in one call, as RVC's pipeline makes it;
//   - coarse: the coarse quantizer's search alone (the nearest centroid of
//     each frame), the first step of the whole search; the rest of the whole
//     search's time is the list scan and the top-k selection (a CPU profile
//     splits those two).
//
// Each is reported in ms/chunk and µs/frame. Run it on one thread (-cpu 1)
// to compare with FAISS's one-thread figures (bench/rvc_faiss_bench.py).
// With KUME_RVC_DIR set to a folder TestRVCExport wrote, the cases are the
// ones that folder holds, their indexes and chunks read from there, so that
// both engines search the same index.
func BenchmarkRVCChunk(b *testing.B) {
	for _, s := range rvcBenchShapes(b) {
		b.Run(s.name(), func(b *testing.B) {
			c := getRVCCase(b, s)
			for _, t := range rvcChunks {
				b.Run(fmt.Sprintf("chunk=%d", t), func(b *testing.B) {
					b.Run("search", func(b *testing.B) {
						p := &kume.SearchParams{NProbe: rvcNProbe}
						benchRVCChunks(b, c, t, func(res *kume.Results, x []float32) error {
							return c.index.SearchInto(context.Background(), res, x, rvcK, p)
						})
					})
					b.Run("coarse", func(b *testing.B) {
						benchRVCChunks(b, c, t, func(res *kume.Results, x []float32) error {
							return c.coarse.SearchInto(context.Background(), res, x, rvcNProbe, nil)
						})
					})
				})
			}
		})
	}
}

// benchRVCChunks times search on the case's chunks of t frames, one chunk
// per call, cycling through them.
func benchRVCChunks(b *testing.B, c *rvcCase, t int, search func(res *kume.Results, x []float32) error) {
	var res kume.Results
	chunks := c.chunks[t]
	if err := search(&res, chunks[0]); err != nil { // warm caches and buffers
		b.Fatal(err)
	}
	calls := 0
	for b.Loop() {
		if err := search(&res, chunks[calls%len(chunks)]); err != nil {
			b.Fatal(err)
		}
		calls++
	}
	perChunk := b.Elapsed().Seconds() / float64(calls)
	b.ReportMetric(perChunk*1e3, "ms/chunk")
	b.ReportMetric(perChunk*1e6/float64(t), "µs/frame")
}

// TestRVCExport writes the RVC cases (with KUME_RVC_EXPORT=DIR) for
// bench/rvc_faiss_bench.py: per case, a folder rvc_d<D>_n<N> with the
// filled index in FAISS's format (index.faiss), the chunks
// (chunk<T>_<j>.npy), kume's answers to them (kume_ids<T>_<j>.npy, k 8,
// nprobe 1) and case.json describing them.
func TestRVCExport(t *testing.T) {
	dir := os.Getenv("KUME_RVC_EXPORT")
	if dir == "" {
		t.Skip("set KUME_RVC_EXPORT=DIR to write the RVC cases for bench/rvc_faiss_bench.py")
	}
	ctx := context.Background()
	var cases []map[string]any
	for _, s := range rvcShapes(isFull()) {
		c, err := newRVCCase(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		caseDir, indexPath, chunk, ids := rvcFiles(dir, s)
		if err := os.MkdirAll(caseDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := faissio.WriteFile(indexPath, c.index); err != nil {
			t.Fatal(err)
		}
		p := &kume.SearchParams{NProbe: rvcNProbe}
		for _, tl := range rvcChunks {
			for j, x := range c.chunks[tl] {
				if err := npy.WriteFile(chunk(tl, j), x, tl, s.D); err != nil {
					t.Fatal(err)
				}
				res, err := c.index.Search(ctx, x, rvcK, p)
				if err != nil {
					t.Fatal(err)
				}
				if err := npy.WriteInt64File(ids(tl, j), res.IDs, tl, rvcK); err != nil {
					t.Fatal(err)
				}
			}
		}
		cases = append(cases, map[string]any{
			"dir": filepath.Base(caseDir), "d": s.D, "n": s.N, "nlist": c.nlist,
			"k": rvcK, "nprobe": rvcNProbe, "chunks": rvcChunks, "chunk_set": rvcChunkSet,
			"name": s.name(),
		})
		t.Logf("%s: IVF%d,Flat written to %s", s.name(), c.nlist, caseDir)
	}
	raw, err := json.MarshalIndent(map[string]any{"cases": cases}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rvc.json"), append(raw, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSpeechFrames checks the chunks' shape: each frame is near the stored
// frame it was drawn from and consecutive frames are close.
func TestSpeechFrames(t *testing.T) {
	base, _, err := Synth{N: 2000, NQ: 1, D: 64, Seed: 5}.Generate(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	const d, frames = 64, 300
	x := speechFrames(base, d, frames, 9)
	if again := speechFrames(base, d, frames, 9); !equalFloats(x, again) {
		t.Fatal("speechFrames is not deterministic")
	}
	near, step := 0.0, 0.0
	for f := 0; f < frames; f++ {
		best := math.Inf(1)
		for i := 0; i < len(base)/d; i++ {
			best = math.Min(best, float64(l2Sq(x[f*d:(f+1)*d], base[i*d:(i+1)*d])))
		}
		near += best
		if f > 0 {
			step += float64(l2Sq(x[f*d:(f+1)*d], x[(f-1)*d:f*d]))
		}
	}
	near /= frames
	step /= frames - 1
	// Noise of spread 0.05 per coordinate puts a frame about d·0.05² from
	// its anchor.
	if want := d * 0.05 * 0.05; near > 1.5*want {
		t.Errorf("mean squared distance to the nearest stored frame %.3g, want about %.3g", near, want)
	}
	if step <= 0 {
		t.Error("consecutive frames are identical")
	}
}

func l2Sq(a, b []float32) float32 {
	var s float32
	for i := range a {
		v := a[i] - b[i]
		s += v * v
	}
	return s
}

func equalFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
