package store

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wimconsole/wimconsole/engine/store/storetest"
	"github.com/wimconsole/wimconsole/internal/oracle"
)

// Environment of a child process run by the kill tests.
const (
	envKillOp   = "WIMSTORE_KILL_OP"   // add, replace, regroup, boot-add, boot-replace, langpack, unattend, receive-replace
	envKillRoot = "WIMSTORE_KILL_ROOT" // store root
	envKillSrc  = "WIMSTORE_KILL_SRC"  // source WIM
	envKillAt   = "WIMSTORE_KILL_AT"   // step to die at ("" : run until killed from outside)
	envKillNth  = "WIMSTORE_KILL_NTH"  // die the nth time the step is reached (default 1)
)

func TestMain(m *testing.M) {
	if op := os.Getenv(envKillOp); op != "" {
		os.Exit(killChild(op))
	}
	os.Exit(m.Run())
}

// killChild runs one operation, dying at the named step when asked.
func killChild(op string) int {
	at := os.Getenv(envKillAt)
	nth, seen := 1, 0
	if n, err := strconv.Atoi(os.Getenv(envKillNth)); err == nil {
		nth = n
	}
	testHook = func(step string) {
		if step == at {
			if seen++; seen < nth {
				return
			}
			p, _ := os.FindProcess(os.Getpid())
			p.Kill()
			select {}
		}
	}
	s, err := Open(os.Getenv(envKillRoot))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	ctx := context.Background()
	src := os.Getenv(envKillSrc)
	switch op {
	case "add":
		_, err = s.AddImage(ctx, src, AddOptions{Group: "G", Indexes: []int{2}, FileName: "new", Name: "New"})
	case "add-many":
		_, err = s.AddImage(ctx, src, AddOptions{Group: "G"})
	case "add-new":
		_, err = s.AddImage(ctx, src, AddOptions{Group: "N"})
	case "replace":
		err = s.ReplaceImage(ctx, ImageRef{Group: "G", File: "install-(2)"}, src, ReplaceOptions{SourceIndex: 2, Force: true, Name: "Replaced"})
	case "regroup":
		_, err = s.Regroup(ctx, "G", RegroupOptions{})
	case "boot-add":
		_, err = s.AddImage(ctx, src, AddOptions{Boot: true, Arch: "x64", Indexes: []int{2}, FileName: "new", Name: "New"})
	case "boot-replace":
		err = s.ReplaceImage(ctx, bootRef, src, ReplaceOptions{SourceIndex: 2, Force: true, Name: "Replaced"})
	case "langpack":
		err = s.AddLanguagePack(ctx, ImageRef{Group: "G", File: "install"}, src)
	case "unattend":
		err = s.SetImage(ctx, ImageRef{Group: "G", File: "install"}, SetOptions{Unattend: &src})
	case "receive-replace": // src: "image WIM|external data folder"
		f := strings.SplitN(src, "|", 2)
		_, err = s.ReceiveImage(ctx, "G", f[0], ReceiveImageOptions{FileName: "install", Data: f[1], Replace: true, ReplaceData: true})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// randomTree is a tree of incompressible data, so writes take a while.
func randomTree(seed int64, size int) map[string]string {
	r := rand.New(rand.NewSource(seed))
	m := baseTree(fmt.Sprint(seed))
	for i := 0; i < 4; i++ {
		b := make([]byte, size)
		r.Read(b)
		m[fmt.Sprintf("data/file%d.bin", i)] = string(b)
	}
	return m
}

func TestKill(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("kill tests use POSIX process semantics")
	}
	oracle.Wimlib(t)
	a, b := randomTree(1, 1<<20), randomTree(2, 1<<20)
	c, d := randomTree(3, 1<<20), randomTree(4, 1<<20)
	first := captureWIM(t, "lzx", writeTree(t, a), writeTree(t, b))
	second := captureWIM(t, "xpress", writeTree(t, c), writeTree(t, d))
	steps := map[string][]string{
		"add":     {"add-res-written", "add-image-written"},
		"replace": {"replace-res-written", "replace-temp-written", "replace-renamed"},
		"regroup": {"regroup-built", "regroup-committed", "regroup-old-moved", "regroup-new-moved"},
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for _, op := range []string{"add", "replace", "regroup"} {
		cases := append([]string{}, steps[op]...)
		for i := 0; i < 4; i++ {
			cases = append(cases, "random")
		}
		for _, at := range cases {
			t.Run(op+"/"+at, func(t *testing.T) {
				root, s := killStore(t, first, AddOptions{Group: "G"})
				ctx := context.Background()
				ra, rb := ImageRef{Group: "G", File: "install"}, ImageRef{Group: "G", File: "install-(2)"}
				no := false
				if err := s.SetImage(ctx, rb, SetOptions{Enabled: &no}); err != nil {
					t.Fatal(err)
				}
				if op == "regroup" {
					if err := s.RemoveImage(ctx, ra); err != nil {
						t.Fatal(err)
					}
				}
				cmd, out := killCmd(op, root, second, strings.TrimSuffix(at, "random"), 0)
				var delay time.Duration // 0: it dies at its kill point
				if at == "random" {
					delay = time.Duration(10+rng.Intn(150)) * time.Millisecond
				}
				runKilled(t, cmd, out, delay)
				// Recovery at open; then everything committed is whole.
				s, err := Open(root)
				if err != nil {
					t.Fatal(err)
				}
				mustVerify(t, s)
				if op != "regroup" {
					oracleApply(t, s, ra, a)
				}
				switch op {
				case "add":
					oracleApply(t, s, rb, b)
					if _, err := os.Stat(s.ImagePath(ImageRef{Group: "G", File: "new"})); err == nil {
						oracleApply(t, s, ImageRef{Group: "G", File: "new"}, d)
					}
				case "replace":
					im, err := s.GetImage(ctx, rb)
					if err != nil {
						t.Fatal(err)
					}
					if im.Name == "Replaced" {
						oracleApply(t, s, rb, d)
					} else {
						oracleApply(t, s, rb, b)
					}
					if im.Enabled {
						t.Error("replace lost the disabled state")
					}
				case "regroup":
					oracleApply(t, s, rb, b)
					im, err := s.GetImage(ctx, rb)
					if err != nil || im.Enabled {
						t.Fatalf("regroup lost the image or its state: %+v %v", im, err)
					}
					ents, _ := os.ReadDir(filepath.Join(root, "Images"))
					if len(ents) != 1 {
						t.Errorf("Images holds %d entries after recovery", len(ents))
					}
				}
			})
		}
	}
}

// runKilled starts cmd (from killCmd) and kills it after delay, unless
// delay is 0 (then it dies at its kill point, or finishes); it waits for
// it, logs how it ended with its output, and returns cmd.Wait's error.
func runKilled(t *testing.T, cmd *exec.Cmd, out *limitedBuf, delay time.Duration) error {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if delay > 0 {
		time.Sleep(delay)
		cmd.Process.Kill()
	}
	err := cmd.Wait()
	t.Logf("child: %v %s", err, out)
	return err
}

// killStore makes a store at a new root holding the images of src, added
// with o, for a kill test: it returns the root and the store.
func killStore(t *testing.T, src string, o AddOptions) (string, *Store) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "RemoteInstall")
	s, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddImage(context.Background(), src, o); err != nil {
		t.Fatal(err)
	}
	return root, s
}

