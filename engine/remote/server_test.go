package remote

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/store"
	"github.com/wimconsole/wimconsole/engine/wim"
	"github.com/wimconsole/wimconsole/internal/fixtures"
)

var bg = context.Background()

// rawRequest makes a request with the given token ("" none) and returns the
// status and the error message of the answer.
func (ts *testServer) rawRequest(t *testing.T, method, path, token string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

func TestAuthentication(t *testing.T) {
	ts := startServer(t, Options{NoWatch: true})
	for _, tc := range []struct {
		name, token string
		want        int
		msg         string
	}{
		{"no token", "", 401, "no token"},
		{"wrong token", "wct_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 401, "not known"},
		{"not a token", "hello", 401, "not known"},
		{"reader", ts.tokens["reader"], 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, p := range []string{"/api/v1/images", "/api/v1/groups", "/api/v1/info", "/api/v1/nothing/here"} {
				code, body := ts.rawRequest(t, "GET", p, tc.token, nil)
				if p == "/api/v1/nothing/here" && tc.want == 200 {
					if code != 404 {
						t.Errorf("GET %s: %d, want 404", p, code)
					}
					continue
				}
				if code != tc.want || !strings.Contains(body, tc.msg) {
					t.Errorf("GET %s: %d %s, want %d with %q", p, code, body, tc.want, tc.msg)
				}
			}
		})
	}
	// A revoked token is refused at once.
	secret, tok, err := ts.srv.Tokens().Create(RoleAdmin, nil, "short-lived")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := NewClient(ts.url, ClientOptions{Token: secret, Fingerprint: ts.fp})
	if _, err := c.Info(bg); err != nil {
		t.Fatal(err)
	}
	if err := OpenTokens(ts.st.Root()).Revoke(tok.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // another process's change: the cache lives a second
	if _, err := c.Info(bg); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("revoked token: %v, want unauthorized", err)
	}
	// Tokens are stored hashed: the secret is nowhere in the file.
	data, err := os.ReadFile(ts.srv.Tokens().Path())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(ts.tokens["admin"])) || bytes.Contains(data, []byte(secret[4:20])) {
		t.Error("token file holds a token in clear")
	}
}

func TestFingerprintPinned(t *testing.T) {
	ts := startServer(t, Options{NoWatch: true})
	fp, err := FetchFingerprint(bg, ts.url)
	if err != nil || fp != ts.fp {
		t.Fatalf("FetchFingerprint = %q, %v; want %q", fp, err, ts.fp)
	}
	wrong := strings.Repeat("AB:", 31) + "AB"
	c, err := NewClient(ts.url, ClientOptions{Token: ts.tokens["admin"], Fingerprint: wrong})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Info(bg); !errors.Is(err, ErrFingerprint) {
		t.Errorf("wrong fingerprint: %v, want ErrFingerprint", err)
	}
	// Without a fingerprint, a self-signed certificate is not trusted.
	c, _ = NewClient(ts.url, ClientOptions{Token: ts.tokens["admin"]})
	if _, err := c.Info(bg); err == nil {
		t.Error("self-signed certificate trusted without a fingerprint")
	}
	// The certificate is kept: the fingerprint stays across restarts.
	cert, err := LoadOrCreateCert(ts.st.Root())
	if err != nil || CertFingerprint(cert) != ts.fp {
		t.Errorf("fingerprint changed on reload: %v", err)
	}
	if _, err := NewClient("http://192.0.2.1:80", ClientOptions{}); err == nil {
		t.Error("plain http accepted on a non-loopback address")
	}
}

func TestInsecureLoopback(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "RemoteInstall"))
	if err != nil {
		t.Fatal(err)
	}
	ts := serveStore(t, st, Options{NoWatch: true}, false)
	if _, err := ts.client(t, "reader").Info(bg); err != nil {
		t.Fatal(err)
	}
}

