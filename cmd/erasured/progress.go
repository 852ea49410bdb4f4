package main

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress is export's progress bar on a terminal: records written of the total, and the
// rate. A nil *progress draws nothing, for output that is not a terminal.
//
// Its clock starts with the export, before the first page is asked for. The bar's own
// clock starts when it first draws, and a bar made once the first page had arrived
// divided that page's records by the microseconds since: its first rate read millions a
// second.
type progress struct {
	w    io.Writer
	bar  *progressbar.ProgressBar
	done int64
}

// startProgress starts the clock of a bar on w, or returns nil when w is not a terminal.
func startProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	// The total is not known yet; until the first page says it, the bar draws nothing.
	bar := progressbar.NewOptions64(1, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("exporting"),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionThrottle(200*time.Millisecond))
	bar.StartWithoutRender()
	return &progress{w: w, bar: bar}
}

// page counts n more records written, of total (or about total, when estimated).
func (p *progress) page(n, total int, estimated bool) {
	if p == nil {
		return
	}
	if p.done == 0 && estimated {
		p.bar.Describe("exporting (about)")
	}
	p.done += int64(n)
	if size := max(int64(total), p.done); size != p.bar.GetMax64() {
		// The first page, or the total was an estimate, or records were added.
		p.bar.ChangeMax64(size)
	}
	_ = p.bar.Set64(p.done) // drawing on a terminal; nothing to do if it fails
}

// finish draws the bar at its end and moves to the next line.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.bar.ChangeMax64(p.done)
	_ = p.bar.Finish()
	_, _ = io.WriteString(p.w, "\n")
}
