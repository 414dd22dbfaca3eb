package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/wimconsole/wimconsole/app"
)

func init() { register(newSplitCmd) }

func newSplitCmd(env *Env) *cobra.Command {
	var refs []string
	var size string
	var check bool
	cmd := &cobra.Command{
		Use:   "split FILE DEST.swm [--part-size SIZE]",
		Short: "Split a WIM file into parts (.swm) that fit a FAT32 USB stick",
		Long: `Split FILE into a set of parts: DEST.swm, DEST2.swm, DEST3.swm …, each at most
--part-size (default 3.8G, below FAT32's 4 GiB file limit), as DISM
/Split-Image does. Windows Setup installs from such a set in one folder
(sources\install.swm). A file larger than the part size goes whole into one
part, which is then larger. Part 1 holds every image's metadata.

The data is copied as it is stored, not compressed again. The parts are
written under temporary names and renamed into place only when all are
complete: an interrupted split leaves nothing behind. None of the parts may
exist yet.

Read the set with: apply DEST.swm 1 DIR --ref 'DEST*.swm'.

With --check every part gets an integrity table (verify checks it); a FILE
that has one gives its parts one without it, as wimlib-imagex split does.

A pipable WIM (wimlib's format, see capture --pipable) is split into
pipable parts, as wimlib-imagex split does: sent one after the other
through a pipe they apply in one pass (cat DEST.swm DEST2.swm … | apply -
1 DIR).

SIZE is a number of MiB (as DISM's /FileSize), or a number with a unit:
700M, 3.8G (units are binary: M is MiB).`,
		Args: exactArgs(2, "a WIM file and the first part's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := app.SplitOptions{PartSize: app.DefaultPartSize, Integrity: check}
			if cmd.Flags().Changed("part-size") {
				n, err := app.ParseSize(size)
				if err != nil {
					return usageErrorf("--part-size: %v", err)
				}
				o.PartSize = n
			}
			src, err := app.OpenWIM(args[0], refs)
			if err != nil {
				return err
			}
			defer src.Close()
			ctx, stop := signalContext(cmd)
			defer stop()
			report, done := progressLine(env)
			o.Progress = report
			names, err := app.SplitWIM(ctx, src, args[1], o)
			done()
			if err != nil {
				return err
			}
			for i, n := range names {
				var size int64
				if st, err := os.Stat(n); err == nil {
					size = st.Size()
				}
				fmt.Fprintf(env.Stdout, "%s: part %d of %d (%d bytes)\n", n, i+1, len(names), size)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&size, "part-size", "3.8G", "largest size of a part (MiB, or with a unit: 700M, 3.8G)")
	cmd.Flags().StringArrayVar(&refs, "ref", nil, refHelp)
	cmd.Flags().BoolVar(&check, "check", false, "write an integrity table in every part")
	return cmd
}