// killCmd is the child process (not started) that runs op (see killChild)
// on the store at root with source src and dies at step at, the nth time
// it is reached (0: the first); at "" lets it run until killed from
// outside. out collects what it prints.
func killCmd(op, root, src, at string, nth int) (cmd *exec.Cmd, out *limitedBuf) {
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envKillOp+"="+op, envKillRoot+"="+root, envKillSrc+"="+src)
	if at != "" {
		cmd.Env = append(cmd.Env, envKillAt+"="+at)
		if nth > 0 {
			cmd.Env = append(cmd.Env, fmt.Sprintf("%s=%d", envKillNth, nth))
		}
	}
	out = &limitedBuf{}
	cmd.Stdout, cmd.Stderr = out, out
	return cmd, out
}

type limitedBuf struct{ b []byte }

func (l *limitedBuf) Write(p []byte) (int, error) {
	if len(l.b) < 4096 {
		l.b = append(l.b, p...)
	}
	return len(p), nil
}
func (l *limitedBuf) String() string { return string(l.b) }

// TestKillCopyingExternalData kills the store while it copies a language
// pack or an unattend file into an image's folder, after the temporary copy
// is written and before it is renamed into place: recovery removes the
// temporary file and the image keeps what it had.
func TestKillCopyingExternalData(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("kill tests use POSIX process semantics")
	}
	oracle.Wimlib(t)
	src := captureWIM(t, "xpress", writeTree(t, baseTree("x")))
	dir := t.TempDir()
	unattend := filepath.Join(dir, "unattend.xml")
	if err := os.WriteFile(unattend, []byte(`<?xml version="1.0"?><unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="windowsPE"/></unattend>`), 0o644); err != nil {
		t.Fatal(err)
	}
	for op, in := range map[string]string{
		"langpack": storetest.Cab(t, dir, "fr-fr.cab", 4096),
		"unattend": unattend,
	} {
		t.Run(op, func(t *testing.T) {
			root, s := killStore(t, src, AddOptions{Group: "G"})
			ctx := context.Background()
			cmd, out := killCmd(op, root, in, "file-temp-written", 0)
			if err := cmd.Run(); err == nil {
				t.Fatalf("the child was not killed: %s", out)
			}
			sub := map[string]string{"langpack": LangPacksDir, "unattend": "Unattend"}[op]
			folder := filepath.Join(s.GroupDir("G"), "install", sub)
			if ents, _ := os.ReadDir(folder); len(ents) != 1 {
				t.Fatalf("the kill left %d files in %s, want the temporary copy", len(ents), folder)
			}
			s, err := Open(root)
			if err != nil {
				t.Fatal(err)
			}
			if ents, _ := os.ReadDir(folder); len(ents) != 0 {
				t.Errorf("recovery left %v in %s", ents, folder)
			}
			im, err := s.GetImage(ctx, ImageRef{Group: "G", File: "install"})
			if err != nil {
				t.Fatal(err)
			}
			if im.Unattend != "" {
				t.Errorf("the image gained %q after the kill", im.Unattend)
			}
			packs, err := s.LanguagePacks(ImageRef{Group: "G", File: "install"})
			if err != nil || len(packs) != 0 {
				t.Errorf("language packs after the kill: %v %v", packs, err)
			}
			mustVerify(t, s)
		})
	}
}