func TestRoles(t *testing.T) {
	ts := startServer(t, Options{NoWatch: true})
	admin := ts.client(t, "admin")
	src := makeWIM(t, baseTree("a"), "install")
	if err := admin.AddGroup(bg, "G"); err != nil {
		t.Fatal(err)
	}
	refs, err := admin.AddImage(bg, src, store.AddOptions{Group: "G"})
	if err != nil || len(refs) != 1 {
		t.Fatalf("AddImage: %v %v", refs, err)
	}
	ref := refs[0]
	yes := true
	type action struct {
		name string
		min  Role
		do   func(c *Client) error
	}
	actions := []action{
		{"list", RoleReader, func(c *Client) error { _, err := c.ListImages(bg, store.ListOptions{}); return err }},
		{"get", RoleReader, func(c *Client) error { _, err := c.GetImage(bg, ref); return err }},
		{"groups", RoleReader, func(c *Client) error { _, err := c.GroupInfos(bg); return err }},
		{"space", RoleReader, func(c *Client) error { _, err := c.Space(bg, "G"); return err }},
		{"sessions", RoleReader, func(c *Client) error { _, err := c.Sessions(bg, ref); return err }},
		{"export", RoleOperator, func(c *Client) error {
			return c.ExportImage(bg, ref, filepath.Join(t.TempDir(), "x.wim"), store.ExportOptions{})
		}},
		{"verify", RoleOperator, func(c *Client) error { _, err := c.VerifyStore(bg, "", nil); return err }},
		{"install", RoleOperator, func(c *Client) error {
			return c.InstallImage(bg, ref, filepath.Join(t.TempDir(), "d"), "t", nil)
		}},
		{"set", RoleAdmin, func(c *Client) error { return c.SetImage(bg, ref, store.SetOptions{Enabled: &yes}) }},
		{"add-group", RoleAdmin, func(c *Client) error { return c.AddGroup(bg, "H"+string(c.o.Token[5:9])) }},
		{"copy", RoleAdmin, func(c *Client) error {
			_, err := c.CopyImage(bg, ref, store.CopyOptions{FileName: "copy" + strings.Map(alnum, c.o.Token[5:9])})
			return err
		}},
		{"add-image", RoleAdmin, func(c *Client) error {
			_, err := c.AddImage(bg, src, store.AddOptions{Group: "G", Name: "add " + c.o.Token[5:9], FileName: "add" + strings.Map(alnum, c.o.Token[5:9])})
			return err
		}},
	}
	for _, role := range []Role{RoleReader, RoleOperator, RoleAdmin} {
		c := ts.client(t, string(role))
		for _, a := range actions {
			err := a.do(c)
			if role.rank() >= a.min.rank() {
				if err != nil {
					t.Errorf("%s %s: %v", role, a.name, err)
				}
				continue
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.Status != 403 || !strings.Contains(ae.Message, "needs "+string(a.min)) {
				t.Errorf("%s %s: %v, want 403 naming the role", role, a.name, err)
			}
		}
	}
}

func alnum(r rune) rune {
	if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
		return r
	}
	return 'x'
}

