package views

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/wimconsole/wimconsole/app"
	"github.com/wimconsole/wimconsole/resources"
)

// probeTimeout bounds the probe of a new server's certificate and the first
// connection to it.
const probeTimeout = 15 * time.Second

// LoadServers reads the user's server list at path (kept there again on
// every Add Server and Remove Server), adds each server to the tree and
// follows its event stream. Servers that cannot be reached show as offline
// and come back by themselves. It returns at once; an unreadable list is
// returned as an error.
func (c *Console) LoadServers(path string) error {
	c.serverList = path
	list, err := app.LoadServerList(path)
	if err != nil {
		return err
	}
	for _, cfg := range list {
		c.background(func() func() {
			s, err := app.NewRemoteServer(cfg)
			if err == nil {
				err = c.model.AddServer(s)
			}
			if err == nil {
				c.watchServer(s)
			}
			return func() {
				if err != nil {
					c.status.SetText(fmt.Sprintf("Server %s: %v", cfg.URL, err))
				}
				c.redraw()
			}
		})
	}
	return nil
}

// StopServers stops following the event streams of the remote servers.
func (c *Console) StopServers() {
	c.watchMu.Lock()
	stops := c.watches
	c.watches = nil
	c.watchMu.Unlock()
	for _, stop := range stops {
		stop()
	}
}

// watchServer follows remote server s's event stream: a change on the
// server, or in the connection, reloads the tree.
func (c *Console) watchServer(s *app.Server) {
	stop, err := c.model.WatchServer(s, func(err error) {
		c.do(func() {
			c.redraw()
			if err != nil {
				c.showStatusError(err)
			}
		})
	})
	if err != nil {
		return
	}
	c.watchMu.Lock()
	if c.watches == nil {
		c.watches = map[*app.Server]func(){}
	}
	c.watches[s] = stop
	c.watchMu.Unlock()
}

// unwatchServer stops following s's event stream.
func (c *Console) unwatchServer(s *app.Server) {
	c.watchMu.Lock()
	stop := c.watches[s]
	delete(c.watches, s)
	c.watchMu.Unlock()
	if stop != nil {
		stop()
	}
}

// saveServers keeps the remote servers in the user's server list.
func (c *Console) saveServers() error {
	if c.serverList == "" {
		return nil
	}
	return app.SaveServerList(c.serverList, c.model.RemoteServers())
}

// addServerDialog is "Add Server…": the address and token, then the
// certificate's fingerprint to trust. Tests fill it in and call its steps.
type addServerDialog struct {
	c       *Console
	address *widget.Entry
	token   *widget.Entry
	form    dialog.Dialog
	// fingerprint is the probed certificate's, shown to trust (set by
	// probe).
	fingerprint string
}

// addServer opens "Add Server…".
func (c *Console) addServer() {
	d := &addServerDialog{c: c, address: widget.NewEntry(), token: widget.NewPasswordEntry()}
	d.address.SetPlaceHolder("https://server:8443")
	d.token.SetPlaceHolder("token from `wimconsole token create`")
	d.form = dialog.NewForm("Add Server", "Connect", "Cancel", []*widget.FormItem{
		widget.NewFormItem("Address", d.address),
		widget.NewFormItem("Token", d.token),
	}, func(ok bool) {
		if ok {
			d.probe()
		}
	}, c.Window)
	d.form.Resize(fyne.NewSize(520, 0))
	d.form.Show()
	c.current = d
}

// config is what the dialog's entries describe.
func (d *addServerDialog) config() (app.RemoteServer, error) {
	addr := strings.TrimRight(strings.TrimSpace(d.address.Text), "/")
	if addr == "" {
		return app.RemoteServer{}, errors.New("no server address given")
	}
	if !strings.Contains(addr, "://") {
		addr = "https://" + addr
	}
	if !strings.HasPrefix(addr, "https://") {
		return app.RemoteServer{}, fmt.Errorf("server address %q: the console talks to servers over https only", addr)
	}
	tok := strings.TrimSpace(d.token.Text)
	if tok == "" {
		return app.RemoteServer{}, errors.New("no token given (create one on the server with `wimconsole token create`)")
	}
	return app.RemoteServer{URL: addr, Token: tok, Fingerprint: d.fingerprint}, nil
}

// probe fetches the server's certificate and asks the user to trust its
// fingerprint.
func (d *addServerDialog) probe() {
	c := d.c
	d.form.Hide()
	cfg, err := d.config()
	if err != nil {
		c.showError("Add Server", err)
		return
	}
	c.background(func() func() {
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		defer cancel()
		fp, err := app.ProbeServer(ctx, cfg.URL)
		return func() {
			if err != nil {
				c.showError("Add Server "+cfg.URL, err)
				return
			}
			d.fingerprint = fp
			msg := widget.NewLabel(fmt.Sprintf("The server at %s presents a certificate with the SHA-256 fingerprint\n\n%s\n\n"+
				"Compare it with the one `wimconsole serve` printed on the server. Trust it?", cfg.URL, fp))
			msg.Wrapping = fyne.TextWrapBreak
			c.ask("Trust Server Certificate", "Trust", msg, fyne.NewSize(560, 0), d.trust)
		}
	})
}

// trust connects to the server with the trusted fingerprint, adds it to the
// tree and keeps it in the user's server list.
func (d *addServerDialog) trust() {
	c := d.c
	cfg, err := d.config()
	if err == nil && cfg.Fingerprint == "" {
		err = errors.New("the server's certificate was not probed")
	}
	if err != nil {
		c.showError("Add Server", err)
		return
	}
	c.background(func() func() {
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		defer cancel()
		s, err := app.ConnectServer(ctx, cfg)
		if err == nil {
			err = c.model.AddServer(s)
		}
		if err == nil {
			c.watchServer(s)
		}
		return func() {
			if err != nil {
				c.showError("Add Server "+cfg.URL, err)
				return
			}
			if serr := c.saveServers(); serr != nil {
				c.showError("Saving the server list", serr)
			}
			c.redraw()
			c.Select(app.InstallID(s))
		}
	})
}

// removeServer takes the selected remote server out of the console and the
// user's server list (the server itself is untouched).
func (c *Console) removeServer() {
	n, ok := c.selectedNode()
	if !ok || !n.Server.IsRemote() {
		return
	}
	s := n.Server
	c.confirm("Remove Server", fmt.Sprintf("Remove the server %s (%s) from the console?\n\nIts store is not changed.",
		s.Name, s.Location()), "Remove", func() {
		c.background(func() func() {
			c.unwatchServer(s)
			c.model.RemoveServer(s)
			return func() {
				if err := c.saveServers(); err != nil {
					c.showError("Saving the server list", err)
				}
				c.redraw()
			}
		})
	})
}

// offlineServerIcon marks a remote server that cannot be reached.
var offlineServerIcon = theme.NewDisabledResource(resources.ServerIcon)
