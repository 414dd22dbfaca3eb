// Package posixlocale keeps the POSIX "C" locale (LANG=C, C.UTF-8, POSIX —
// the default of many servers and containers) from making Fyne log a locale
// parse error on every start, command-line runs included. Imported for its
// side effect by main; it must initialise before fyne.io/fyne/v2/lang, which
// it does because it imports nothing outside the standard library and sorts
// before golang.org/x/text, which that package waits for.
package posixlocale

import (
	"os"
	"strings"
)

func init() {
	if os.Getenv("LANGUAGE") != "" {
		return
	}
	loc := ""
	for _, env := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if loc = os.Getenv(env); loc != "" {
			break
		}
	}
	base, _, _ := strings.Cut(loc, ".")
	if base == "C" || base == "POSIX" {
		// LANGUAGE only chooses the language of messages; English is what
		// the C locale means.
		os.Setenv("LANGUAGE", "en")
	}
}