func TestGroupLimits(t *testing.T) {
	ts := startServer(t, Options{NoWatch: true})
	admin := ts.client(t, "admin")
	src := makeWIM(t, baseTree("a"), "install")
	for _, g := range []string{"A", "B"} {
		if _, err := admin.AddImage(bg, src, store.AddOptions{Group: g}); err != nil {
			t.Fatal(err)
		}
	}
	limited, _, err := ts.srv.Tokens().Create(RoleAdmin, []string{"A"}, "A only")
	if err != nil {
		t.Fatal(err)
	}
	c := ts.client(t, limited)
	ims, err := c.ListImages(bg, store.ListOptions{})
	if err != nil || len(ims) != 1 || ims[0].Group != "A" {
		t.Errorf("limited list: %v %v", ims, err)
	}
	gs, err := c.GroupInfos(bg)
	if err != nil || len(gs) != 1 || gs[0].Name != "A" {
		t.Errorf("limited groups: %v %v", gs, err)
	}
	b := store.ImageRef{Group: "B", File: "install"}
	no := false
	for name, err := range map[string]error{
		"get":      func() error { _, err := c.GetImage(bg, b); return err }(),
		"set":      c.SetImage(bg, b, store.SetOptions{Enabled: &no}),
		"remove":   c.RemoveImage(bg, b),
		"list B":   func() error { _, err := c.ListImages(bg, store.ListOptions{Group: "B"}); return err }(),
		"add to B": func() error { _, err := c.AddImage(bg, src, store.AddOptions{Group: "B"}); return err }(),
		"add default group": func() error {
			_, err := c.AddImage(bg, src, store.AddOptions{})
			return err
		}(),
		"add boot":   func() error { _, err := c.AddImage(bg, src, store.AddOptions{Boot: true}); return err }(),
		"rename A→B": c.RenameGroup(bg, "A", "C"),
		"remove B":   c.RemoveGroup(bg, "B", true),
		"verify all": func() error { _, err := c.VerifyStore(bg, "", nil); return err }(),
		"install B":  c.InstallImage(bg, b, filepath.Join(t.TempDir(), "d"), "t", nil),
		"boot image": func() error {
			_, err := c.GetImage(bg, store.ImageRef{Boot: true, Arch: "x64", File: "boot"})
			return err
		}(),
	} {
		var ae *Error
		if !errors.As(err, &ae) || ae.Status != 403 || !strings.Contains(ae.Message, "limited to image groups A") {
			t.Errorf("%s: %v, want 403 about the group limit", name, err)
		}
	}
	// Within its group it acts.
	a := store.ImageRef{Group: "A", File: "install"}
	if err := c.SetImage(bg, a, store.SetOptions{Enabled: &no}); err != nil {
		t.Error(err)
	}
	if _, err := c.VerifyStore(bg, "A", nil); err != nil {
		t.Error(err)
	}
}

