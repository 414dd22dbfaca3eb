package inf

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse or CheckFile panic and that
// every line number reported lies within the file.
func FuzzParse(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "inf", "*", "*.inf"))
	for _, n := range names {
		if b, err := os.ReadFile(n); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("[Version]\nSignature=\"$Windows NT$\nA=%x%%y%,\\\n\"q\"\"\"=b"))
	f.Add([]byte("[a]\n\\\n=\\\n,"))
	pkg := &Package{Dir: ".", index: map[string]string{"a.sys": "a.sys", "c.cat": "c.cat"}, dirs: map[string]bool{"": true}}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("f.inf", data)
		if err != nil {
			return
		}
		text, _ := Decode(data)
		maxLine := 1
		for _, c := range text {
			if c == '\n' {
				maxLine++
			}
		}
		for _, s := range file.Sections {
			for _, l := range s.Lines {
				if l.Num < 1 || l.Num > maxLine {
					t.Fatalf("line number %d outside 1..%d", l.Num, maxLine)
				}
			}
		}
		for _, p := range pkg.CheckFile(file, ".") {
			if p.Line < 0 || p.Line > maxLine {
				t.Fatalf("problem %v has line outside 1..%d", p, maxLine)
			}
		}
	})
}