// bootRef is the boot image the boot kill tests start with.
var bootRef = ImageRef{Boot: true, Arch: "x64", File: "install"}

// TestKillBootImages kills adding and replacing a boot image (a standalone
// WIM under Boot/x64/Images) at named steps and at random instants: after
// recovery every boot image verifies and holds either the old or the new
// content, and the replaced one keeps its disabled state.
func TestKillBootImages(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("kill tests use POSIX process semantics")
	}
	oracle.Wimlib(t)
	a, b := randomTree(5, 4<<20), randomTree(6, 4<<20)
	first := captureWIM(t, "lzx", writeTree(t, a))
	second := captureWIM(t, "xpress", writeTree(t, a), writeTree(t, b))
	bootApply := func(t *testing.T, s *Store, r ImageRef, want map[string]string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "apply")
		oracle.Run(t, "apply", s.ImagePath(r), "1", out)
		sameTree(t, want, out)
		oracle.Run(t, "verify", s.ImagePath(r))
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for _, op := range []string{"boot-add", "boot-replace"} {
		cases := []string{map[string]string{"boot-add": "boot-image-written", "boot-replace": "boot-replace-written"}[op], "random", "random", "random"}
		for _, at := range cases {
			t.Run(op+"/"+at, func(t *testing.T) {
				root, s := killStore(t, first, AddOptions{Boot: true, Arch: "x64"})
				ctx := context.Background()
				no := false
				if err := s.SetImage(ctx, bootRef, SetOptions{Enabled: &no}); err != nil {
					t.Fatal(err)
				}
				cmd, out := killCmd(op, root, second, strings.TrimSuffix(at, "random"), 0)
				var delay time.Duration // 0: it dies at its kill point
				if at == "random" {
					delay = time.Duration(2+rng.Intn(40)) * time.Millisecond
				}
				runKilled(t, cmd, out, delay)
				s, err := Open(root)
				if err != nil {
					t.Fatal(err)
				}
				mustVerify(t, s)
				im, err := s.GetImage(ctx, bootRef)
				if err != nil {
					t.Fatal(err)
				}
				if im.Enabled {
					t.Error("the boot image lost its disabled state")
				}
				switch {
				case op == "boot-replace" && im.Name == "Replaced":
					bootApply(t, s, bootRef, b)
				default:
					bootApply(t, s, bootRef, a)
				}
				nr := ImageRef{Boot: true, Arch: "x64", File: "new"}
				if _, err := os.Stat(s.ImagePath(nr)); err == nil {
					bootApply(t, s, nr, b)
				}
				ents, _ := os.ReadDir(s.BootImagesDir("x64"))
				for _, e := range ents {
					if strings.HasPrefix(e.Name(), ".") {
						t.Errorf("recovery left %s in %s", e.Name(), s.BootImagesDir("x64"))
					}
				}
			})
		}
	}
}

