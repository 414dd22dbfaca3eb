package wim

import (
	"fmt"
	"strings"
)

// checkLocalName refuses what Win32 refuses in a file name, and the
// characters it gives a meaning to: '\' separates folders and ':' names a
// drive or an alternate data stream.
func checkLocalName(name string) error {
	if i := strings.IndexAny(name, `\:*?"<>|`); i >= 0 {
		return fmt.Errorf("name %q contains %q, which Windows does not allow in a file name", name, name[i])
	}
	for _, r := range name {
		if r < 0x20 {
			return fmt.Errorf("name %q contains a control character", name)
		}
	}
	return nil
}
