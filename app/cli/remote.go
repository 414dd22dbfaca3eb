package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wimconsole/wimconsole/app"
)

// The store commands are written once, over app.Service: --server URL
// --token TOKEN only chooses the service (a RemoteService over that server
// instead of a LocalService over the store of --store). This file holds
// that choice, the global flags, the one check that refuses --server for
// the commands that work on local files only, and the explanations of the
// errors the user can fix.

// remoteAnnotation marks, in a command's Annotations, a command that works
// with --server too.
const remoteAnnotation = "remote"

// registerRemote adds a top-level command that works on a server too (see
// register).
func registerRemote(c constructor) {
	register(func(env *Env) *cobra.Command { return worksRemotely(c(env)) })
}

// worksRemotely marks cmd as working with --server.
func worksRemotely(cmd *cobra.Command) *cobra.Command {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[remoteAnnotation] = "yes"
	return cmd
}

// addServerFlags adds the global flags that choose a server.
func addServerFlags(env *Env, root *cobra.Command) {
	pf := root.PersistentFlags()
	pf.StringVar(&env.Server, "server", os.Getenv("WIMCONSOLE_SERVER"), "act on the store of this server (https://HOST:PORT) instead of a local store")
	pf.StringVar(&env.Token, "token", "", "access token for --server (default $WIMCONSOLE_TOKEN)")
	pf.StringVar(&env.Fingerprint, "fingerprint", os.Getenv("WIMCONSOLE_FINGERPRINT"), "SHA-256 fingerprint of the server's certificate, as 'serve' printed it")
}

// refuseServer makes every command and subcommand under root that is not
// marked by worksRemotely (reg get, service begin, info …) refuse --server:
// they work on local files only. It is root's PersistentPreRunE, which
// cobra runs for every command under it (none defines its own).
func refuseServer(env *Env, root *cobra.Command) {
	local := map[*cobra.Command]bool{}
	var walk func(cmd *cobra.Command)
	walk = func(cmd *cobra.Command) {
		for _, sub := range cmd.Commands() {
			local[sub] = sub.Annotations[remoteAnnotation] != "yes"
			walk(sub)
		}
	}
	walk(root)
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		if env.Server == "" || !local[cmd] {
			return nil
		}
		name := cmd.CommandPath()
		name = name[strings.IndexByte(name, ' ')+1:]
		return usageErrorf("%s works on local files only (not with --server)", name)
	}
}

// service returns the service the store commands act on: with --server a
// one-shot RemoteService (no watcher) over that server, else a
// LocalService over the store of --store, opened (and created when
// missing).
func (env *Env) service() (app.Service, error) {
	if env.Server == "" {
		s, err := localServer(env)
		if err != nil {
			return nil, err
		}
		return s.Service(), nil
	}
	tok := env.Token
	if tok == "" {
		tok = os.Getenv("WIMCONSOLE_TOKEN")
	}
	if tok == "" {
		return nil, usageErrorf("--server needs a token: --token TOKEN or $WIMCONSOLE_TOKEN")
	}
	return app.NewRemoteService(app.RemoteServer{Name: env.Server, URL: env.Server, Token: tok, Fingerprint: env.Fingerprint})
}

// onService is the start of every store command: it gets the service,
// runs fn with a context that Ctrl-C cancels, and explains the error.
func onService(env *Env, cmd *cobra.Command, fn func(ctx context.Context, svc app.Service) error) error {
	return runService(env, cmd, "IMAGE", fn)
}

// onServiceImage is onService for a command that acts on one image: ref
// is parsed first (a wrong one is a usage error).
func onServiceImage(env *Env, cmd *cobra.Command, ref string, fn func(ctx context.Context, svc app.Service, r app.ImageRef) error) error {
	r, err := imageRef(ref)
	if err != nil {
		return err
	}
	return runService(env, cmd, r.String(), func(ctx context.Context, svc app.Service) error { return fn(ctx, svc, r) })
}

// runService runs fn over env's service; image names the image in the
// explanations.
func runService(env *Env, cmd *cobra.Command, image string, fn func(ctx context.Context, svc app.Service) error) error {
	svc, err := env.service()
	if err != nil {
		return err
	}
	if c, ok := svc.(io.Closer); ok {
		// A one-shot remote service: its connections end with the command.
		defer c.Close()
	}
	ctx, stop := signalContext(cmd)
	defer stop()
	return env.explain(svc, image, fn(ctx, svc))
}

// explain adds what to do to errors the user can fix: the fingerprint of a
// server whose certificate is not trusted, and how to enable a disabled
// image.
func (env *Env) explain(svc app.Service, image string, err error) error {
	var ua x509.UnknownAuthorityError
	var cie x509.CertificateInvalidError
	var hie x509.HostnameError
	if svc.Remote() && (errors.As(err, &ua) || errors.As(err, &cie) || errors.As(err, &hie)) {
		ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		if fp, ferr := app.ProbeServer(ctx, env.Server); ferr == nil {
			return fmt.Errorf("%v: the server's certificate is not trusted; its fingerprint is %s: if 'wimconsole serve' printed the same, pass --fingerprint %s", err, fp, fp)
		}
	}
	if errors.Is(err, app.ErrImageDisabled) {
		who := "enable it with"
		if svc.Remote() {
			who = "an administrator can enable it with"
		}
		return fmt.Errorf("%v (%s: set-image %s --enabled yes)", err, who, image)
	}
	return err
}