// TestKillAddMany kills an add-image of many images, into an existing
// group and into a new one, at every step, at 25%, 50% and 90% of the
// image files written, and at random instants: after recovery the group
// holds either all the new images or none (a new group does not exist),
// no temporary file is left, and verify-store finds nothing wrong.
func TestKillAddMany(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("kill tests use POSIX process semantics")
	}
	oracle.Wimlib(t)
	const n = 200
	many, tree := manyImagesWIM(t, n)
	a := randomTree(7, 1<<20)
	first := captureWIM(t, "xpress", writeTree(t, a))
	type kill struct {
		at  string
		nth int
	}
	kills := []kill{
		{"add-res-written", 1},
		{"add-image-written", n / 4},
		{"add-image-written", n / 2},
		{"add-image-written", n * 9 / 10},
		{"add-committed", 1},
		{"add-image-renamed", 1},
		{"", 0}, {"", 0}, {"", 0},
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	for _, op := range []string{"add-many", "add-new"} {
		for _, k := range kills {
			if op == "add-new" && k.at == "add-image-renamed" {
				continue // a new group appears in one rename
			}
			name := fmt.Sprintf("%s/%s-%d", op, k.at, k.nth)
			if k.at == "" {
				name = op + "/random"
			}
			t.Run(name, func(t *testing.T) {
				root, s := killStore(t, first, AddOptions{Group: "G", Name: "First"})
				ctx := context.Background()
				resBefore := fileSum(t, s.ResPath("G"))
				cmd, out := killCmd(op, root, many, k.at, k.nth)
				var delay time.Duration // 0: it dies at its kill point
				if k.at == "" {
					delay = time.Duration(50+rng.Intn(1500)) * time.Millisecond
				}
				err := runKilled(t, cmd, out, delay)
				if k.at != "" && err == nil {
					t.Fatalf("the child was not killed at %s", k.at)
				}
				if s, err = Open(root); err != nil {
					t.Fatal(err)
				}
				group := map[string]string{"add-many": "G", "add-new": "N"}[op]
				ims, err := s.ListImages(ctx, ListOptions{})
				if err != nil {
					t.Fatal(err)
				}
				count := 0
				for _, im := range ims {
					if im.Group == group && im.Name != "First" {
						count++
					}
				}
				if count != 0 && count != n {
					t.Fatalf("%d of the %d images are in group %s after recovery", count, n, group)
				}
				t.Logf("%d images after recovery", count)
				if _, err := os.Stat(s.GroupDir("N")); (err == nil) != (op == "add-new" && count == n) {
					t.Errorf("group N exists: %v, with %d images", err == nil, count)
				}
				if count == 0 {
					if got := fileSum(t, s.ResPath("G")); got != resBefore {
						t.Errorf("Res.rwm is %s after the rollback, was %s", got, resBefore)
					}
				} else {
					oracleApply(t, s, ImageRef{Group: group, File: "many-(" + strconv.Itoa(n) + ")"}, tree)
				}
				for _, d := range []string{filepath.Join(root, ImagesDir), s.GroupDir("G")} {
					ents, _ := os.ReadDir(d)
					for _, e := range ents {
						if strings.HasPrefix(e.Name(), ".") {
							t.Errorf("recovery left %s in %s", e.Name(), d)
						}
					}
				}
				mustVerify(t, s)
				oracleApply(t, s, ImageRef{Group: "G", File: "install"}, a)
			})
		}
	}
}

