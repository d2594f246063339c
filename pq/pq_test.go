package pq

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"testing"

	"github.com/kume-ann/kume"
	"github.com/kume-ann/kume/internal/testvec"
	"github.com/kume-ann/kume/kmeans"
)

var ctx = context.Background()

func quiet() kmeans.Config {
	return kmeans.Config{Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))}
}

func randVecs(seed uint64, n, d int) []float32 { return testvec.Normal(seed, n, d) }

func TestCodeLayout(t *testing.T) {
	// M = 3: sub-quantizers 0 and 1 share byte 0 (low, high nibble),
	// sub-quantizer 2 is the low nibble of byte 1.
	q, _ := New(3, 3)
	c := make([]float32, 3*KSub)
	for m := 0; m < 3; m++ {
		for k := 0; k < KSub; k++ {
			c[m*KSub+k] = float32(k)
		}
	}
	q, err := FromCentroids(3, 3, c)
	if err != nil {
		t.Fatal(err)
	}
	code := make([]byte, 2)
	q.Encode(code, []float32{5, 12, 9.2})
	if code[0] != 5|12<<4 || code[1] != 9 {
		t.Fatalf("code = %#x %#x, want 0xc5 0x09", code[0], code[1])
	}
	rec := make([]float32, 3)
	q.Decode(rec, code)
	if rec[0] != 5 || rec[1] != 12 || rec[2] != 9 {
		t.Fatalf("decoded %v", rec)
	}
}

func TestTrainEncodeDecode(t *testing.T) {
	const n, d, m = 3000, 32, 8
	x := randVecs(1, n, d)
	q, err := New(d, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Train(ctx, x, quiet()); err != nil {
		t.Fatal(err)
	}
	// 16 centroids per 4-d Gaussian sub-space remove a good part of the
	// variance (total variance is d = 32 per vector).
	mse := q.MeanSquaredError(x)
	if mse > 0.6*d || mse <= 0 {
		t.Errorf("reconstruction error %v of total variance %d", mse, d)
	}
	// Asymmetric distances from a table equal the distances to the
	// reconstructions; symmetric ones those between reconstructions.
	codes := make([]byte, 2*q.CodeSize())
	q.Encode(codes, x[:2*d])
	table := make([]float32, m*KSub)
	query := randVecs(2, 1, d)
	q.L2Tables(table, query)
	rec := make([]float32, 2*d)
	q.Decode(rec, codes)
	for i := 0; i < 2; i++ {
		var want float64
		for j := 0; j < d; j++ {
			diff := float64(query[j] - rec[i*d+j])
			want += diff * diff
		}
		got := q.TableDistance(table, codes[i*q.CodeSize():(i+1)*q.CodeSize()])
		if math.Abs(float64(got)-want) > 1e-4*want {
			t.Errorf("ADC %v, distance to reconstruction %v", got, want)
		}
	}
	var sym float64
	for j := 0; j < d; j++ {
		diff := float64(rec[j] - rec[d+j])
		sym += diff * diff
	}
	if got := q.SymmetricL2(codes[:q.CodeSize()], codes[q.CodeSize():]); math.Abs(float64(got)-sym) > 1e-4*(sym+1) {
		t.Errorf("SDC %v, want %v", got, sym)
	}
	q.IPTables(table, query)
	var ip float64
	for j := 0; j < d; j++ {
		ip += float64(query[j] * rec[j])
	}
	if got := q.TableDistance(table, codes[:q.CodeSize()]); math.Abs(float64(got)-ip) > 1e-4*(math.Abs(ip)+1) {
		t.Errorf("IP table distance %v, want %v", got, ip)
	}
}

func TestBadInput(t *testing.T) {
	if _, err := New(256, 7); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("M not dividing d: %v", err)
	}
	if _, err := New(0, 1); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("d = 0: %v", err)
	}
	q, _ := New(8, 4)
	if err := q.Train(ctx, randVecs(3, 10, 8), quiet()); !errors.Is(err, kume.ErrInvalidArgument) {
		t.Errorf("10 training vectors: %v", err)
	}
	x := randVecs(4, 100, 8)
	x[5] = float32(math.Inf(1))
	if err := q.Train(ctx, x, quiet()); !errors.Is(err, kume.ErrNonFinite) {
		t.Errorf("Inf: %v", err)
	}
	if _, err := FromCentroids(8, 4, make([]float32, 10)); !errors.Is(err, kume.ErrCorrupt) {
		t.Errorf("short centroids: %v", err)
	}
	var log bytes.Buffer
	cfg := kmeans.Config{Logger: slog.New(slog.NewTextHandler(&log, nil))}
	if err := q.Train(ctx, randVecs(5, 100, 8), cfg); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(log.Bytes(), []byte("fewer than the 39 per centroid")) {
		t.Error("training on 100 vectors must warn, as FAISS does below 624")
	}
}
