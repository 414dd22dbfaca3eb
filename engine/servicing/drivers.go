package servicing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wimconsole/wimconsole/engine/servicing/inf"
	"github.com/wimconsole/wimconsole/engine/unattend"
	"github.com/wimconsole/wimconsole/engine/wim"
)

// StartnetPath is the WinPE start script a boot image runs at start.
const StartnetPath = "/Windows/System32/startnet.cmd"

// DriverOptions configure AddDriver.
type DriverOptions struct {
	// Name of the package folder in the image (default: the folder's base
	// name); the package goes to \Drivers\<Name>.
	Name string
	// Arch is the processorArchitecture of the unattend component
	// (default: from the image's XML data).
	Arch string
	// SetupPath is the path Windows Setup searches (default
	// C:\Drivers\<Name>).
	SetupPath string
}

// DriverResult says what AddDriver staged.
type DriverResult struct {
	ImagePath string        `json:"image_path"` // folder of the package in the image
	INFs      []string      `json:"infs"`
	Warnings  []inf.Problem `json:"warnings,omitempty"`
	// Install images: the path added to ImageUnattend.xml (empty when it
	// was listed already). Boot images: the lines added to startnet.cmd.
	SetupPath string   `json:"setup_path,omitempty"`
	Startnet  []string `json:"startnet,omitempty"`
}

// DriverError reports a driver package that failed its checks.
type DriverError struct {
	Dir      string
	Problems []inf.Problem
}

func (e *DriverError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "driver package %s failed its checks:", e.Dir)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// unattendArch maps a WIM XML architecture to the unattend name.
func unattendArch(w *wim.WIM) (string, error) {
	info := w.XML().Image(1)
	if info == nil || info.Windows == nil {
		return "", errors.New("the image does not record its architecture: name it (the Architecture of Add Driver Package, or --arch)")
	}
	switch info.Windows.Arch {
	case 0:
		return "x86", nil
	case 5:
		return "arm", nil
	case 6:
		return "ia64", nil
	case 9:
		return "amd64", nil
	case 12:
		return "arm64", nil
	}
	return "", fmt.Errorf("unknown image architecture %d: name it (the Architecture of Add Driver Package, or --arch)", info.Windows.Arch)
}

// AddDriver stages the driver package in folder: every INF file is
// checked (inf.CheckPackage), then the package is copied into the image at
// \Drivers\<name>. For an install image, the folder is added to the
// image's ImageUnattend.xml (created or merged) as a
// Microsoft-Windows-PnpCustomizationsNonWinPE DriverPaths entry of the
// offlineServicing pass: the driver is staged for Windows Setup, not
// injected. For a boot image, a drvload line for each INF is added to
// startnet.cmd so that WinPE loads it at start. A package that fails its
// checks stages nothing.
func (ss *Session) AddDriver(ctx context.Context, folder string, o DriverOptions) (*DriverResult, error) {
	check, err := inf.CheckPackage(folder)
	if err != nil {
		return nil, err
	}
	if !check.OK() {
		return nil, &DriverError{Dir: folder, Problems: check.Errors()}
	}
	if o.Name == "" {
		abs, err := filepath.Abs(folder)
		if err != nil {
			return nil, err
		}
		o.Name = filepath.Base(abs)
	}
	if err := CheckName(o.Name); err != nil {
		return nil, fmt.Errorf("driver package name: %w", err)
	}
	res := &DriverResult{ImagePath: "/Drivers/" + o.Name, INFs: check.INFs, Warnings: check.Warnings()}
	if ss.ref.Boot {
		return res, ss.addBootDriver(res, folder, o)
	}
	if o.SetupPath == "" {
		o.SetupPath = `C:\Drivers\` + o.Name
	}
	if o.Arch == "" {
		w, err := ss.openBase()
		if err != nil {
			return nil, err
		}
		o.Arch, err = unattendArch(w)
		w.Close()
		if err != nil {
			return nil, err
		}
	}
	doc, err := ss.UnattendData(ctx)
	if err != nil {
		return nil, err
	}
	if doc == nil {
		if doc, err = unattend.New(o.Arch); err != nil {
			return nil, err
		}
	}
	doc, added, err := unattend.AddDriverPath(doc, o.Arch, o.SetupPath, nil)
	if err != nil {
		return nil, fmt.Errorf("image %s ImageUnattend.xml: %w", ss.Image, err)
	}
	if err := ss.Add(folder, res.ImagePath); err != nil {
		return nil, err
	}
	if added {
		res.SetupPath = o.SetupPath
		if err := ss.SetUnattend(doc); err != nil {
			// Take the package back out: nothing half-staged.
			ss.Changes = ss.Changes[:len(ss.Changes)-1]
			ss.save()
			return nil, err
		}
	}
	return res, nil
}

// addBootDriver copies the package into a boot image and loads it from
// startnet.cmd.
func (ss *Session) addBootDriver(res *DriverResult, folder string, o DriverOptions) error {
	t, err := ss.build()
	if err != nil {
		return err
	}
	var script string
	exists := false
	if f := Find(t.img, StartnetPath); f != nil {
		tmp, err := ss.extract(t, StartnetPath)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(tmp)
		os.Remove(tmp)
		if err != nil {
			return err
		}
		if len(b) > 1<<20 {
			return fmt.Errorf("%s is %d bytes: not a start script", StartnetPath, len(b))
		}
		script, exists = string(b), true
	} else {
		script = "wpeinit\r\n"
	}
	if script != "" && !strings.HasSuffix(script, "\n") {
		script += "\r\n"
	}
	for _, in := range res.INFs {
		line := `drvload X:\Drivers\` + o.Name + `\` + strings.ReplaceAll(in, "/", `\`)
		if !strings.Contains(strings.ToLower(script), strings.ToLower(line)) {
			script += line + "\r\n"
			res.Startnet = append(res.Startnet, line)
		}
	}
	if err := ss.Add(folder, res.ImagePath); err != nil {
		return err
	}
	if len(res.Startnet) == 0 {
		return nil
	}
	if exists {
		err = ss.ReplaceData(StartnetPath, []byte(script))
	} else {
		err = ss.AddData(StartnetPath, []byte(script))
	}
	if err != nil {
		ss.Changes = ss.Changes[:len(ss.Changes)-1]
		ss.save()
	}
	return err
}
