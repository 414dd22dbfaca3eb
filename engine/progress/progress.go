// Package progress carries progress reports of long engine operations to
// whoever shows them: the GUI's job bar or the CLI's progress line.
package progress

// Report is one progress update: the phase being worked on and how many bytes
// of it are done out of how many (Total is 0 when unknown).
type Report struct {
	Phase string
	Done  int64
	Total int64
}

// Func receives progress reports. It may be called from several goroutines
// and must return quickly; a nil Func ignores reports.
type Func func(Report)

// Send calls f with r when f is not nil.
func (f Func) Send(r Report) {
	if f != nil {
		f(r)
	}
}
