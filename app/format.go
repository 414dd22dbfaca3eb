package app

import (
	"fmt"
	"time"
)

// FormatBytes formats n bytes for people, in binary units as the Windows
// shell does ("1.2 GB", "830 KB", "12 bytes").
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		if n == 1 {
			return "1 byte"
		}
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	v := float64(n) / float64(div)
	suffix := []string{"KB", "MB", "GB", "TB", "PB"}[exp]
	if v >= 100 {
		return fmt.Sprintf("%.0f %s", v, suffix)
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}

// FormatDate formats a date as the console shows dates (local time, to the
// minute; "" for none).
func FormatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format("2006-01-02 15:04")
}

// sizeKey is a sort key for a byte count.
func sizeKey(n int64) string { return fmt.Sprintf("%020d", n) }
