package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/wimconsole/wimconsole/engine/remote"
	"github.com/wimconsole/wimconsole/engine/store"
)

// The store commands act on a server with --server URL --token TOKEN: this
// file adds the global flags and, for each store command, the remote
// version its RunE dispatches to. The local commands in store.go are
// unchanged.

func init() {
	rootHooks = append(rootHooks, wireRemote)
}

// remoteRun is the remote version of a store command: it reads the same
// flags as the local one.
type remoteRun func(env *Env, c *remote.Client, cmd *cobra.Command, args []string) error

var remoteCommands = map[string]remoteRun{
	"add-image-group":      remoteAddGroup,
	"remove-image-group":   remoteRemoveGroup,
	"set-image-group":      remoteRenameGroup,
	"get-all-image-groups": remoteListGroups,
	"add-image":            remoteAddImage,
	"get-all-images":       remoteListImages,
	"get-image":            remoteGetImage,
	"set-image":            remoteSetImage,
	"export-image":         remoteExportImage,
	"replace-image":        remoteReplaceImage,
	"copy-image":           remoteCopyImage,
	"remove-image":         remoteRemoveImage,
	"regroup":              remoteRegroup,
	"space":                remoteSpace,
	"verify-store":         remoteVerify,
	"install-image":        remoteInstall,
}

func wireRemote(env *Env, root *cobra.Command) {
	pf := root.PersistentFlags()
	pf.StringVar(&env.Server, "server", os.Getenv("WIMCONSOLE_SERVER"), "act on the store of this server (https://HOST:PORT) instead of a local store")
	pf.StringVar(&env.Token, "token", "", "access token for --server (default $WIMCONSOLE_TOKEN)")
	pf.StringVar(&env.Fingerprint, "fingerprint", os.Getenv("WIMCONSOLE_FINGERPRINT"), "SHA-256 fingerprint of the server's certificate, as 'serve' printed it")
	for _, cmd := range root.Commands() {
		run, ok := remoteCommands[cmd.Name()]
		local := cmd.RunE
		if !ok {
			localOnly(env, cmd)
			continue
		}
		cmd.RunE = func(cmd *cobra.Command, args []string) error {
			if env.Server == "" {
				return local(cmd, args)
			}
			c, err := remoteClient(env)
			if err != nil {
				return err
			}
			return explainRemote(env, run(env, c, cmd, args))
		}
	}
}

// localOnly makes cmd and its subcommands (reg get, service begin …) refuse
// --server: they work on local files only.
func localOnly(env *Env, cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		localOnly(env, sub)
	}
	local := cmd.RunE
	if local == nil {
		return
	}
	name := cmd.CommandPath()
	name = name[strings.IndexByte(name, ' ')+1:]
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if env.Server != "" {
			return usageErrorf("%s works on local files only (not with --server)", name)
		}
		return local(cmd, args)
	}
}

// remoteClient connects to --server.
func remoteClient(env *Env) (*remote.Client, error) {
	tok := env.Token
	if tok == "" {
		tok = os.Getenv("WIMCONSOLE_TOKEN")
	}
	if tok == "" {
		return nil, usageErrorf("--server needs a token: --token TOKEN or $WIMCONSOLE_TOKEN")
	}
	return remote.NewClient(env.Server, remote.ClientOptions{Token: tok, Fingerprint: env.Fingerprint})
}

// explainRemote adds what to do to errors the user can fix.
func explainRemote(env *Env, err error) error {
	var ua x509.UnknownAuthorityError
	var cie x509.CertificateInvalidError
	var hie x509.HostnameError
	if errors.As(err, &ua) || errors.As(err, &cie) || errors.As(err, &hie) {
		ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		if fp, ferr := remote.FetchFingerprint(ctx, env.Server); ferr == nil {
			return fmt.Errorf("%v: the server's certificate is not trusted; its fingerprint is %s: if 'wimconsole serve' printed the same, pass --fingerprint %s", err, fp, fp)
		}
	}
	if errors.Is(err, store.ErrImageDisabled) {
		return fmt.Errorf("%v (an administrator can enable it with: set-image IMAGE --enabled yes)", err)
	}
	return err
}

func remoteAddGroup(env *Env, c *remote.Client, cmd *cobra.Command, args []string) error {
	ctx, stop := signalContext(cmd)
	defer stop()
	if err := c.AddGroup(ctx, args[0]); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "created image group %s\n", args[0])
	return nil
}

