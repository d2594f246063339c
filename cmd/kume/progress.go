package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progressBar draws a line for the long step under way on a terminal,
//
//	training IVF1024,Flat  [##########..........]  50%  3.1s
//
// and erases it when the step is done. It is quiet when its writer is not a
// terminal. Reports may come from several goroutines.
type progressBar struct {
	mu    sync.Mutex
	w     io.Writer
	on    bool
	stage string
	start time.Time
	last  time.Time
	width int
}

// newProgress returns a bar drawing on w when w is a terminal.
func newProgress(w io.Writer) *progressBar {
	on := false
	if f, ok := w.(*os.File); ok {
		on = term.IsTerminal(int(f.Fd()))
	}
	return &progressBar{w: w, on: on, width: 24}
}

// report shows that stage has done done of total units.
func (p *progressBar) report(stage string, done, total int64) {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if stage != p.stage {
		if p.stage != "" {
			fmt.Fprintln(p.w)
		}
		p.stage, p.start = stage, now
	} else if done < total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	frac := 0.0
	if total > 0 {
		frac = min(1, float64(done)/float64(total))
	}
	fill := int(frac * float64(p.width))
	bar := strings.Repeat("#", fill) + strings.Repeat(".", p.width-fill)
	fmt.Fprintf(p.w, "\r\033[K%-32s [%s] %3.0f%%  %.1fs", stage, bar, 100*frac, now.Sub(p.start).Seconds())
	if done >= total {
		// A finished step leaves no line behind: results are what stays.
		fmt.Fprint(p.w, "\r\033[K")
		p.stage = ""
	}
}

// done ends a line left open by an unfinished stage.
func (p *progressBar) done() {
	if p == nil || !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stage != "" {
		fmt.Fprint(p.w, "\r\033[K")
		p.stage = ""
	}
}
