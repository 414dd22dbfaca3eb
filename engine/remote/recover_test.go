package remote

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/wimconsole/wimconsole/engine/store"
)

// TestRecoverPanics runs deliberately panicking handlers under
// recoverPanics, on a real connection: before anything is written the
// answer is a 500 JSON error; in a JSON-lines stream the last line is the
// error; in a download the connection breaks so that the client sees an
// error, not a short file. Every panic is logged with its stack.
func TestRecoverPanics(t *testing.T) {
	var mu sync.Mutex
	var logged []string
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logged = append(logged, fmt.Sprintf(format, args...))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /early", func(w http.ResponseWriter, r *http.Request) {
		var b []byte
		_ = b[5]
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ndjson)
		w.WriteHeader(http.StatusOK)
		json.NewEncoder(w).Encode(streamLine{Result: "first"})
		http.NewResponseController(w).Flush()
		panic("in the stream")
	})
	mux.HandleFunc("GET /download", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		io.Copy(w, bytes.NewReader(make([]byte, 100<<10)))
		http.NewResponseController(w).Flush()
		panic("in the download")
	})
	srv := httptest.NewServer(recoverPanics(mux, logf))
	defer srv.Close()
	get := func(path string) (*http.Response, []byte, error) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}

	resp, body, err := get("/early")
	var eb ErrorBody
	if err != nil || resp.StatusCode != 500 || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &eb) != nil ||
		eb.Code != CodeInternal || eb.Error != "internal error: runtime error: index out of range [5] with length 0" {
		t.Fatalf("early panic: %v, %d %q %s", err, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	resp, body, err = get("/stream")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v, %d", err, resp.StatusCode)
	}
	var lines []streamLine
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		var l streamLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("stream line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if len(lines) != 2 || lines[1].Error == nil || lines[1].Status != 500 || lines[1].Error.Code != CodeInternal || lines[1].Error.Error != "internal error: in the stream" {
		t.Fatalf("stream: %s", body)
	}

	_, body, err = get("/download")
	if err == nil {
		t.Fatalf("download: %d bytes and no error after the handler panicked", len(body))
	}

	mu.Lock()
	defer mu.Unlock()
	if len(logged) != 3 {
		t.Fatalf("logged %d panics: %q", len(logged), logged)
	}
	for _, l := range logged {
		if !strings.Contains(l, "internal error") || !strings.Contains(l, "recover_test.go") {
			t.Errorf("log line without the panic's stack: %q", l)
		}
	}
}

// TestServerRecoversHandlerPanic adds a panicking route to a Server: the
// request is answered 500 with the JSON error body, through ServeHTTP.
func TestServerRecoversHandlerPanic(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "RemoteInstall"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(st, Options{NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	secret, _, err := srv.Tokens().Create(RoleAdmin, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	srv.handle("GET "+APIPrefix+"panic", RoleReader, func(http.ResponseWriter, *http.Request, Token) error {
		panic("deliberate")
	})
	req := httptest.NewRequest("GET", APIPrefix+"panic", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	var eb ErrorBody
	if rec.Code != 500 || json.Unmarshal(rec.Body.Bytes(), &eb) != nil || eb.Code != CodeInternal || eb.Error != "internal error: deliberate" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// TestUploadShortEntryWIM uploads the 670-byte WIM whose one directory
// entry is shorter than the fixed part (it crashed the upload handler):
// the answer is an error naming the offset, as JSON and as a JSON-lines
// stream, and the store is unchanged.
func TestUploadShortEntryWIM(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "wim", "testdata", "hostile", "short-entry.wim"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "RemoteInstall"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(st, Options{NoWatch: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	secret, _, err := srv.Tokens().Create(RoleAdmin, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	before := storeFiles(t, st.Root())
	for _, accept := range []string{"application/json", ndjson} {
		t.Run(accept, func(t *testing.T) {
			req := httptest.NewRequest("POST", APIPrefix+"images?group=G&filename=short", bytes.NewReader(data))
			req.Header.Set("Authorization", "Bearer "+secret)
			req.Header.Set("Accept", accept)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			var eb *ErrorBody
			if accept == ndjson {
				lines := bytes.Split(bytes.TrimSpace(rec.Body.Bytes()), []byte("\n"))
				var last streamLine
				if err := json.Unmarshal(lines[len(lines)-1], &last); err != nil || last.Status < 400 {
					t.Fatalf("%d %s", rec.Code, rec.Body)
				}
				eb = last.Error
			} else {
				eb = new(ErrorBody)
				if rec.Code < 400 || json.Unmarshal(rec.Body.Bytes(), eb) != nil {
					t.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
			if eb == nil || eb.Code == CodeInternal || !strings.Contains(eb.Error, "offset 0x8: ") || !strings.Contains(eb.Error, "less than the 102-byte minimum") {
				t.Fatalf("error %+v; want the entry's offset and what is wrong", eb)
			}
		})
	}
	if after := storeFiles(t, st.Root()); !maps.Equal(before, after) {
		t.Fatalf("store changed: %v -> %v", before, after)
	}
}
