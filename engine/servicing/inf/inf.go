// Package inf parses Windows driver setup information (INF) files and
// checks driver packages before they are staged into an image.
//
// The parser follows the INF syntax Windows uses: [section] headers,
// key=value lines with comma-separated values, ';' comments, quoted
// strings (with "" for a quote), a trailing '\' joining the next line, and
// %strkey% tokens replaced from the [Strings] section (%% is a percent
// sign). Files may be UTF-16LE with a byte order mark, UTF-8, or ANSI
// (read as Windows-1252's Latin-1 subset).
package inf

import (
	"fmt"
	"strings"

	"github.com/wimconsole/wimconsole/engine/wintext"
)

// MaxSize is the largest INF file Parse accepts.
const MaxSize = 16 << 20

// File is a parsed INF file.
type File struct {
	Name     string     // file name used in messages
	Sections []*Section // in order of first appearance; repeated sections are merged
	Problems []Problem  // non-fatal parse findings (unknown %strkey%, ...)
}

// Section is one [name] section.
type Section struct {
	Name  string
	Line  int // line of the first header
	Lines []Line
}

// Line is one entry of a section. Key is empty for lines without '='.
// Values have quotes removed and %strkey% tokens substituted.
type Line struct {
	Num    int // 1-based line number where the entry starts
	Key    string
	Values []string
}

// Value returns the i'th value of the line, or "".
func (l Line) Value(i int) string {
	if i < len(l.Values) {
		return l.Values[i]
	}
	return ""
}

// Section returns the section named name (case-insensitively), or nil.
func (f *File) Section(name string) *Section {
	for _, s := range f.Sections {
		if strings.EqualFold(s.Name, name) {
			return s
		}
	}
	return nil
}

// Get returns the first line of s whose key is key (case-insensitively).
func (s *Section) Get(key string) (Line, bool) {
	if s == nil {
		return Line{}, false
	}
	for _, l := range s.Lines {
		if strings.EqualFold(l.Key, key) {
			return l, true
		}
	}
	return Line{}, false
}

// SyntaxError is a fatal error in an INF file.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Decode returns the text of an INF file: UTF-16LE or UTF-16BE with a byte
// order mark, UTF-8 with or without one, otherwise ANSI read as Latin-1
// (see wintext.Decode).
func Decode(data []byte) (string, error) {
	return wintext.Decode(data)
}

// rawLine is a logical line (continuations joined) split into fields
// that still carry their quoting, so substitution can follow.
type rawLine struct {
	num    int
	key    field
	hasKey bool
	values []field
}

type field struct {
	parts []part
}

type part struct {
	text   string
	quoted bool // quoted text is taken literally except for %strkey%
}

// Parse parses an INF file. name is used in messages.
func Parse(name string, data []byte) (*File, error) {
	if len(data) > MaxSize {
		return nil, &SyntaxError{name, 0, fmt.Sprintf("file is %d bytes, larger than the %d accepted", len(data), MaxSize)}
	}
	text, err := Decode(data)
	if err != nil {
		return nil, &SyntaxError{name, 0, err.Error()}
	}
	if strings.IndexByte(text, 0) >= 0 {
		return nil, &SyntaxError{name, 1 + strings.Count(text[:strings.IndexByte(text, 0)], "\n"), "NUL character in text (binary file?)"}
	}
	f := &File{Name: name}
	type rawSection struct {
		sec   *Section
		lines []rawLine
	}
	var order []*rawSection
	byName := map[string]*rawSection{}
	var cur *rawSection

	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		num := i + 1
		rl, cont, err := splitLine(lines[i])
		for cont && i+1 < len(lines) {
			i++
			var more rawLine
			more, cont, err = splitLine(lines[i])
			if err != nil {
				break
			}
			rl = joinLines(rl, more)
		}
		if err != nil {
			return nil, &SyntaxError{name, i + 1, err.Error()}
		}
		t := strings.TrimSpace(lines[num-1])
		if strings.HasPrefix(t, "[") {
			end := strings.IndexByte(t, ']')
			if end < 0 {
				return nil, &SyntaxError{name, num, "section header has no closing ]"}
			}
			sn := strings.TrimSpace(t[1:end])
			if sn == "" {
				return nil, &SyntaxError{name, num, "empty section name"}
			}
			if rest := strings.TrimSpace(t[end+1:]); rest != "" && !strings.HasPrefix(rest, ";") {
				return nil, &SyntaxError{name, num, fmt.Sprintf("text %q after section header", rest)}
			}
			k := strings.ToLower(sn)
			if cur = byName[k]; cur == nil {
				cur = &rawSection{sec: &Section{Name: sn, Line: num}}
				byName[k] = cur
				order = append(order, cur)
			}
			continue
		}
		if !rl.hasKey && len(rl.values) == 0 {
			continue // blank or comment
		}
		if cur == nil {
			return nil, &SyntaxError{name, num, "entry before the first [section]"}
		}
		rl.num = num
		cur.lines = append(cur.lines, rl)
	}

	// [Strings] first, so every other section can use it; localized
	// [Strings.xxxx] sections fill in keys [Strings] lacks.
	strs := map[string]string{}
	for _, rs := range order {
		n := strings.ToLower(rs.sec.Name)
		if n != "strings" && !strings.HasPrefix(n, "strings.") {
			continue
		}
		for _, rl := range rs.lines {
			k := strings.ToLower(literal(rl.key))
			if _, dup := strs[k]; dup && n != "strings" {
				continue
			}
			if len(rl.values) > 0 {
				strs[k] = strings.ReplaceAll(literal(rl.values[0]), "%%", "%")
			}
		}
	}
	for _, rs := range order {
		for _, rl := range rs.lines {
			l := Line{Num: rl.num}
			if rl.hasKey {
				l.Key = f.expand(rl.key, strs, rl.num)
			}
			for _, v := range rl.values {
				l.Values = append(l.Values, f.expand(v, strs, rl.num))
			}
			rs.sec.Lines = append(rs.sec.Lines, l)
		}
		f.Sections = append(f.Sections, rs.sec)
	}
	return f, nil
}

