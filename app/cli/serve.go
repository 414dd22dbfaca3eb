package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/wimconsole/wimconsole/app"
)

func init() {
	register(newServeCmd)
}

// serveHooks let tests learn the address and stop the server.
var (
	serveListening func(url string)
	serveStop      <-chan struct{}
)

func newServeCmd(env *Env) *cobra.Command {
	var listen, certFile, keyFile string
	var insecure, quiet bool
	var maxPerAddr, maxConns int
	cmd := &cobra.Command{
		Use:   "serve [--listen ADDR] [--tls-cert F --tls-key F] [--insecure-loopback]",
		Short: "Serve the image store over the network (HTTPS API for remote consoles and clients)",
		Long: `Serve the store (--store, $WIMCONSOLE_STORE or the per-user store) over HTTPS:
the JSON API under /api/v1/ for every store action, uploads and downloads of
WIM files, install sessions for deployment clients, and an event stream of
changes for remote consoles.

Without --tls-cert and --tls-key, a self-signed certificate is generated the
first time and kept in WdsConsole/tls/ of the store; its SHA-256 fingerprint
is printed for clients to trust (--fingerprint). --insecure-loopback serves
plain HTTP, and only on a loopback address.

Every request needs a token: create them with 'wimconsole token create'.

A client must send a request's headers within 10 seconds, and keep its
uploads and downloads moving (a minute without data on an upload, two on a
download, ends them). One address may hold 32 connections at once and all
clients together 1024 (--max-conns-per-addr, --max-conns); more are closed.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (certFile == "") != (keyFile == "") {
				return usageErrorf("--tls-cert and --tls-key go together")
			}
			if insecure {
				if certFile != "" {
					return usageErrorf("--insecure-loopback excludes --tls-cert")
				}
				if !app.IsLoopback(listen) {
					return usageErrorf("--insecure-loopback: %s is not a loopback address (127.0.0.1, ::1)", listen)
				}
			}
			s, err := localServer(env)
			if err != nil {
				return err
			}
			o := app.ServeOptions{CertFile: certFile, KeyFile: keyFile, Insecure: insecure, MaxConnsPerAddr: maxPerAddr, MaxConns: maxConns}
			if !quiet {
				o.Logf = func(format string, args ...any) { fmt.Fprintf(env.Stderr, format+"\n", args...) }
			}
			srv, err := app.NewStoreServer(s, o)
			if err != nil {
				return err
			}
			defer srv.Close()
			l, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			url := srv.Scheme() + "://" + l.Addr().String()
			fmt.Fprintf(env.Stdout, "serving %s on %s\n", srv.Root(), url)
			if fp := srv.Fingerprint(); fp != "" {
				fmt.Fprintf(env.Stdout, "certificate fingerprint (SHA-256): %s\n", fp)
			}
			if !srv.HasTokens() {
				fmt.Fprintf(env.Stdout, "no tokens yet: create one with 'wimconsole token create --role admin'\n")
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if serveStop != nil {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
				go func() {
					select {
					case <-serveStop:
						cancel()
					case <-ctx.Done():
					}
				}()
			}
			if serveListening != nil {
				serveListening(url)
			}
			return srv.Serve(ctx, l)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:8742", "address to listen on (host:port)")
	f.StringVar(&certFile, "tls-cert", "", "PEM certificate (default: a generated self-signed one)")
	f.StringVar(&keyFile, "tls-key", "", "PEM private key of --tls-cert")
	f.BoolVar(&insecure, "insecure-loopback", false, "plain HTTP, on a loopback address only")
	f.BoolVar(&quiet, "quiet", false, "do not log failed requests")
	f.IntVar(&maxPerAddr, "max-conns-per-addr", app.DefaultMaxConnsPerAddr, "connections one client address may hold at once (-1: no bound)")
	f.IntVar(&maxConns, "max-conns", app.DefaultMaxConns, "connections of all clients together (-1: no bound)")
	return cmd
}