// TestKillThenAddWithoutReopen kills an add-image, then adds to the same
// group through a Store opened before the kill (as a running console
// would, without start-up recovery): the new operation first settles what
// the dead one left, so the rollback of the dead add cannot cut back what
// the new one appends to Res.rwm, nor a committed add stay half-renamed.
func TestKillThenAddWithoutReopen(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("kill tests use POSIX process semantics")
	}
	oracle.Wimlib(t)
	const n = 20
	many, tree := manyImagesWIM(t, n)
	a, b := randomTree(8, 1<<20), randomTree(9, 1<<20)
	first := captureWIM(t, "xpress", writeTree(t, a))
	second := captureWIM(t, "xpress", writeTree(t, b))
	for _, at := range []string{"add-res-written", "add-committed"} {
		t.Run(at, func(t *testing.T) {
			root, s := killStore(t, first, AddOptions{Group: "G", Name: "First"})
			ctx := context.Background()
			cmd, out := killCmd("add-many", root, many, at, 0)
			if err := cmd.Run(); err == nil {
				t.Fatalf("the child was not killed: %s", out)
			}
			// The same Store, no recovery at open.
			if _, err := s.AddImage(ctx, second, AddOptions{Group: "G", FileName: "second", Name: "Second"}); err != nil {
				t.Fatal(err)
			}
			s, err := Open(root)
			if err != nil {
				t.Fatal(err)
			}
			mustVerify(t, s)
			oracleApply(t, s, ImageRef{Group: "G", File: "install"}, a)
			oracleApply(t, s, ImageRef{Group: "G", File: "second"}, b)
			files, err := s.groupFiles("G")
			if err != nil {
				t.Fatal(err)
			}
			want := 2
			if at == "add-committed" {
				want += n
				oracleApply(t, s, ImageRef{Group: "G", File: "many-(" + strconv.Itoa(n) + ")"}, tree)
			}
			if len(files) != want {
				t.Errorf("group G holds %d images, want %d: %v", len(files), want, files)
			}
		})
	}
}

