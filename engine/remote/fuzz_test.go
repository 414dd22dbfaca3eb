package remote

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/engine/store"
)

// FuzzAPI sends arbitrary requests, with an admin token, to a server of a
// store holding one image: no request may crash the server, every answer is
// JSON or a WIM, and nothing appears outside the store.
func FuzzAPI(f *testing.F) {
	for _, s := range [][3]string{
		{"GET", "/api/v1/images?group=G", ""},
		{"GET", "/api/v1/image?ref=G/install", ""},
		{"PATCH", "/api/v1/image?ref=G/install", `{"enabled":false}`},
		{"POST", "/api/v1/groups", `{"name":"H"}`},
		{"PATCH", "/api/v1/groups/G", `{"name":"../x"}`},
		{"POST", "/api/v1/images?filename=x&group=G", "MSWIM\x00\x00\x00"},
		{"PUT", "/api/v1/image/content?ref=G/install&force=true", "MSWIM"},
		{"POST", "/api/v1/sessions", `{"image":"G/install"}`},
		{"GET", "/api/v1/image/export?ref=G/install", ""},
		{"POST", "/api/v1/image/copy?ref=G/install", `{"filename":"c"}`},
		{"DELETE", "/api/v1/groups/G?force=1", ""},
		{"GET", "/api/v1/groups/%2e%2e/space", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	root := filepath.Join(f.TempDir(), "RemoteInstall")
	st, err := store.Open(root)
	if err != nil {
		f.Fatal(err)
	}
	src := makeWIM(f, map[string]string{"a.txt": "hello"}, "install")
	if _, err := st.AddImage(bg, src, store.AddOptions{Group: "G"}); err != nil {
		f.Fatal(err)
	}
	srv, err := NewServer(st, Options{NoWatch: true, MaxUpload: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	secret, _, err := srv.Tokens().Create(RoleAdmin, nil, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	parent := filepath.Dir(root)
	f.Fuzz(func(t *testing.T, method, target, body string) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(method, " \t\r\n") || method == "" {
			return
		}
		req, err := http.NewRequest(method, "http://127.0.0.1"+target, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+secret)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		ct := rec.Header().Get("Content-Type")
		if rec.Code >= 400 && rec.Code != 404 && rec.Code != 405 && !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: %d with %q", method, target, rec.Code, ct)
		}
		if m, _ := filepath.Glob(filepath.Join(parent, "*")); len(m) != 1 {
			t.Fatalf("something appeared beside the store: %v", m)
		}
	})
}
