// Package inftest writes small driver packages for tests: an INF file that
// passes inf.CheckPackage, the driver file it installs and its catalog, so
// that no real driver is ever needed.
package inftest

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/wimconsole/wimconsole/internal/testtree"
)

// Malformed is the text of an INF file that does not parse: its last
// section header is not closed.
const Malformed = "[Version]\r\nSignature=\"$Windows NT$\"\r\n[Strings\r\n"

// Files returns the files of a valid driver package called name: name.inf
// (a network class driver for amd64, signed by name.cat, copying name.sys),
// name.sys and name.cat. Names are slash-separated paths relative to the
// package folder.
func Files(name string) map[string]string {
	inf := strings.Join([]string{
		"; " + name + " test driver package (not a real driver)",
		"[Version]",
		`Signature   = "$Windows NT$"`,
		"Class       = Net",
		"ClassGuid   = {4d36e972-e325-11ce-bfc1-08002be10318}",
		"Provider    = %ProviderName%",
		"DriverVer   = 06/21/2024,1.0.0.0",
		"CatalogFile = " + name + ".cat",
		"",
		"[SourceDisksNames]",
		"1 = %DiskName%",
		"",
		"[SourceDisksFiles]",
		name + ".sys = 1",
		"",
		"[DestinationDirs]",
		"DefaultDestDir = 13",
		"",
		"[Manufacturer]",
		"%ProviderName% = Models, NTamd64",
		"",
		"[Models.NTamd64]",
		`%DeviceDesc% = Install, PCI\VEN_FFFF&DEV_0042`,
		"",
		"[Install.NT]",
		"CopyFiles = Install_Files",
		"",
		"[Install_Files]",
		name + ".sys",
		"",
		"[Strings]",
		`ProviderName = "Test Provider"`,
		`DiskName     = "Test Disk"`,
		`DeviceDesc   = "Test Ethernet"`,
		"",
	}, "\r\n")
	return map[string]string{
		name + ".inf": inf,
		name + ".sys": strings.Repeat("MZ test driver code\n", 200),
		name + ".cat": "0\x82 test catalog\n",
	}
}

// Write writes files (slash-separated path -> content) into a new folder
// named folder under a test temporary folder and returns its path.
func Write(t testing.TB, folder string, files map[string]string) string {
	t.Helper()
	return testtree.Write(t, filepath.Join(t.TempDir(), folder), files)
}