// TestKillReceiveReplace kills a ReceiveImage that replaces an image and
// its external data (as a library pull of a changed image does) at each
// step: after recovery the image reads (wimlib-imagex applies it), it is
// the old or the new one, its folder holds the old or the new external
// data whole, the record names the unattend file the folder holds, and no
// temporary file is left; the same replace run again then finishes it.
func TestKillReceiveReplace(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("kill tests use POSIX process semantics")
	}
	oracle.Wimlib(t)
	a, b := baseTree("a"), baseTree("b")
	src := captureWIM(t, "lzx", writeTree(t, a), writeTree(t, b))
	u := func(pass string) []byte {
		return []byte(`<?xml version="1.0"?><unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="` + pass + `"/></unattend>`)
	}
	for _, at := range []string{"receive-replace-renamed", "receive-replace-data-moved", "receive-replace-data-in"} {
		t.Run(at, func(t *testing.T) {
			root, s := killStore(t, src, AddOptions{Group: "G"})
			ctx := context.Background()
			ra, rb := ImageRef{Group: "G", File: "install"}, ImageRef{Group: "G", File: "install-(2)"}
			old := filepath.Join(t.TempDir(), "old.xml")
			os.WriteFile(old, u("windowsPE"), 0o644)
			if err := s.SetImage(ctx, ra, SetOptions{Unattend: &old}); err != nil {
				t.Fatal(err)
			}
			// The new image: image 2's file (its data is in Res.rwm), image
			// 2 removed so that its name is free.
			img := filepath.Join(t.TempDir(), "new.wim")
			data, err := os.ReadFile(s.ImagePath(rb))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(img, data, 0o644)
			if err := s.RemoveImage(ctx, rb); err != nil {
				t.Fatal(err)
			}
			ext := t.TempDir()
			os.MkdirAll(filepath.Join(ext, "Unattend"), 0o755)
			os.WriteFile(filepath.Join(ext, "Unattend", unattendFile), u("specialize"), 0o644)
			os.MkdirAll(filepath.Join(ext, "$OEM$", "$1"), 0o755)
			os.WriteFile(filepath.Join(ext, "$OEM$", "$1", "setup.cmd"), []byte("echo new\r\n"), 0o644)

			cmd, out := killCmd("receive-replace", root, img+"|"+ext, at, 0)
			if err := cmd.Run(); err == nil {
				t.Fatalf("the child was not killed at %s: %s", at, out)
			}
			check := func(wantNew bool) {
				t.Helper()
				var err error
				if s, err = Open(root); err != nil {
					t.Fatal(err)
				}
				im, err := s.GetImage(ctx, ra)
				if err != nil {
					t.Fatal(err)
				}
				tree := a
				if wantNew {
					tree = b
				}
				out := filepath.Join(t.TempDir(), "out")
				oracle.Run(t, "apply", s.ImagePath(ra), "1", out, "--ref="+s.ResPath("G"))
				storetest.SameTree(t, tree, out)
				folder := filepath.Join(s.GroupDir("G"), "install")
				got, err := os.ReadFile(filepath.Join(folder, "Unattend", unattendFile))
				if err != nil || im.Unattend == "" {
					t.Fatalf("unattend file: %v, record %q", err, im.Unattend)
				}
				_, oemErr := os.Stat(filepath.Join(folder, "$OEM$", "$1", "setup.cmd"))
				switch string(got) {
				case string(u("windowsPE")):
					if oemErr == nil {
						t.Errorf("the old external data has the new $OEM$ folder")
					}
				case string(u("specialize")):
					if oemErr != nil {
						t.Errorf("the new external data lacks its $OEM$ folder: %v", oemErr)
					}
				default:
					t.Errorf("unattend file: %q", got)
				}
				ents, _ := os.ReadDir(s.GroupDir("G"))
				for _, e := range ents {
					if strings.HasPrefix(e.Name(), tempTag) || strings.HasPrefix(e.Name(), ".") {
						t.Errorf("recovery left %s", e.Name())
					}
				}
			}
			check(true)
			if _, err := s.ReceiveImage(ctx, "G", img, ReceiveImageOptions{FileName: "install", Data: ext, Replace: true, ReplaceData: true}); err != nil {
				t.Fatal(err)
			}
			check(true)
			im, _ := s.GetImage(ctx, ra)
			got, _ := os.ReadFile(filepath.Join(s.GroupDir("G"), "install", "Unattend", unattendFile))
			if string(got) != string(u("specialize")) || im.Unattend == "" {
				t.Errorf("after the second replace: unattend %q, record %q", got, im.Unattend)
			}
		})
	}
}
