package main

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the heartbeat goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestProgressOffTerminal checks that, written to something that is not a
// terminal, progress comes as plain lines while a long step runs, even when
// the step reports nothing new, and that short steps print nothing.
func TestProgressOffTerminal(t *testing.T) {
	var w syncBuffer
	p := newProgress(&w)
	if p.on {
		t.Fatal("a buffer taken for a terminal")
	}
	p.every = 40 * time.Millisecond

	p.report("reading x", 0, 5)
	p.report("reading x", 5, 5)
	if got := w.String(); got != "" {
		t.Errorf("a short step printed %q", got)
	}

	p.report("training IVF8,Flat", 1, 10)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(w.String(), "training IVF8,Flat: 10% (1/10) after") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	p.report("training IVF8,Flat", 10, 10)
	out := w.String()
	for _, want := range []string{"kume: training IVF8,Flat: 10% (1/10) after ", "kume: training IVF8,Flat: done in "} {
		if !strings.Contains(out, want) {
			t.Errorf("progress log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\r") || strings.Contains(out, "\033") {
		t.Errorf("terminal control characters off a terminal: %q", out)
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if !strings.HasPrefix(line, "kume: ") {
			t.Errorf("line %q is not a log line", line)
		}
	}

	// After stop, nothing more is written.
	p.report("adding", 1, 10)
	p.stop()
	n := len(w.String())
	time.Sleep(3 * p.every)
	if len(w.String()) != n {
		t.Errorf("the heartbeat wrote after stop: %q", w.String()[n:])
	}
}