func remoteRemoveGroup(env *Env, c *remote.Client, cmd *cobra.Command, args []string) error {
	force, _ := cmd.Flags().GetBool("force")
	ctx, stop := signalContext(cmd)
	defer stop()
	if err := c.RemoveGroup(ctx, args[0], force); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "removed image group %s\n", args[0])
	return nil
}

func remoteRenameGroup(env *Env, c *remote.Client, cmd *cobra.Command, args []string) error {
	name, _ := cmd.Flags().GetString("name")
	ctx, stop := signalContext(cmd)
	defer stop()
	if err := c.RenameGroup(ctx, args[0], name); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "renamed image group %s to %s\n", args[0], name)
	return nil
}

func remoteListGroups(env *Env, c *remote.Client, cmd *cobra.Command, args []string) error {
	asJSON, _ := cmd.Flags().GetBool("json")
	ctx, stop := signalContext(cmd)
	defer stop()
	gs, err := c.GroupInfos(ctx)
	if err != nil {
		return err
	}
	return printGroups(env, gs, asJSON)
}

func remoteAddImage(env *Env, c *remote.Client, cmd *cobra.Command, args []string) error {
	f := cmd.Flags()
	var o store.AddOptions
	o.Group, _ = f.GetString("group")
	o.Name, _ = f.GetString("name")
	o.Description, _ = f.GetString("description")
	o.FileName, _ = f.GetString("filename")
	o.Unattend, _ = f.GetString("unattend")
	o.SkipVerify, _ = f.GetBool("skip-verify")
	o.Indexes, _ = f.GetIntSlice("index")
	typ, _ := f.GetString("type")
	switch typ {
	case "install":
	case "boot":
		o.Boot = true
		o.Arch, o.Group = o.Group, ""
	default:
		return usageErrorf("--type %q: want install or boot", typ)
	}
	for _, i := range o.Indexes {
		if i < 1 {
			return usageErrorf("--index %d: image indexes start at 1", i)
		}
	}
	ctx, stop := signalContext(cmd)
	defer stop()
	report, done := progressLine(env)
	o.Progress = report
	refs, err := c.AddImage(ctx, args[0], o)
	done()
	for _, r := range refs {
		fmt.Fprintf(env.Stdout, "added %s\n", r)
	}
	return err
}

func remoteListImages(env *Env, c *remote.Client, cmd *cobra.Command, args []string) error {
	f := cmd.Flags()
	var o store.ListOptions
	o.Group, _ = f.GetString("group")
	o.Type, _ = f.GetString("type")
	asJSON, _ := f.GetBool("json")
	if err := checkImageType(o.Type); err != nil {
		return err
	}
	ctx, stop := signalContext(cmd)
	defer stop()
	ims, err := c.ListImages(ctx, o)
	if err != nil {
		return err
	}
	return printImages(env, ims, asJSON)
}

func remoteGetImage(env *Env, c *remote.Client, cmd *cobra.Command, args []string) error {
	r, err := imageRef(args[0])
	if err != nil {
		return err
	}
	asJSON, _ := cmd.Flags().GetBool("json")
	ctx, stop := signalContext(cmd)
	defer stop()
	im, err := c.GetImage(ctx, r)
	if err != nil {
		return err
	}
	return printImage(env, im, asJSON)
}

func remoteSetImage(env *Env, c *remote.Client, cmd *cobra.Command, args []string) error {
	r, err := imageRef(args[0])
	if err != nil {
		return err
	}
	var o store.SetOptions
	fl := cmd.Flags()
	if fl.Changed("enabled") {
		v, _ := fl.GetString("enabled")
		b, err := parseYesNo("enabled", v)
		if err != nil {
			return err
		}
		o.Enabled = &b
	}
	str := func(name string) *string {
		if !fl.Changed(name) {
			return nil
		}
		v, _ := fl.GetString(name)
		return &v
	}
	o.Name, o.Description, o.Unattend = str("name"), str("description"), str("unattend")
	if fl.Changed("display-order") {
		v, _ := fl.GetInt("display-order")
		o.DisplayOrder = &v
	}
	if o == (store.SetOptions{}) {
		return usageErrorf("set-image: nothing to change")
	}
	ctx, stop := signalContext(cmd)
	defer stop()
	return c.SetImage(ctx, r, o)
}

