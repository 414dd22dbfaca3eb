package app

import (
	"fmt"
	"strings"
)

// NodeStatus is the status bar's text for node id: what it holds, counted
// as an administrator counts ("Lab: 12 images, 2 offline, 4.1 GB": the
// group's images, how many are disabled, the size of its Res.rwm). An
// image reads as one of its group's ("Lab: 1 of 12 selected – Windows 11
// Pro, Offline"). An unknown id gives the servers and their stores.
func (m *Model) NodeStatus(id string) string {
	n, ok := m.Node(id)
	if !ok {
		return m.StatusText(id)
	}
	switch n.Kind {
	case KindServer:
		groups, images, offline, boot := 0, 0, 0, 0
		for _, g := range m.Children(InstallID(n.Server)) {
			groups++
			i, o, _ := m.imageCounts(g)
			images += i
			offline += o
		}
		for _, a := range m.Children(BootID(n.Server)) {
			b, _, _ := m.imageCounts(a)
			boot += b
		}
		return fmt.Sprintf("%s (%s): %s, %s%s, %s", n.Label, n.Server.Location(),
			count(groups, "image group"), count(images, "install image"), offlineText(offline),
			count(boot, "boot image"))
	case KindInstallImages:
		groups, images, offline := 0, 0, 0
		var res int64
		for _, g := range m.Children(id) {
			groups++
			i, o, _ := m.imageCounts(g)
			images += i
			offline += o
			res += m.groupRes(g)
		}
		return fmt.Sprintf("%s: %s, %s%s, %s", n.Label, count(groups, "image group"), count(images, "image"),
			offlineText(offline), FormatBytes(res))
	case KindBootImages:
		archs, images, offline := 0, 0, 0
		for _, a := range m.Children(id) {
			archs++
			i, o, _ := m.imageCounts(a)
			images += i
			offline += o
		}
		return fmt.Sprintf("%s: %s, %s%s", n.Label, count(archs, "architecture"), count(images, "image"), offlineText(offline))
	case KindGroup:
		images, offline, _ := m.imageCounts(id)
		return fmt.Sprintf("%s: %s%s, %s", n.Label, count(images, "image"), offlineText(offline), FormatBytes(m.groupRes(id)))
	case KindBootArch:
		images, offline, size := m.imageCounts(id)
		return fmt.Sprintf("%s: %s%s, %s", n.Label, count(images, "image"), offlineText(offline), FormatBytes(size))
	case KindLibraries, KindLibrary, KindLibraryGroup:
		return m.libraryStatus(n)
	case KindImage, KindBootImage:
		parent := id[:strings.LastIndex(id, "/")]
		p, _ := m.Node(parent)
		s := fmt.Sprintf("%s: 1 of %d selected – %s, %s", p.Label, len(m.Children(parent)), n.Label, statusText(n.Image))
		return s
	}
	return m.StatusText(id)
}

// SelectionStatus is the status bar's text when selected of the total
// rows listed for node id are selected ("Lab: 3 of 12 selected"); with
// none selected it is NodeStatus.
func (m *Model) SelectionStatus(id string, selected, total int) string {
	n, ok := m.Node(id)
	if !ok || selected <= 0 {
		return m.NodeStatus(id)
	}
	return fmt.Sprintf("%s: %d of %d selected", n.Label, selected, total)
}

// imageCounts returns how many images the node id (a group or a boot
// architecture) holds, how many of them are disabled, and their image
// files' bytes.
func (m *Model) imageCounts(id string) (images, offline int, bytes int64) {
	for _, c := range m.Children(id) {
		n, ok := m.Node(c)
		if !ok || n.Image == nil {
			continue
		}
		images++
		if !n.Image.Enabled {
			offline++
		}
		bytes += n.Image.FileBytes
	}
	return images, offline, bytes
}

// groupRes returns the size of the Res.rwm of the group node id.
func (m *Model) groupRes(id string) int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.groups[id].info.ResBytes
}

// count says "1 image" or "12 images".
func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// offlineText says how many are offline, after a count ("" when none).
func offlineText(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(", %d offline", n)
}
