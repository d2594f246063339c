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

// progressEvery is how often the progress of a long step is logged when
// stderr is not a terminal.
const progressEvery = 5 * time.Second

// progressBar shows the long step under way. On a terminal it draws a line
//
//	training IVF1024,Flat  [##########..........]  50%  3.1s
//
// and erases it when the step is done. Elsewhere (a log file, a pipe, CI) it
// writes a plain line every few seconds while a step runs,
//
//	kume: training IVF1024,Flat: 50% (5/10) after 10.2s
//
// and one when a step that was logged ends, so a long command never sits
// silent. Reports may come from several goroutines.
type progressBar struct {
	mu           sync.Mutex
	w            io.Writer
	on           bool // w is a terminal: draw a bar; else log lines
	every        time.Duration
	stage        string
	count, total int64
	start        time.Time
	last         time.Time // last redraw (terminal) or logged line
	logged       bool      // a line about the current stage was written
	width        int
	tick         chan struct{} // closed to stop the heartbeat
}

// newProgress returns a progress display on w: a bar when w is a terminal,
// log lines otherwise.
func newProgress(w io.Writer) *progressBar {
	on := false
	if f, ok := w.(*os.File); ok {
		on = term.IsTerminal(int(f.Fd()))
	}
	return &progressBar{w: w, on: on, width: 24, every: progressEvery}
}

// report shows that stage has done done of total units.
func (p *progressBar) report(stage string, done, total int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if stage != p.stage {
		p.endStage(now)
		p.stage, p.start, p.logged = stage, now, false
		if !p.on {
			p.last = now
			p.startHeartbeat()
		}
	}
	p.count, p.total = done, total
	if !p.on {
		if done >= total && total > 0 {
			p.endStage(now)
		} else if now.Sub(p.last) >= p.every {
			p.logLine(now)
		}
		return
	}
	if done < total && now.Sub(p.last) < 100*time.Millisecond {
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

// logLine writes the state of the current stage as one line. p.mu is held.
func (p *progressBar) logLine(now time.Time) {
	pct := ""
	if p.total > 0 {
		pct = fmt.Sprintf(" %.0f%% (%d/%d)", 100*min(1, float64(p.count)/float64(p.total)), p.count, p.total)
	}
	fmt.Fprintf(p.w, "kume: %s:%s after %.1fs\n", p.stage, pct, now.Sub(p.start).Seconds())
	p.last, p.logged = now, true
}

// endStage closes the current stage: on a terminal it erases the bar; in a
// log it says how long a stage took that was long enough to be logged.
// p.mu is held.
func (p *progressBar) endStage(now time.Time) {
	if p.stage == "" {
		return
	}
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	} else if p.logged {
		fmt.Fprintf(p.w, "kume: %s: done in %.1fs\n", p.stage, now.Sub(p.start).Seconds())
	}
	p.stage, p.logged = "", false
}

// startHeartbeat starts, once, the goroutine that logs the current stage
// when no report has come for a while (one k-means iteration on a large
// set can take longer than progressEvery). p.mu is held.
func (p *progressBar) startHeartbeat() {
	if p.tick != nil {
		return
	}
	p.tick = make(chan struct{})
	stop, every := p.tick, p.every
	go func() {
		t := time.NewTicker(every / 4)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				p.mu.Lock()
				if p.tick == stop && p.stage != "" && now.Sub(p.last) >= p.every {
					p.logLine(now)
				}
				p.mu.Unlock()
			}
		}
	}()
}

// done ends a line or stage left open by an unfinished step.
func (p *progressBar) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endStage(time.Now())
}

// stop ends the display: the open stage is closed and the heartbeat stops.
func (p *progressBar) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endStage(time.Now())
	if p.tick != nil {
		close(p.tick)
		p.tick = nil
	}
}