func TestEveryAction(t *testing.T) {
	ts := startServer(t, Options{NoWatch: true})
	c := ts.client(t, "admin")
	treeA, treeB := baseTree("a"), baseTree("b")
	srcA := makeWIM(t, treeA, "install")
	srcB := makeWIM(t, treeB, "other")

	if err := c.AddGroup(bg, "Win"); err != nil {
		t.Fatal(err)
	}
	if err := c.AddGroup(bg, "Win"); err == nil {
		t.Error("AddGroup of an existing group succeeded")
	}
	unattend := fixtures.Path(t, "ImageUnattend.xml")
	var phases []string
	refs, err := c.AddImage(bg, srcA, store.AddOptions{Group: "Win", Name: "Pro", Unattend: unattend, Progress: func(p wimProgress) {
		if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
			phases = append(phases, p.Phase)
		}
	}})
	if err != nil || len(refs) != 1 || refs[0].String() != "Win/install" {
		t.Fatalf("AddImage = %v, %v", refs, err)
	}
	if len(phases) == 0 || phases[0] != PhaseUpload {
		t.Errorf("progress phases %v: want uploading first", phases)
	}
	ref := refs[0]
	im, err := c.GetImage(bg, ref)
	if err != nil || im.Name != "Pro" || !im.Enabled || im.Unattend == "" {
		t.Fatalf("GetImage = %+v, %v", im, err)
	}
	if strings.Contains(im.Path, ts.st.Root()) {
		t.Errorf("server path leaked: %s", im.Path)
	}
	local, _ := ts.st.GetImage(bg, ref)
	if local.Name != im.Name || local.ExpandedBytes != im.ExpandedBytes {
		t.Errorf("remote %+v differs from local %+v", im, local)
	}
	name, desc, order := "Pro 2", "desc", 7
	if err := c.SetImage(bg, ref, store.SetOptions{Name: &name, Description: &desc, DisplayOrder: &order}); err != nil {
		t.Fatal(err)
	}
	if im, _ := ts.st.GetImage(bg, ref); im.Name != name || im.Description != desc || im.DisplayOrder != order {
		t.Errorf("SetImage not applied: %+v", im)
	}
	empty := ""
	if err := c.SetImage(bg, ref, store.SetOptions{Unattend: &empty}); err != nil {
		t.Fatal(err)
	}
	if im, _ := ts.st.GetImage(bg, ref); im.Unattend != "" {
		t.Errorf("unattend not removed: %q", im.Unattend)
	}
	cp, err := c.CopyImage(bg, ref, store.CopyOptions{FileName: "copy"})
	if err != nil || cp.String() != "Win/copy" {
		t.Fatalf("CopyImage = %v, %v", cp, err)
	}
	ims, err := c.ListImages(bg, store.ListOptions{Group: "Win"})
	if err != nil || len(ims) != 2 {
		t.Fatalf("ListImages = %d, %v", len(ims), err)
	}
	// Export: download and compare the applied tree.
	dest := filepath.Join(t.TempDir(), "exp.wim")
	if err := c.ExportImage(bg, ref, dest, store.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.ExportImage(bg, ref, dest, store.ExportOptions{}); err == nil {
		t.Error("export over an existing file without overwrite succeeded")
	}
	if err := c.ExportImage(bg, cp, dest, store.ExportOptions{Overwrite: store.OverwriteAppend, Name: "appended"}); err != nil {
		t.Fatal(err)
	}
	w, err := wim.Open(dest, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w.ImageCount() != 2 {
		t.Errorf("appended export has %d images", w.ImageCount())
	}
	out := filepath.Join(t.TempDir(), "applied")
	if err := w.Apply(bg, 2, out, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	sameTree(t, treeA, out)

	gs, err := c.Space(bg, "Win")
	if err != nil || len(gs.Images) != 2 {
		t.Errorf("Space = %+v, %v", gs, err)
	}
	if res, err := c.VerifyStore(bg, "", nil); err != nil || res.Images != 2 {
		t.Errorf("VerifyStore = %+v, %v", res, err)
	}
	// Replace: refused while enabled, then done.
	if err := c.ReplaceImage(bg, ref, srcB, store.ReplaceOptions{}); err == nil || !strings.Contains(err.Error(), "disable it") {
		t.Errorf("replace of an enabled image: %v", err)
	}
	no := false
	if err := c.SetImage(bg, ref, store.SetOptions{Enabled: &no}); err != nil {
		t.Fatal(err)
	}
	if err := c.InstallImage(bg, ref, filepath.Join(t.TempDir(), "d"), "t", nil); !errors.Is(err, store.ErrImageDisabled) {
		t.Errorf("install of a disabled image: %v", err)
	}
	if err := c.ReplaceImage(bg, ref, srcB, store.ReplaceOptions{}); err != nil {
		t.Fatal(err)
	}
	yes := true
	if err := c.SetImage(bg, ref, store.SetOptions{Enabled: &yes}); err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(t.TempDir(), "installed")
	if err := c.InstallImage(bg, ref, out, "t", nil); err != nil {
		t.Fatal(err)
	}
	sameTree(t, treeB, out)
	if err := c.RemoveImage(bg, cp); err != nil {
		t.Fatal(err)
	}
	res, err := c.Regroup(bg, "Win", store.RegroupOptions{Into: "Win2"})
	if err != nil || res.BytesAfter >= res.BytesBefore {
		t.Errorf("Regroup = %+v, %v", res, err)
	}
	if err := c.RenameGroup(bg, "Win2", "Win3"); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveGroup(bg, "Win3", false); err == nil {
		t.Error("removing a group with images without force succeeded")
	}
	if err := c.RemoveGroup(bg, "Win3", true); err != nil {
		t.Fatal(err)
	}
	if gs, err := c.GroupInfos(bg); err != nil || len(gs) != 0 {
		t.Errorf("groups left: %v %v", gs, err)
	}
	if _, err := c.GetImage(bg, ref); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetImage of a removed image: %v, want not found", err)
	}
	if left := workFilesLeft(t, ts.st.Root()); len(left) != 0 {
		t.Errorf("upload files left: %v", left)
	}
}

func TestHostileRequests(t *testing.T) {
	ts := startServer(t, Options{NoWatch: true})
	admin := ts.tokens["admin"]
	before := storeFiles(t, ts.st.Root())
	for _, tc := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/api/v1/image?ref=../../etc/passwd", "", 400},
		{"GET", "/api/v1/image?ref=G/..%2F..%2Fx", "", 400},
		{"GET", "/api/v1/image?ref=" + "%2Fetc%2Fpasswd", "", 400},
		{"GET", "/api/v1/image?ref=G/a%00b", "", 400},
		{"GET", "/api/v1/image?ref=G/c:x", "", 400},
		{"GET", "/api/v1/image", "", 400},
		{"POST", "/api/v1/groups", `{"name":".."}`, 400},
		{"POST", "/api/v1/groups", `{"name":"a/b"}`, 400},
		{"POST", "/api/v1/groups", `{"name":"../../outside"}`, 400},
		{"POST", "/api/v1/groups", `{"name":"x","extra":1}`, 400},
		{"POST", "/api/v1/groups", `{"name":`, 400},
		{"POST", "/api/v1/groups", `{"name":"` + strings.Repeat("a", MaxJSONBody) + `"}`, 413},
		{"DELETE", "/api/v1/groups/..", "", 404}, // cleaned by the router
		{"DELETE", "/api/v1/groups/%2E%2E", "", 400},
		{"PATCH", "/api/v1/groups/%2E%2E", `{"name":"x"}`, 400},
		{"GET", "/api/v1/groups/a%5Cb/space", "", 400},
		{"POST", "/api/v1/images?filename=..%2F..%2Fevil", "WIM", 400},
		{"POST", "/api/v1/images?filename=ok&group=..", "WIM", 400},
		{"POST", "/api/v1/images?filename=ok&image_filename=a%2Fb", "WIM", 400},
		{"POST", "/api/v1/images?filename=ok&index=0", "WIM", 400},
		{"POST", "/api/v1/image/copy?ref=G/x", `{"filename":"../y"}`, 400},
		{"PUT", "/api/v1/image/content?ref=G/x&wait=-1s", "WIM", 400},
		{"POST", "/api/v1/sessions", `{"image":"../x"}`, 400},
		{"GET", "/api/v1/images?type=evil", "", 400},
	} {
		code, body := ts.rawRequest(t, tc.method, tc.path, admin, strings.NewReader(tc.body))
		if code != tc.want || !strings.Contains(body, `"error"`) {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, code, body, tc.want)
		}
	}
	if after := storeFiles(t, ts.st.Root()); !reflect.DeepEqual(before, after) {
		t.Errorf("store changed:\n%v\n%v", before, after)
	}
	if left := workFilesLeft(t, ts.st.Root()); len(left) != 0 {
		t.Errorf("upload files left: %v", left)
	}
	// Nothing outside the store appeared.
	if _, err := os.Stat(filepath.Join(filepath.Dir(ts.st.Root()), "outside")); err == nil {
		t.Error("a group was created outside the store")
	}
}