func remoteExportImage(env *Env, c *remote.Client, cmd *cobra.Command, args []string) error {
	r, err := imageRef(args[0])
	if err != nil {
		return err
	}
	f := cmd.Flags()
	var o store.ExportOptions
	o.Name, _ = f.GetString("name")
	o.Description, _ = f.GetString("description")
	ow, _ := f.GetString("overwrite")
	if o.Overwrite, err = parseOverwrite(ow); err != nil {
		return err
	}
	ctx, stop := signalContext(cmd)
	defer stop()
	report, done := progressLine(env)
	o.Progress = report
	err = c.ExportImage(ctx, r, args[1], o)
	done()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "exported %s to %s\n", r, args[1])
	return nil
}

func remoteReplaceImage(env *Env, c *remote.Client, cmd *cobra.Command, args []string) error {
	r, err := imageRef(args[0])
	if err != nil {
		return err
	}
	f := cmd.Flags()
	var o store.ReplaceOptions
	o.SourceIndex, _ = f.GetInt("source-index")
	o.Name, _ = f.GetString("name")
	o.Description, _ = f.GetString("description")
	o.Wait, _ = f.GetDuration("wait")
	o.Force, _ = f.GetBool("force")
	if o.Force && f.Changed("wait") {
		return usageErrorf("--wait and --force exclude each other")
	}
	ctx, stop := signalContext(cmd)
	defer stop()
	report, done := progressLine(env)
	o.Progress = report
	err = c.ReplaceImage(ctx, r, args[1], o)
	done()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "replaced %s\n", r)
	return nil
}

func remoteCopyImage(env *Env, c *remote.Client, cmd *cobra.Command, args []string) error {
	r, err := imageRef(args[0])
	if err != nil {
		return err
	}
	f := cmd.Flags()
	var o store.CopyOptions
	o.FileName, _ = f.GetString("filename")
	o.Name, _ = f.GetString("name")
	o.Description, _ = f.GetString("description")
	ctx, stop := signalContext(cmd)
	defer stop()
	nr, err := c.CopyImage(ctx, r, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "copied %s to %s\n", r, nr)
	return nil
}

func remoteRemoveImage(env *Env, c *remote.Client, cmd *cobra.Command, args []string) error {
	r, err := imageRef(args[0])
	if err != nil {
		return err
	}
	ctx, stop := signalContext(cmd)
	defer stop()
	if err := c.RemoveImage(ctx, r); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "removed %s\n", r)
	return nil
}

func remoteRegroup(env *Env, c *remote.Client, cmd *cobra.Command, args []string) error {
	var o store.RegroupOptions
	o.Into, _ = cmd.Flags().GetString("into")
	o.Verify, _ = cmd.Flags().GetBool("verify")
	ctx, stop := signalContext(cmd)
	defer stop()
	report, done := progressLine(env)
	o.Progress = report
	res, err := c.Regroup(ctx, args[0], o)
	done()
	if err != nil {
		return err
	}
	printRegroup(env, res)
	return nil
}

func remoteSpace(env *Env, c *remote.Client, cmd *cobra.Command, args []string) error {
	asJSON, _ := cmd.Flags().GetBool("json")
	ctx, stop := signalContext(cmd)
	defer stop()
	groups := args
	if len(groups) == 0 {
		gs, err := c.GroupInfos(ctx)
		if err != nil {
			return err
		}
		for _, g := range gs {
			groups = append(groups, g.Name)
		}
	}
	out := []*store.GroupSpace{}
	for _, g := range groups {
		gs, err := c.Space(ctx, g)
		if err != nil {
			return err
		}
		out = append(out, gs)
	}
	return printSpace(env, out, asJSON)
}

func remoteVerify(env *Env, c *remote.Client, cmd *cobra.Command, args []string) error {
	g := ""
	if len(args) == 1 {
		g = args[0]
	}
	ctx, stop := signalContext(cmd)
	defer stop()
	report, done := progressLine(env)
	res, err := c.VerifyStore(ctx, g, report)
	done()
	return printVerifyStore(env, res, err)
}

func remoteInstall(env *Env, c *remote.Client, cmd *cobra.Command, args []string) error {
	r, err := imageRef(args[0])
	if err != nil {
		return err
	}
	client, _ := cmd.Flags().GetString("client")
	if client == "" {
		h, _ := os.Hostname()
		client = h + ":" + strconv.Itoa(os.Getpid())
	}
	ctx, stop := signalContext(cmd)
	defer stop()
	report, done := progressLine(env)
	err = c.InstallImage(ctx, r, args[1], client, report)
	done()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "installed %s to %s from %s\n", r, args[1], env.Server)
	return nil
}
