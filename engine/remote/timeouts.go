package remote

import (
	"io"
	"math"
	"net/http"
	"time"
)

// A request's body and its answer have no deadline as a whole, which would
// cut off uploads and downloads of large WIMs and the event stream: instead
// each read of the body and each write of the answer must make progress
// within Options.BodyIdleTimeout and Options.WriteIdleTimeout, through
// deadlines set on the connection (http.ResponseController) before each one.

// timedBody is the request body handlers read.
type timedBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	ended   bool // a read failed or reached the end: the deadline is left as it is
	eof     bool // the body was read to its end
}

func (b *timedBody) Read(p []byte) (int, error) {
	if b.ended {
		return b.ReadCloser.Read(p)
	}
	b.rc.SetReadDeadline(time.Now().Add(b.timeout))
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.ended = true
		if err == io.EOF {
			// The server now reads in the background to notice a
			// client that goes away while the handler works: that read
			// must not time out.
			b.eof = true
			b.rc.SetReadDeadline(time.Time{})
		}
		// Else (a read timed out, the client went away, a broken
		// chunk) the deadline stays, so that the server, which reads
		// what is left of the body after the handler, gives up too.
	}
	return n, err
}

// bodyRead reports whether r's body was read to its end by a handler.
func bodyRead(r *http.Request) bool {
	b, ok := r.Body.(*timedBody)
	return ok && b.eof
}

// downloadChunk is what one write deadline covers when an answer is copied
// from a file: a client must take this much within WriteIdleTimeout.
const downloadChunk = 256 << 10

// timedWriter is the ResponseWriter handlers write to.
type timedWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

func (w *timedWriter) extend() { w.rc.SetWriteDeadline(time.Now().Add(w.timeout)) }

func (w *timedWriter) Write(p []byte) (int, error) {
	w.extend()
	return w.ResponseWriter.Write(p)
}

// FlushError is what http.ResponseController.Flush calls.
func (w *timedWriter) FlushError() error {
	w.extend()
	return w.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (w *timedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ReadFrom serves io.Copy (http.ServeContent) in chunks of downloadChunk,
// each under a new deadline, keeping the underlying writer's ReadFrom
// (sendfile on plain connections).
func (w *timedWriter) ReadFrom(src io.Reader) (int64, error) {
	rf, ok := w.ResponseWriter.(io.ReaderFrom)
	if !ok {
		return io.Copy(struct{ io.Writer }{w}, src)
	}
	lr, ok := src.(*io.LimitedReader)
	if !ok {
		lr = &io.LimitedReader{R: src, N: math.MaxInt64}
	}
	var n int64
	for lr.N > 0 {
		w.extend()
		chunk := &io.LimitedReader{R: lr.R, N: min(lr.N, downloadChunk)}
		m, err := rf.ReadFrom(chunk)
		n += m
		lr.N -= m
		if err != nil || chunk.N > 0 {
			return n, err // an error, or src ended
		}
	}
	return n, nil
}