func TestBadUploads(t *testing.T) {
	ts := startServer(t, Options{NoWatch: true, MaxUpload: 200 << 10})
	c := ts.client(t, "admin")
	small := makeWIM(t, map[string]string{"a.txt": "hello"}, "small")
	if _, err := c.AddImage(bg, small, store.AddOptions{Group: "G"}); err != nil {
		t.Fatal(err)
	}
	before := storeFiles(t, ts.st.Root())
	check := func(what string) {
		t.Helper()
		if after := storeFiles(t, ts.st.Root()); !reflect.DeepEqual(before, after) {
			t.Errorf("%s: store changed:\n%v\n%v", what, before, after)
		}
		if left := workFilesLeft(t, ts.st.Root()); len(left) != 0 {
			t.Errorf("%s: upload files left: %v", what, left)
		}
		ims, err := ts.st.ListImages(bg, store.ListOptions{})
		if err != nil || len(ims) != 1 {
			t.Errorf("%s: images %v %v", what, ims, err)
		}
	}
	// Oversized: refused by its announced length, and by what is sent.
	big := makeWIM(t, map[string]string{"big.bin": randomString(400 << 10)}, "big")
	_, err := c.AddImage(bg, big, store.AddOptions{Group: "G"})
	var ae *Error
	if !errors.As(err, &ae) || ae.Status != 413 {
		t.Errorf("oversized upload: %v, want 413", err)
	}
	check("oversized")
	data, _ := os.ReadFile(big)
	req, _ := http.NewRequest("POST", ts.url+"/api/v1/images?filename=big&group=G", io.MultiReader(bytes.NewReader(data))) // no length: chunked
	req.Header.Set("Authorization", "Bearer "+ts.tokens["admin"])
	req.ContentLength = -1
	resp, err := c.hc.Do(req)
	if err == nil {
		if resp.StatusCode != 413 {
			t.Errorf("oversized chunked upload: %s", resp.Status)
		}
		resp.Body.Close()
	}
	check("oversized chunked")

	// Truncated WIM: whole request, broken file.
	trunc := filepath.Join(t.TempDir(), "trunc.wim")
	sdata, _ := os.ReadFile(small)
	os.WriteFile(trunc, sdata[:len(sdata)/2], 0o644)
	if _, err := c.AddImage(bg, trunc, store.AddOptions{Group: "G"}); err == nil {
		t.Error("truncated WIM added")
	}
	check("truncated WIM")
	yes := false
	if err := c.SetImage(bg, store.ImageRef{Group: "G", File: "small"}, store.SetOptions{Enabled: &yes}); err != nil {
		t.Fatal(err)
	}
	before = storeFiles(t, ts.st.Root())
	if err := c.ReplaceImage(bg, store.ImageRef{Group: "G", File: "small"}, trunc, store.ReplaceOptions{}); err == nil {
		t.Error("replace by a truncated WIM succeeded")
	}
	check("replace by truncated WIM")

	// Truncated upload: the connection ends before the announced length.
	for _, cut := range []int{0, 100, len(sdata) - 1} {
		req, _ := http.NewRequest("POST", ts.url+"/api/v1/images?filename=cut&group=G", &failingReader{data: sdata[:cut]})
		req.Header.Set("Authorization", "Bearer "+ts.tokens["admin"])
		req.ContentLength = int64(len(sdata))
		resp, err := c.hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Errorf("cut at %d: %s", cut, resp.Status)
			}
		}
		// The server notices the broken connection asynchronously, and may
		// even create the upload folder after the client has given up: wait
		// until no upload file has been seen for half a second.
		deadline := time.Now().Add(10 * time.Second)
		for quiet := 0; quiet < 25 && time.Now().Before(deadline); {
			if len(workFilesLeft(t, ts.st.Root())) > 0 {
				quiet = 0
			} else {
				quiet++
			}
			time.Sleep(20 * time.Millisecond)
		}
		check(fmt.Sprintf("cut at %d", cut))
	}
}