func literal(fl field) string {
	var b strings.Builder
	for _, p := range fl.parts {
		b.WriteString(p.text)
	}
	return strings.TrimSpace(b.String())
}

// expand substitutes %strkey% tokens; unknown keys stay as written and are
// reported as warnings.
func (f *File) expand(fl field, strs map[string]string, num int) string {
	var b strings.Builder
	for _, p := range fl.parts {
		s := p.text
		for {
			i := strings.IndexByte(s, '%')
			if i < 0 {
				b.WriteString(s)
				break
			}
			j := strings.IndexByte(s[i+1:], '%')
			if j < 0 {
				b.WriteString(s)
				break
			}
			b.WriteString(s[:i])
			key := s[i+1 : i+1+j]
			switch v, ok := strs[strings.ToLower(key)]; {
			case key == "":
				b.WriteByte('%')
			case ok:
				b.WriteString(v)
			default:
				b.WriteString(s[i : i+2+j])
				f.Problems = append(f.Problems, Problem{File: f.Name, Line: num, Severity: Warning,
					Msg: fmt.Sprintf("string key %%%s%% is not defined in [Strings]", key)})
			}
			s = s[i+2+j:]
		}
	}
	return strings.TrimSpace(b.String())
}

// splitLine splits one physical line into key and values, dropping a
// comment, and reports whether it ends with a continuation backslash.
func splitLine(s string) (rl rawLine, cont bool, err error) {
	var cur field
	var unq strings.Builder // unquoted run being collected
	flush := func() {
		if unq.Len() > 0 {
			cur.parts = append(cur.parts, part{text: unq.String()})
			unq.Reset()
		}
	}
	endField := func() {
		flush()
		rl.values = append(rl.values, cur)
		cur = field{}
	}
	seen := false // anything but blanks on the line
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ';':
			i = len(s)
			continue
		case c == '"':
			seen = true
			flush()
			var q strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return rl, false, fmt.Errorf("unterminated quoted string")
				}
				if s[j] == '"' {
					if j+1 < len(s) && s[j+1] == '"' {
						q.WriteByte('"')
						j += 2
						continue
					}
					break
				}
				q.WriteByte(s[j])
				j++
			}
			cur.parts = append(cur.parts, part{text: q.String(), quoted: true})
			i = j
		case c == '\\' && strings.TrimSpace(stripComment(s[i+1:])) == "":
			cont = true
			i = len(s)
		case c == '=' && !rl.hasKey:
			seen = true
			flush()
			rl.key, rl.hasKey = cur, true
			cur = field{}
		case c == ',':
			seen = true
			endField()
		default:
			if c != ' ' && c != '\t' {
				seen = true
			}
			unq.WriteByte(c)
		}
	}
	if seen {
		endField()
	}
	return rl, cont, nil
}

func stripComment(s string) string {
	if i := strings.IndexByte(s, ';'); i >= 0 {
		return s[:i]
	}
	return s
}

// joinLines appends a continuation line's fields to rl: the first field of
// more continues rl's last field.
func joinLines(rl, more rawLine) rawLine {
	if more.hasKey && !rl.hasKey {
		// "a \" + "= b": the text so far is the key.
		var key field
		for i, v := range rl.values {
			if i > 0 {
				key.parts = append(key.parts, part{text: ","})
			}
			key.parts = append(key.parts, v.parts...)
		}
		key.parts = append(key.parts, more.key.parts...)
		return rawLine{key: key, hasKey: true, values: more.values}
	}
	vals := more.values
	if more.hasKey {
		vals = append([]field{more.key}, vals...)
		vals[0].parts = append(vals[0].parts, part{text: "="})
	}
	if len(vals) == 0 {
		return rl
	}
	if n := len(rl.values); n > 0 {
		rl.values[n-1].parts = append(rl.values[n-1].parts, vals[0].parts...)
		rl.values = append(rl.values, vals[1:]...)
	} else {
		rl.values = vals
	}
	return rl
}
