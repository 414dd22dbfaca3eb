//go:build linux

package remote

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/store"
)

// TestWriteIdleTimeout: a download whose client stops reading is ended
// after WriteIdleTimeout, while one read slowly, for longer than that,
// completes; an event stream lives on past it.
func TestWriteIdleTimeout(t *testing.T) {
	// Long enough that a reader starved for a moment on a loaded machine
	// (make stress, CI beside other jobs) still keeps up.
	const idle = time.Second
	ts, addr := startPlain(t, Options{WriteIdleTimeout: idle})
	operator := ts.tokens["operator"]
	// More than the socket buffers of both ends hold.
	src := makeWIM(t, map[string]string{"big.bin": randomString(12 << 20)}, "install")
	refs, err := ts.st.AddImage(bg, src, store.AddOptions{Group: "G"})
	if err != nil {
		t.Fatal(err)
	}
	se, err := ts.client(t, "operator").OpenSession(bg, refs[0], "test")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(ts.st.ResPath("G"))
	if err != nil {
		t.Fatal(err)
	}
	size := fi.Size()
	get := func(target string) net.Conn {
		// A small receive buffer, set before connecting (else the
		// kernel drops what the window it announced let through): the
		// server's writes block soon.
		d := net.Dialer{Timeout: 2 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
			var err error
			rc.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8<<10) })
			return err
		}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, header("GET", target, operator, -1)); err != nil {
			t.Fatal(err)
		}
		return c
	}
	res := "/api/v1/sessions/" + se.ID + "/res"

	t.Run("client stops reading", func(t *testing.T) {
		c := get(res)
		if _, err := io.ReadFull(c, make([]byte, 64<<10)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(4 * idle)
		data, closed, took := readToClose(c, 5*time.Second)
		if !closed {
			t.Errorf("still connected %v after the pause", took)
		}
		if got := int64(len(data)) + 64<<10; got >= size {
			t.Errorf("the whole file came (%d bytes of %d): the stalled download was not ended", got, size)
		}
	})

	t.Run("slow reader", func(t *testing.T) {
		c := get(res)
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		t0 := time.Now()
		var got int64
		buf := make([]byte, 1<<20)
		for {
			n, err := io.ReadFull(resp.Body, buf)
			got += int64(n)
			if err != nil {
				break
			}
			time.Sleep(idle / 4)
		}
		if resp.StatusCode != http.StatusOK || got != size {
			t.Fatalf("slow download: %d, %d bytes of %d", resp.StatusCode, got, size)
		}
		if took := time.Since(t0); took < 2*idle {
			t.Errorf("the download took %v, not longer than the idle timeout of %v", took, idle)
		}
	})

	t.Run("event stream", func(t *testing.T) {
		old := KeepAlive
		KeepAlive = idle / 4
		defer func() { KeepAlive = old }()
		c := get("/api/v1/events")
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("events: %v %v", resp, err)
		}
		t0 := time.Now()
		keepAlives := 0
		for time.Since(t0) < 3*idle {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("event stream ended after %v: %v", time.Since(t0), err)
			}
			if strings.HasPrefix(line, ": keep-alive") {
				keepAlives++
			}
		}
		if keepAlives < 3 {
			t.Errorf("%d keep-alives in %v", keepAlives, 3*idle)
		}
	})
}