// failingReader gives data, then fails as a broken connection does.
type failingReader struct {
	data []byte
	off  int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.off >= len(f.data) {
		return 0, errors.New("connection broken")
	}
	n := copy(p, f.data[f.off:])
	f.off += n
	return n, nil
}

func randomString(n int) string {
	b := make([]byte, n)
	x := uint64(88172645463325252)
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return string(b)
}

func TestEventStream(t *testing.T) {
	ts := startServer(t, Options{})
	admin := ts.client(t, "admin")
	src := makeWIM(t, baseTree("a"), "install")
	refs, err := admin.AddImage(bg, src, store.AddOptions{Group: "G"})
	if err != nil {
		t.Fatal(err)
	}
	reader := ts.client(t, "reader")
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	events := make(chan Event, 100)
	go reader.Watch(ctx, func(ev Event) { events <- ev })
	select {
	case ev := <-events:
		if !ev.Reload {
			t.Errorf("first event %+v, want the reload of a new stream", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no hello")
	}
	// Drain what adding left.
	time.Sleep(400 * time.Millisecond)
	for len(events) > 0 {
		<-events
	}
	no := false
	start := time.Now()
	if err := admin.SetImage(bg, refs[0], store.SetOptions{Enabled: &no}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-events:
			if !slicesContains(ev.Paths, "WdsConsole/catalog.db") {
				continue
			}
			im, err := reader.GetImage(bg, refs[0])
			if err != nil || im.Enabled {
				t.Errorf("after the event: %+v %v", im, err)
			}
			t.Logf("disable seen through the event stream after %v", time.Since(start))
			return
		case <-deadline:
			t.Fatal("no event after disabling an image")
		}
	}
}

func slicesContains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

type wimProgress = progressReport
