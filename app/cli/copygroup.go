package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/wimconsole/wimconsole/app"
)

func init() {
	registerRemote(newCopyGroupCmd)
}

// copyGroupFlags are the flags of copy-image-group.
type copyGroupFlags struct {
	to, toToken, toFingerprint, as string
}

func newCopyGroupCmd(env *Env) *cobra.Command {
	var fl copyGroupFlags
	cmd := &cobra.Command{
		Use:   "copy-image-group GROUP --to URL --to-token T [--to-fingerprint F] [--as NAME]",
		Short: "Copy an image group to another server, sending only the data it lacks",
		Long: `Copy GROUP (of the local store, or of --server) to the server at --to, as
--as NAME (default: the same name). Only the file data the other server's
group lacks is sent (compared by SHA-1), in batches that it commits one by
one; then each image with its unattend, $OEM$ and language-pack data and its
state (enabled or disabled). Images the other server has already are
skipped, so running the command again after a broken connection resumes the
copy. The --to token must be an administrator's ($WIMCONSOLE_TO_TOKEN by
default). With --server, that server pushes the group itself.`,
		Args: exactArgs(1, "a group name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return copyGroup(env, cmd, fl, args[0])
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.to, "to", "", "address of the destination server (https://HOST:PORT) (required)")
	f.StringVar(&fl.toToken, "to-token", "", "administrator token of the destination server (default $WIMCONSOLE_TO_TOKEN)")
	f.StringVar(&fl.toFingerprint, "to-fingerprint", "", "SHA-256 fingerprint of the destination's certificate")
	f.StringVar(&fl.as, "as", "", "name of the group on the destination (default: the same)")
	cmd.MarkFlagRequired("to")
	return cmd
}

// copyGroup copies group g of the local store, or of the server of
// --server (which then pushes the group itself), to --to.
func copyGroup(env *Env, cmd *cobra.Command, fl copyGroupFlags, g string) error {
	tok := fl.toToken
	if tok == "" {
		tok = os.Getenv("WIMCONSOLE_TO_TOKEN")
	}
	if tok == "" {
		return usageErrorf("--to needs the destination's token: --to-token TOKEN or $WIMCONSOLE_TO_TOKEN")
	}
	dest := app.RemoteServer{URL: fl.to, Token: tok, Fingerprint: fl.toFingerprint}
	destURL, err := dest.CheckAddress()
	if err != nil {
		return &UsageError{err}
	}
	return onService(env, cmd, func(ctx context.Context, svc app.Service) error {
		c, ok := svc.(app.GroupCopier)
		if !ok {
			return fmt.Errorf("copy-image-group cannot copy from %s: it can copy only from a local store or a server", svc.Name())
		}
		report, done := progressLine(env)
		res, err := c.CopyGroupTo(ctx, g, dest, fl.as, report)
		done()
		if res != nil && err != nil && res.BlobsSent > 0 {
			fmt.Fprintf(env.Stderr, "%d blobs (%d bytes) were committed before the failure; run the command again to resume\n", res.BlobsSent, res.BytesSent)
		}
		if err != nil {
			return err
		}
		for _, r := range res.Images {
			fmt.Fprintf(env.Stdout, "copied %s\n", r)
		}
		for _, r := range res.Skipped {
			fmt.Fprintf(env.Stdout, "skipped %s (already there)\n", r)
		}
		fmt.Fprintf(env.Stdout, "copied image group %s to %s as %s: %d of %d blobs sent (%d bytes in %d batches)\n",
			g, destURL, res.Group, res.BlobsSent, res.Blobs, res.BytesSent, res.Batches)
		return nil
	})
}
