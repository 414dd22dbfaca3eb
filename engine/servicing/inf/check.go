package inf

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Severity says whether a problem blocks staging the package.
type Severity int

const (
	Error   Severity = iota // the package must not be staged
	Warning                 // worth showing, does not block
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Problem is one finding about an INF file, at file:line (Line 0 when it
// concerns the file as a whole).
type Problem struct {
	File     string // path relative to the package folder
	Line     int
	Severity Severity
	Msg      string
}

func (p Problem) String() string {
	if p.File == "" || p.File == "." {
		// The package as a whole.
		return fmt.Sprintf("%s: %s", p.Severity, p.Msg)
	}
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s: %s", p.File, p.Line, p.Severity, p.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", p.File, p.Severity, p.Msg)
}

// Result is the outcome of checking a driver package.
type Result struct {
	INFs     []string // INF files found, relative to the package folder, slash-separated
	Problems []Problem
}

// OK reports whether the package has INF files and no errors.
func (r *Result) OK() bool { return len(r.INFs) > 0 && len(r.Errors()) == 0 }

// Errors returns the problems of severity Error.
func (r *Result) Errors() []Problem { return r.filter(Error) }

// Warnings returns the problems of severity Warning.
func (r *Result) Warnings() []Problem { return r.filter(Warning) }

func (r *Result) filter(s Severity) []Problem {
	var out []Problem
	for _, p := range r.Problems {
		if p.Severity == s {
			out = append(out, p)
		}
	}
	return out
}

// Limits on what a package folder may hold.
const (
	MaxFiles = 100000
	MaxDepth = 32
)

// Package is a driver package folder: its files, indexed case-insensitively.
type Package struct {
	Dir   string
	Files []string          // regular files, relative, slash-separated, sorted
	index map[string]string // lower-case relative path -> relative path
	dirs  map[string]bool   // lower-case relative directory paths
}

// OpenPackage lists the driver package in dir. It refuses a package that
// holds names which are hostile or invalid on Windows (such as "..\x",
// "a:b", "CON" or control characters), symbolic links that leave the
// folder, special files, or more than MaxFiles files or MaxDepth levels.
func OpenPackage(dir string) (*Package, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("driver package %s: %w", dir, err)
	}
	st, err := os.Stat(real)
	if err != nil {
		return nil, fmt.Errorf("driver package %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("driver package %s: not a folder", dir)
	}
	p := &Package{Dir: dir, index: map[string]string{}, dirs: map[string]bool{"": true}}
	err = filepath.WalkDir(real, func(fp string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(real, fp)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if strings.Count(rel, "/") >= MaxDepth {
			return fmt.Errorf("%s: folders nested deeper than %d levels", rel, MaxDepth)
		}
		if err := checkName(d.Name()); err != nil {
			return fmt.Errorf("%q: %w", rel, err)
		}
		key := strings.ToLower(rel)
		if _, dup := p.index[key]; dup || p.dirs[key] {
			return fmt.Errorf("%s: name differs from another only in case", rel)
		}
		switch t := d.Type(); {
		case t.IsDir():
			p.dirs[key] = true
			return nil
		case t&fs.ModeSymlink != 0:
			target, err := filepath.EvalSymlinks(fp)
			if err != nil {
				return fmt.Errorf("%s: symbolic link: %w", rel, err)
			}
			if r, err := filepath.Rel(real, target); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) || filepath.IsAbs(r) {
				return fmt.Errorf("%s: symbolic link points outside the package (to %s)", rel, target)
			}
			st, err := os.Stat(target)
			if err != nil {
				return err
			}
			if !st.Mode().IsRegular() {
				return fmt.Errorf("%s: symbolic link to something other than a file", rel)
			}
		case !t.IsRegular():
			return fmt.Errorf("%s: not a regular file (%v)", rel, t)
		}
		if len(p.Files) >= MaxFiles {
			return fmt.Errorf("more than %d files", MaxFiles)
		}
		p.index[key] = rel
		p.Files = append(p.Files, rel)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("driver package %s refused: %w", dir, err)
	}
	slices.Sort(p.Files)
	return p, nil
}

var reserved = map[string]bool{"con": true, "prn": true, "aux": true, "nul": true,
	"com1": true, "com2": true, "com3": true, "com4": true, "com5": true, "com6": true, "com7": true, "com8": true, "com9": true,
	"lpt1": true, "lpt2": true, "lpt3": true, "lpt4": true, "lpt5": true, "lpt6": true, "lpt7": true, "lpt8": true, "lpt9": true}

// checkName reports why name cannot be a file name in a Windows image.
func checkName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return errors.New("invalid name")
	case strings.ContainsAny(name, `\/:*?"<>|`):
		return errors.New(`name contains one of \ / : * ? " < > |`)
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return errors.New("name contains control characters")
	case strings.HasSuffix(name, ".") || strings.HasSuffix(name, " "):
		return errors.New("name ends with a dot or space")
	}
	base, _, _ := strings.Cut(strings.ToLower(name), ".")
	if reserved[strings.TrimRight(base, " ")] {
		return errors.New("reserved device name")
	}
	return nil
}

