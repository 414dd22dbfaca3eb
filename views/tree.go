package views

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/resources"
)

// nodeRow is the content of one tree node: its icon and label. It takes the
// node's taps: a tap selects, a right-click selects and shows the node's
// context menu, a double-click opens Properties.
type nodeRow struct {
	widget.BaseWidget
	c     *Console
	id    string
	icon  *widget.Icon
	label *canvas.Text
	mark  *canvas.Rectangle // shown while files dropped on the node land (drop.go)
}

func newNodeRow(c *Console) *nodeRow {
	r := &nodeRow{c: c, icon: widget.NewIcon(resources.FolderIcon), label: canvas.NewText("template", theme.Color(theme.ColorNameForeground))}
	r.mark = canvas.NewRectangle(theme.Color(theme.ColorNameFocus))
	r.mark.Hide()
	r.ExtendBaseWidget(r)
	return r
}

func (r *nodeRow) CreateRenderer() fyne.WidgetRenderer {
	r.label.TextSize = theme.TextSize()
	icon := container.NewGridWrap(fyne.NewSquareSize(theme.IconInlineSize()), r.icon)
	return widget.NewSimpleRenderer(container.NewStack(r.mark, container.NewBorder(nil, nil, container.NewCenter(icon), nil,
		container.New(&padLeft{}, r.label))))
}

// padLeft lays out one object centred vertically, a little right.
type padLeft struct{}

func (*padLeft) MinSize(objs []fyne.CanvasObject) fyne.Size {
	m := objs[0].MinSize()
	return fyne.NewSize(m.Width+theme.Padding()*2, m.Height+theme.Padding()*2)
}

func (*padLeft) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	m := objs[0].MinSize()
	objs[0].Move(fyne.NewPos(theme.Padding()*2, (size.Height-m.Height)/2))
	objs[0].Resize(m)
}

// show points the row at node n.
func (r *nodeRow) show(n app.Node) {
	r.id = n.ID
	r.icon.SetResource(nodeIcon(n))
	r.label.Text = n.Label
	r.label.TextSize = theme.TextSize()
	if n.Disabled() {
		// Readable (see offlineTextColor); italics say it is offline.
		r.label.Color = theme.Color(offlineTextColor)
		r.label.TextStyle = fyne.TextStyle{Italic: true}
	} else {
		r.label.Color = theme.Color(theme.ColorNameForeground)
		r.label.TextStyle = fyne.TextStyle{}
	}
	r.label.Refresh()
	r.mark.Hidden = n.ID == "" || n.ID != r.c.drop.flash
	r.mark.Refresh()
	r.Refresh()
}

// Tapped selects the node and gives the tree the keyboard focus.
func (r *nodeRow) Tapped(*fyne.PointEvent) {
	if r.id != "" {
		r.c.details.clearSelection() // the actions act on the tree's selection again
		r.c.tree.Select(r.id)
		r.c.Window.Canvas().Focus(r.c.treeW)
	}
}

// TappedSecondary selects the node and shows its context menu.
func (r *nodeRow) TappedSecondary(ev *fyne.PointEvent) {
	if r.id == "" {
		return
	}
	r.c.details.clearSelection()
	r.c.tree.Select(r.id)
	r.c.showContextMenu(ev.AbsolutePosition)
}

// DoubleTapped selects the node and opens its Properties.
func (r *nodeRow) DoubleTapped(*fyne.PointEvent) {
	if r.id == "" {
		return
	}
	r.c.details.clearSelection()
	r.c.tree.Select(r.id)
	r.c.showProperties()
}

func nodeIcon(n app.Node) fyne.Resource {
	switch n.Kind {
	case app.KindServer:
		if n.Server != nil && n.Server.Offline() {
			return offlineServerIcon
		}
		return resources.ServerIcon
	case app.KindGroup, app.KindLibraryGroup:
		return resources.GroupIcon
	case app.KindImage:
		if n.Disabled() {
			return resources.ImageDisabledIcon
		}
		return resources.ImageIcon
	case app.KindBootImage:
		if n.Disabled() {
			return resources.BootImageDisabledIcon
		}
		return resources.BootImageIcon
	}
	return resources.FolderIcon
}

func (c *Console) newTree() *keyTree {
	t := &keyTree{c: c}
	t.ChildUIDs = c.model.Children
	t.IsBranch = c.model.IsBranch
	t.CreateNode = func(branch bool) fyne.CanvasObject {
		r := newNodeRow(c)
		c.rows = append(c.rows, r)
		return r
	}
	t.UpdateNode = func(id widget.TreeNodeID, branch bool, obj fyne.CanvasObject) {
		n, _ := c.model.Node(id)
		obj.(*nodeRow).show(n)
	}
	t.ExtendBaseWidget(t)
	t.OnSelected = func(id widget.TreeNodeID) {
		c.selected = id
		c.showDetails()
		c.updateMenu()
		c.updateStatus()
	}
	return t
}

// nodeAt returns the ID of the tree node shown at the absolute window
// position pos ("" when none). A row's indent and expander count as the
// row: the tree highlights the whole row under the pointer.
func (c *Console) nodeAt(pos fyne.Position) string {
	d := fyne.CurrentApp().Driver()
	left := d.AbsolutePositionForObject(c.treeW).X
	for _, r := range c.rows {
		if r.id == "" || !r.Visible() {
			continue
		}
		p := d.AbsolutePositionForObject(r)
		s := r.Size()
		if pos.X >= left && pos.X < p.X+s.Width && pos.Y >= p.Y && pos.Y < p.Y+s.Height {
			return r.id
		}
	}
	return ""
}
