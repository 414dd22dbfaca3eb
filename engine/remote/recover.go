package remote

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
)

// recoverPanics wraps h so that a panic in a handler (a bug, usually on
// bad input such as an uploaded WIM) becomes an answer instead of a crash
// of the request's connection, or of the test or program that calls
// ServeHTTP directly:
//   - nothing written yet: 500 with a JSON ErrorBody, code "internal";
//   - a JSON-lines stream under way: its last line is that error, status 500;
//   - other data under way (a download): the response is aborted with
//     http.ErrAbortHandler, which net/http turns into a broken connection
//     without logging, so the client cannot take a truncated file for a
//     whole one.
//
// logf, when set, receives the panic and its stack.
func recoverPanics(h http.Handler, logf func(format string, args ...any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &trackingWriter{ResponseWriter: w}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // a handler's own abort
			}
			if logf != nil {
				logf("%s %s: internal error: %v\n%s", r.Method, r.URL.Path, v, debug.Stack())
			}
			body := ErrorBody{Error: fmt.Sprintf("internal error: %v", v), Code: CodeInternal}
			switch {
			case !rw.wrote:
				writeJSON(w, http.StatusInternalServerError, body)
			case strings.HasPrefix(w.Header().Get("Content-Type"), ndjson):
				json.NewEncoder(w).Encode(streamLine{Error: &body, Status: http.StatusInternalServerError})
				http.NewResponseController(w).Flush()
			default:
				panic(http.ErrAbortHandler)
			}
		}()
		h.ServeHTTP(rw, r)
	})
}

// trackingWriter records whether anything of the response was written.
// It keeps the writer's flushing (Unwrap, for http.ResponseController, and
// Flush) and its ReadFrom (sendfile for downloads).
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *trackingWriter) WriteHeader(status int) {
	if status >= 200 {
		w.wrote = true // 1xx informational headers are not the answer
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *trackingWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *trackingWriter) ReadFrom(r io.Reader) (int64, error) {
	w.wrote = true
	return io.Copy(w.ResponseWriter, r)
}

func (w *trackingWriter) Flush() {
	w.wrote = true
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *trackingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
