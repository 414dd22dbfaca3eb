package xpress

import (
	"os"
	"path/filepath"
	"testing"
)

// corpusFiles are real files found on Debian systems: text, source, XML,
// machine code, locale data, already-compressed data. Missing ones are
// skipped.
var corpusFiles = []string{
	"/usr/share/common-licenses/GPL-3",
	"/usr/share/mime/packages/freedesktop.org.xml",
	"/usr/lib/python3.11/typing.py",
	"/usr/share/perl/5.36/CPAN.pm",
	"/usr/share/X11/xkb/symbols/us",
	"/usr/share/doc/bash/copyright",
	"/usr/lib/x86_64-linux-gnu/libc.so.6",
	"/usr/lib/x86_64-linux-gnu/libcrypto.so.3",
	"/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
	"/usr/bin/bash",
	"/usr/bin/perl",
	"/usr/lib/locale/C.utf8/LC_CTYPE",
	"/usr/lib/x86_64-linux-gnu/gconv/gconv-modules.cache",
	"/usr/share/locale/de/LC_MESSAGES/coreutils.mo",
	"/usr/share/misc/magic.mgc",
	"/usr/share/zoneinfo/Europe/Berlin",
	"/usr/share/i18n/charmaps/UTF-8.gz",
	"/usr/share/i18n/locales/en_US",
	"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
	"/usr/lib/python3.11/__pycache__/typing.cpython-311.pyc",
	"/usr/share/doc/valgrind/html/images/kcachegrind_xtree.png",
	"/usr/local/go/pkg/tool/linux_amd64/vet",
}

type corpusFile struct {
	name string
	data []byte
}

// loadCorpus reads up to maxPerFile bytes of each corpus file that exists,
// and any files matching the glob patterns (sorted, at most 4 per pattern).
func loadCorpus(tb testing.TB, maxPerFile int) []corpusFile {
	tb.Helper()
	names := append([]string(nil), corpusFiles...)
	for _, pat := range []string{"/usr/share/icons/hicolor/*/apps/*.png", "/usr/share/man/man1/*.gz", "/usr/bin/*"} {
		m, _ := filepath.Glob(pat)
		if len(m) > 4 {
			m = m[:4]
		}
		names = append(names, m...)
	}
	var out []corpusFile
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		buf := make([]byte, maxPerFile)
		n, _ := f.Read(buf)
		for n < maxPerFile {
			m, err := f.Read(buf[n:])
			if m == 0 || err != nil {
				break
			}
			n += m
		}
		f.Close()
		if n > 0 {
			out = append(out, corpusFile{name, buf[:n]})
		}
	}
	if len(out) == 0 {
		tb.Skip("no corpus files on this system")
	}
	return out
}

// chunks splits data into pieces of at most size bytes.
func chunks(data []byte, size int) [][]byte {
	var out [][]byte
	for len(data) > size {
		out = append(out, data[:size])
		data = data[size:]
	}
	if len(data) > 0 {
		out = append(out, data)
	}
	return out
}
