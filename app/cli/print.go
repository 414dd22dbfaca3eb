package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/wimconsole/wimconsole/app"
)

// The printers and flag readers below are shared by the commands run on a local store and
// through a server (remote.go), so that both print the same.

// printGroups prints get-all-image-groups.
func printGroups(env *Env, gs []app.GroupInfo, asJSON bool) error {
	if asJSON {
		return printJSONList(env, gs)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tIMAGES\tRES.RWM BYTES\tCOMPRESSION")
	for _, g := range gs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", g.Name, g.Images, g.ResBytes, g.Compression)
	}
	return tw.Flush()
}

// checkImageType checks get-all-images' --type.
func checkImageType(t string) error {
	switch t {
	case "install", "boot", "all":
		return nil
	}
	return usageErrorf("--type %q: want install, boot or all", t)
}

// printImages prints get-all-images.
func printImages(env *Env, ims []app.Image, asJSON bool) error {
	if asJSON {
		return printJSONList(env, ims)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tNAME\tSTATUS\tARCH\tEXPANDED\tEXCLUSIVE\tSHARED\tSESSIONS")
	for _, im := range ims {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", im.Ref, im.Name, im.Status, im.Arch,
			im.ExpandedBytes, im.ExclusiveBytes, im.SharedBytes, im.Sessions)
	}
	return tw.Flush()
}

// printRegroup prints what regroup did.
func printRegroup(env *Env, res *app.RegroupResult) {
	fmt.Fprintf(env.Stdout, "regrouped %s: %d bytes before, %d after (%d reclaimed)\n",
		res.Group, res.BytesBefore, res.BytesAfter, res.BytesBefore-res.BytesAfter)
}

// printSpace prints space.
func printSpace(env *Env, out []*app.GroupSpace, asJSON bool) error {
	if asJSON {
		return printJSON(env, out)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	for _, gs := range out {
		fmt.Fprintf(tw, "%s\tRes.rwm %d\tlive %d\tdead %d\n", gs.Group, gs.ResBytes, gs.LiveBytes, gs.DeadBytes)
		for _, is := range gs.Images {
			fmt.Fprintf(tw, "  %s\t%s\texclusive %d\tshared %d\n", is.File, is.Name, is.ExclusiveBytes, is.SharedBytes)
		}
	}
	return tw.Flush()
}

// printVerifyStore prints the problems verify-store found, then the
// summary when it passed; it returns err.
func printVerifyStore(env *Env, res *app.VerifyResult, err error) error {
	if res != nil {
		for _, p := range res.Problems {
			fmt.Fprintln(env.Stdout, p)
		}
		for _, n := range res.Notes {
			fmt.Fprintf(env.Stdout, "%s: note: %s\n", n.Path, n.Msg)
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "verified %d image%s in %d group%s: OK\n", res.Images, plural(res.Images), res.Groups, plural(res.Groups))
	return nil
}

// parseOverwrite reads export-image's --overwrite.
func parseOverwrite(s string) (app.Overwrite, error) {
	switch s {
	case "no":
		return app.OverwriteNo, nil
	case "yes":
		return app.OverwriteYes, nil
	case "append":
		return app.OverwriteAppend, nil
	}
	return app.OverwriteNo, usageErrorf("--overwrite %q: want no, yes or append", s)
}