// lookup finds a file in the package by a Windows-style relative path,
// case-insensitively. It reports an error for paths that leave the package.
func (p *Package) lookup(winPath string) (string, bool, error) {
	s := strings.ReplaceAll(winPath, `\`, "/")
	if strings.HasPrefix(s, "/") || (len(s) >= 2 && s[1] == ':') {
		return "", false, fmt.Errorf("path %q is absolute", winPath)
	}
	var elems []string
	for _, e := range strings.Split(s, "/") {
		switch e {
		case "", ".":
		case "..":
			return "", false, fmt.Errorf("path %q leaves the package folder", winPath)
		default:
			elems = append(elems, e)
		}
	}
	rel, ok := p.index[strings.ToLower(strings.Join(elems, "/"))]
	return rel, ok, nil
}

// CheckPackage opens the package in dir and checks every INF file in it.
// The error is non-nil when the folder is refused or cannot be read;
// problems in INF files are in the Result.
func CheckPackage(dir string) (*Result, error) {
	p, err := OpenPackage(dir)
	if err != nil {
		return nil, err
	}
	return p.Check()
}

// Check parses and checks every .inf file of the package.
func (p *Package) Check() (*Result, error) {
	res := &Result{}
	for _, rel := range p.Files {
		if !strings.EqualFold(path.Ext(rel), ".inf") {
			continue
		}
		res.INFs = append(res.INFs, rel)
		data, err := readLimited(filepath.Join(p.Dir, filepath.FromSlash(rel)))
		if err != nil {
			res.Problems = append(res.Problems, Problem{File: rel, Severity: Error, Msg: err.Error()})
			continue
		}
		f, err := Parse(rel, data)
		if err != nil {
			var se *SyntaxError
			if errors.As(err, &se) {
				res.Problems = append(res.Problems, Problem{File: rel, Line: se.Line, Severity: Error, Msg: se.Msg})
			} else {
				res.Problems = append(res.Problems, Problem{File: rel, Severity: Error, Msg: err.Error()})
			}
			continue
		}
		res.Problems = append(res.Problems, p.CheckFile(f, path.Dir(rel))...)
	}
	if len(res.INFs) == 0 {
		res.Problems = append(res.Problems, Problem{File: ".", Severity: Error, Msg: "no .inf file in the driver package"})
	}
	return res, nil
}

func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxSize {
		return nil, fmt.Errorf("file is %d bytes, larger than the %d accepted", st.Size(), MaxSize)
	}
	buf := make([]byte, st.Size())
	_, err = io.ReadFull(f, buf)
	return buf, err
}

var (
	guidRe    = regexp.MustCompile(`^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$`)
	dateRe    = regexp.MustCompile(`^(\d{1,2})/(\d{1,2})/(\d{4})$`)
	signature = []string{"$windows nt$", "$chicago$", "$windows 95$"}
)

// CheckFile checks one parsed INF file against the package; infDir is the
// INF's folder relative to the package root ("." for the root), against
// which the files it names are looked up.
func (p *Package) CheckFile(f *File, infDir string) []Problem {
	probs := slices.Clone(f.Problems)
	add := func(line int, sev Severity, format string, args ...any) {
		probs = append(probs, Problem{File: f.Name, Line: line, Severity: sev, Msg: fmt.Sprintf(format, args...)})
	}
	ver := f.Section("Version")
	if ver == nil {
		add(0, Error, "no [Version] section")
		return probs
	}
	get := func(key string) (Line, bool) { return ver.Get(key) }

	if l, ok := get("Signature"); !ok {
		add(ver.Line, Error, "[Version] has no Signature")
	} else if !slices.Contains(signature, strings.ToLower(l.Value(0))) {
		add(l.Num, Error, "Signature is %q, want $Windows NT$ or $Chicago$", l.Value(0))
	}

	class, hasClass := get("Class")
	guid, hasGUID := get("ClassGuid")
	switch {
	case !hasClass && !hasGUID:
		add(ver.Line, Error, "[Version] has neither Class nor ClassGuid")
	case !hasGUID:
		add(class.Num, Warning, "[Version] has Class but no ClassGuid")
	case !hasClass:
		add(guid.Num, Warning, "[Version] has ClassGuid but no Class")
	}
	if hasClass && class.Value(0) == "" {
		add(class.Num, Error, "Class is empty")
	}
	if hasGUID && !guidRe.MatchString(guid.Value(0)) {
		add(guid.Num, Error, "ClassGuid %q is not a {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx} GUID", guid.Value(0))
	}

	if l, ok := get("Provider"); !ok {
		add(ver.Line, Error, "[Version] has no Provider")
	} else if l.Value(0) == "" || strings.Contains(l.Value(0), "%") {
		add(l.Num, Error, "Provider %q is empty or not resolved", l.Value(0))
	}

	if l, ok := get("DriverVer"); !ok {
		add(ver.Line, Error, "[Version] has no DriverVer")
	} else {
		checkDriverVer(l, add)
	}

	p.checkCatalogs(f, ver, infDir, add)
	p.checkFiles(f, infDir, add)
	return probs
}

func checkDriverVer(l Line, add func(int, Severity, string, ...any)) {
	m := dateRe.FindStringSubmatch(l.Value(0))
	if m == nil {
		add(l.Num, Error, "DriverVer date %q is not mm/dd/yyyy", l.Value(0))
		return
	}
	mo, _ := strconv.Atoi(m[1])
	day, _ := strconv.Atoi(m[2])
	yr, _ := strconv.Atoi(m[3])
	if mo < 1 || mo > 12 || day < 1 || day > 31 || yr < 1980 {
		add(l.Num, Error, "DriverVer date %q is out of range", l.Value(0))
	}
	v := l.Value(1)
	if v == "" {
		add(l.Num, Warning, "DriverVer has no version number")
		return
	}
	parts := strings.Split(v, ".")
	if len(parts) > 4 {
		add(l.Num, Error, "DriverVer version %q has more than four parts", v)
		return
	}
	for _, s := range parts {
		if _, err := strconv.ParseUint(s, 10, 16); err != nil {
			add(l.Num, Error, "DriverVer version %q is not w.x.y.z with numbers 0-65535", v)
			return
		}
	}
}

func (p *Package) checkCatalogs(f *File, ver *Section, infDir string, add func(int, Severity, string, ...any)) {
	found := false
	for _, l := range ver.Lines {
		k := strings.ToLower(l.Key)
		if k != "catalogfile" && !strings.HasPrefix(k, "catalogfile.") {
			continue
		}
		found = true
		name := l.Value(0)
		if name == "" {
			add(l.Num, Error, "%s is empty", l.Key)
			continue
		}
		if strings.ContainsAny(name, `\/`) {
			add(l.Num, Error, "%s %q must be a plain file name", l.Key, name)
			continue
		}
		if _, ok, _ := p.lookup(path.Join(infDir, name)); !ok {
			add(l.Num, Error, "catalog file %q named by %s is not in the package", name, l.Key)
		}
	}
	if !found {
		add(ver.Line, Error, "[Version] has no CatalogFile (the package is unsigned)")
	}
}

// source is where a file listed in [SourceDisksFiles] lives, relative to
// the INF's folder (disk path and subdirectory joined, Windows style).
type source struct {
	rel  string
	line int
}

func (p *Package) checkFiles(f *File, infDir string, add func(int, Severity, string, ...any)) {
	disks := map[string]string{} // disk id -> path
	for _, s := range f.Sections {
		n := strings.ToLower(s.Name)
		if n != "sourcedisksnames" && !strings.HasPrefix(n, "sourcedisksnames.") {
			continue
		}
		for _, l := range s.Lines {
			disks[l.Key] = l.Value(3)
		}
	}
	sources := map[string]source{}
	for _, s := range f.Sections {
		n := strings.ToLower(s.Name)
		if n != "sourcedisksfiles" && !strings.HasPrefix(n, "sourcedisksfiles.") {
			continue
		}
		for _, l := range s.Lines {
			name := l.Key
			if name == "" {
				name = l.Value(0)
			}
			if name == "" {
				continue
			}
			if _, ok := disks[l.Value(0)]; !ok && len(disks) > 0 && l.Key != "" {
				add(l.Num, Warning, "disk id %q of %q is not listed in [SourceDisksNames]", l.Value(0), name)
			}
			var elems []string
			for _, e := range []string{disks[l.Value(0)], l.Value(1), name} {
				if e = strings.Trim(e, `\`); e != "" {
					elems = append(elems, e)
				}
			}
			rel := strings.Join(elems, `\`)
			sources[strings.ToLower(name)] = source{rel, l.Num}
			p.need(infDir, rel, name, l.Num, "[SourceDisksFiles]", add)
		}
	}
	// Files copied by CopyFiles directives.
	for _, s := range f.Sections {
		for _, l := range s.Lines {
			if !strings.EqualFold(l.Key, "CopyFiles") {
				continue
			}
			for _, v := range l.Values {
				switch {
				case v == "":
				case strings.HasPrefix(v, "@"):
					p.copied(infDir, strings.TrimSpace(v[1:]), l.Num, sources, add)
				default:
					cs := f.Section(v)
					if cs == nil {
						add(l.Num, Error, "CopyFiles section [%s] does not exist", v)
						continue
					}
					for _, cl := range cs.Lines {
						if cl.Key != "" { // "a=b" lines are not file entries
							continue
						}
						src := cl.Value(1)
						if src == "" {
							src = cl.Value(0)
						}
						p.copied(infDir, src, cl.Num, sources, add)
					}
				}
			}
		}
	}
}

func (p *Package) copied(infDir, name string, line int, sources map[string]source, add func(int, Severity, string, ...any)) {
	if name == "" {
		return
	}
	if _, ok := sources[strings.ToLower(name)]; ok {
		return // presence already checked for [SourceDisksFiles]
	}
	add(line, Warning, "%q is copied but not listed in [SourceDisksFiles]", name)
	p.need(infDir, name, name, line, "CopyFiles", add)
}

func (p *Package) need(infDir, rel, name string, line int, by string, add func(int, Severity, string, ...any)) {
	if strings.ContainsAny(name, `\/:`) {
		add(line, Error, "file name %q in %s is not a plain file name", name, by)
		return
	}
	if strings.Contains(rel, ":") {
		add(line, Error, "%s: path %q is not relative to the package", by, rel)
		return
	}
	_, ok, err := p.lookup(path.Join(infDir, strings.ReplaceAll(rel, `\`, "/")))
	switch {
	case err != nil:
		add(line, Error, "%s: %v", by, err)
	case !ok:
		add(line, Error, "file %q named in %s is not in the package", strings.Trim(rel, `\`), by)
	}
}
