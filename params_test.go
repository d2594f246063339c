package kume

import (
	"errors"
	"testing"
)

func TestParseSearchParams(t *testing.T) {
	good := map[string]SearchParams{
		"":                                    {},
		"nprobe=16":                           {NProbe: 16},
		"nprobe=16,k_factor_rf=4":             {NProbe: 16, KFactor: 4},
		"nprobe=2 k_factor=1.5":               {NProbe: 2, KFactor: 1.5},
		" nprobe=3 ,\tk_factor_rf=2 ":         {NProbe: 3, KFactor: 2},
		"  ":                                  {},
		"k_factor_rf=4.7":                     {KFactor: 4},
		"efSearch=64,quantizer_efSearch=32.9": {EfSearch: 64, QuantizerEfSearch: 32},
	}
	for s, want := range good {
		got, err := ParseSearchParams(s)
		if err != nil || got != want {
			t.Errorf("ParseSearchParams(%q) = %+v, %v; want %+v", s, got, err, want)
		}
	}
	for _, s := range []string{"nprobe", "nprobe=0", "nprobe=-3", "nprobe=abc", "efSearch=0", "quantizer_efSearch=-1", "efsearch=16", "k_factor_rf=0.5", "nprobe=NaN", "=4",
		"nprobe=4,,", "nprobe=4,", ",nprobe=4", "nprobe=4, ,k_factor_rf=2", ","} {
		if _, err := ParseSearchParams(s); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("ParseSearchParams(%q) error = %v, want ErrInvalidArgument", s, err)
		}
	}
}

func TestResultsResize(t *testing.T) {
	var r Results
	r.Resize(3, 4)
	if len(r.IDs) != 12 || len(r.Distances) != 12 || r.NQ != 3 || r.K != 4 {
		t.Fatalf("Resize(3,4) gave %+v", r)
	}
	ids := &r.IDs[0]
	r.Resize(2, 2)
	if &r.IDs[0] != ids {
		t.Error("Resize to a smaller size must reuse the buffer")
	}
	r.IDs[3] = 7
	if _, row := r.Row(1); row[1] != 7 {
		t.Error("Row(1) must view the second query's results")
	}
}
