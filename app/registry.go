package app

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/wimconsole/wimconsole/engine/servicing"
	"github.com/wimconsole/wimconsole/engine/servicing/hive"
	"github.com/wimconsole/wimconsole/engine/store"
)

// The registry types views and the command line need are re-exported here
// on purpose, so that they reach the hives of an image through app only.
type (
	// HiveValue is a registry value as stored (see hive.Value).
	HiveValue = hive.Value
	// HiveInfo says where a hive is in an image and whether it is
	// read-only (see servicing.HiveInfo).
	HiveInfo = servicing.HiveInfo
)

// ErrKeyNotFound is returned (wrapped) for a key or value that does not
// exist in a hive.
var ErrKeyNotFound = hive.ErrNotFound

// RegistryHives are the hives of Windows\System32\config, in the order the
// registry editor offers them; a user's NTUSER.DAT is named by its image
// path.
var RegistryHives = []string{"SYSTEM", "SOFTWARE", "DEFAULT", "SAM", "SECURITY"}

// LookupHive says where the hive name is in an image: SYSTEM, SOFTWARE,
// DEFAULT, SAM, SECURITY or the image path of a user's NTUSER.DAT.
func LookupHive(name string) (HiveInfo, error) { return servicing.LookupHive(name) }

// JoinKeyPath joins the key path parent and the name (or relative path) of
// a key below it, as regedit writes them (`\`-separated).
func JoinKeyPath(parent, name string) string { return hive.JoinPath(parent, name) }

// HiveValueTypes are the names of the value types Set Value offers and
// ParseHiveValue reads (REG_SZ, REG_DWORD…), in the order reg.exe lists
// them.
func HiveValueTypes() []string {
	out := make([]string, len(hive.EditTypes))
	for i, t := range hive.EditTypes {
		out[i] = t.String()
	}
	return out
}

// The value types the registry editor's form treats specially: REG_SZ is
// its default and REG_MULTI_SZ takes one string a line.
var (
	HiveTypeSZ      = hive.SZ.String()
	HiveTypeMultiSZ = hive.MultiSZ.String()
)

// FormatHiveValue shows the data of v as regedit's Data column does.
func FormatHiveValue(v HiveValue) string { return hive.FormatValue(v) }

// HiveValueName names a value in messages and lists: (Default) for the
// key's default value.
func HiveValueName(name string) string {
	if name == "" {
		return "(Default)"
	}
	return name
}

// ParseHiveValue reads the value name of type typ (see HiveValueTypes) from
// the command line's data words: one word a string for REG_MULTI_SZ, hex
// bytes for REG_BINARY, 42 or 0x2a for numbers.
func ParseHiveValue(name, typ string, data []string) (HiveValue, error) {
	return hive.ParseValue(name, typ, data)
}

// ParseHiveValueText reads the value name of type typ from the text of the
// editor's Data field: for REG_MULTI_SZ one string a line, for the other
// types as ParseHiveValue reads one word.
func ParseHiveValueText(name, typ, text string) (HiveValue, error) {
	data := []string{text}
	if typ == HiveTypeMultiSZ {
		data = strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	}
	return hive.ParseValue(name, typ, data)
}

// HiveValueText returns v's data as the editor's Data field shows it for a
// change, the text ParseHiveValueText takes back ("" when the data does not
// decode); editable is false when v's type is not one of HiveValueTypes.
func HiveValueText(v HiveValue) (text string, editable bool) {
	if _, ok := hive.ParseType(v.Type.String()); !ok {
		return "", false
	}
	d, err := v.Decoded()
	if err != nil {
		return "", true
	}
	switch x := d.(type) {
	case string:
		return x, true
	case uint32, uint64:
		return fmt.Sprint(x), true
	case []string:
		return strings.Join(x, "\n"), true
	case []byte:
		return hex.EncodeToString(x), true
	}
	return "", true
}

// SortKeyPaths sorts key paths as regedit lists them: by path, without
// case.
func SortKeyPaths(paths []string) {
	sort.Slice(paths, func(i, j int) bool { return strings.ToLower(paths[i]) < strings.ToLower(paths[j]) })
}

// SortHiveValues sorts values as regedit lists them: the default value
// first, then by name without case.
func SortHiveValues(vs []HiveValue) {
	sort.SliceStable(vs, func(i, j int) bool { return strings.ToLower(vs[i].Name) < strings.ToLower(vs[j].Name) })
}

// errHiveClosed is returned by reads of a closed LoadedHive.
var errHiveClosed = errors.New("the hive was closed")

// LoadedHive is a hive of an image held open read-only, so that keys and
// values are read one by one (as the editor's branches open) from a hive
// extracted once. The hive is served by a goroutine of its own; Close
// releases it. Its methods may be called from any goroutine.
type LoadedHive struct {
	Name string   // the hive, as LookupHive takes it
	Info HiveInfo // where it is, whether it is read-only

	mu     sync.Mutex // held during a read, so that Close waits for it
	closed bool
	reqs   chan func(h hive.Hive)
	done   chan struct{} // closed when the goroutine has closed the hive
}

// OpenSessionHive loads the hive name (see LookupHive) of the image of
// session ss, with the session's staged changes.
func OpenSessionHive(ss *Session, name string) (*LoadedHive, error) {
	return loadHive(name, func(fn func(h hive.Hive) error) error {
		return ss.ReadHive(context.Background(), name, fn)
	})
}

// OpenHive loads the hive name (see LookupHive) of image r: with the staged
// changes of the image's servicing session when it has one, else as the
// image holds it.
func (s *Server) OpenHive(ctx context.Context, r store.ImageRef, name string) (*LoadedHive, error) {
	st, err := s.localStore()
	if err != nil {
		return nil, err
	}
	ss, err := servicing.ForImage(st, r)
	if errors.Is(err, servicing.ErrNoSession) {
		return loadHive(name, func(fn func(h hive.Hive) error) error {
			return servicing.ReadImageHive(ctx, st, r, name, fn)
		})
	}
	if err != nil {
		return nil, err
	}
	return OpenSessionHive(ss, name)
}

// loadHive starts the goroutine that holds the hive name open inside read,
// which opens it and calls fn with it.
func loadHive(name string, read func(fn func(h hive.Hive) error) error) (*LoadedHive, error) {
	hi, err := servicing.LookupHive(name)
	if err != nil {
		return nil, err
	}
	lh := &LoadedHive{Name: name, Info: hi, reqs: make(chan func(hive.Hive)), done: make(chan struct{})}
	opened := make(chan error, 1)
	go func() {
		defer close(lh.done)
		err := read(func(h hive.Hive) error {
			opened <- nil
			for fn := range lh.reqs {
				fn(h)
			}
			return nil
		})
		if err != nil {
			opened <- err // read failed before calling fn
		}
	}()
	if err := <-opened; err != nil {
		return nil, err
	}
	return lh, nil
}

// read calls fn with the hive, on the hive's goroutine, and returns its
// error.
func (lh *LoadedHive) read(fn func(h hive.Hive) error) error {
	lh.mu.Lock()
	defer lh.mu.Unlock()
	if lh.closed {
		return errHiveClosed
	}
	errc := make(chan error, 1)
	lh.reqs <- func(h hive.Hive) { errc <- fn(h) }
	return <-errc
}

// Close releases the hive once reads under way are done; later reads fail.
func (lh *LoadedHive) Close() {
	lh.mu.Lock()
	if !lh.closed {
		lh.closed = true
		close(lh.reqs)
	}
	lh.mu.Unlock()
	<-lh.done
}

// Lookup returns the path of the key at path (below the hive's root, ""
// for the root), an error wrapping ErrKeyNotFound when it does not exist.
func (lh *LoadedHive) Lookup(path string) (string, error) {
	var out string
	err := lh.read(func(h hive.Hive) error {
		k, err := h.Lookup(path)
		out = k.Path
		return err
	})
	return out, err
}

// Subkeys returns the paths of the subkeys of the key at path, in the
// hive's order (see SortKeyPaths for regedit's).
func (lh *LoadedHive) Subkeys(path string) ([]string, error) {
	var out []string
	err := lh.read(func(h hive.Hive) error {
		k, err := h.Lookup(path)
		if err != nil {
			return err
		}
		cs, err := h.Children(k)
		for _, c := range cs {
			out = append(out, c.Path)
		}
		return err
	})
	return out, err
}

// Values returns the values of the key at path, in the hive's order (see
// SortHiveValues for regedit's).
func (lh *LoadedHive) Values(path string) ([]HiveValue, error) {
	var out []HiveValue
	err := lh.read(func(h hive.Hive) error {
		k, err := h.Lookup(path)
		if err != nil {
			return err
		}
		out, err = h.Values(k)
		return err
	})
	return out, err
}

// Value returns the value named name ("" the default value) of the key at
// path.
func (lh *LoadedHive) Value(path, name string) (HiveValue, error) {
	var out HiveValue
	err := lh.read(func(h hive.Hive) error {
		k, err := h.Lookup(path)
		if err != nil {
			return err
		}
		out, err = h.Value(k, name)
		return err
	})
	return out, err
}

// The registry edits below stage a change to the hive name of the session
// ss's image (see servicing.Session.EditHive): the changed hive replaces the
// hive file in the session. An edit that fails stages nothing. SAM and
// SECURITY cannot be edited.

// AddRegistryKey creates the key at path and every missing key above it;
// an existing key is left as it is.
func AddRegistryKey(ctx context.Context, ss *Session, name, path string) error {
	return ss.EditHive(ctx, name, func(h hive.Hive) error {
		_, err := hive.AddKeys(h, path)
		return err
	})
}

// SetRegistryValue creates or replaces the value v of the key at path,
// creating the key and its parents when missing.
func SetRegistryValue(ctx context.Context, ss *Session, name, path string, v HiveValue) error {
	return ss.EditHive(ctx, name, func(h hive.Hive) error {
		k, err := hive.AddKeys(h, path)
		if err != nil {
			return err
		}
		return h.SetValue(k, v)
	})
}

// DeleteRegistryKey deletes the key at path with its subkeys and values.
func DeleteRegistryKey(ctx context.Context, ss *Session, name, path string) error {
	return ss.EditHive(ctx, name, func(h hive.Hive) error {
		k, err := h.Lookup(path)
		if err != nil {
			return err
		}
		return h.DeleteKey(k)
	})
}

// DeleteRegistryValue deletes the value named value ("" the default value)
// of the key at path.
func DeleteRegistryValue(ctx context.Context, ss *Session, name, path, value string) error {
	return ss.EditHive(ctx, name, func(h hive.Hive) error {
		k, err := h.Lookup(path)
		if err != nil {
			return err
		}
		return h.DeleteValue(k, value)
	})
}

// RegImport is what importing a .reg file did.
type RegImport struct {
	Applied int // operations applied to the hive
	Skipped int // operations skipped: for keys of other hives
}

// ImportRegFile applies the .reg file (regedit's export format, REGEDIT4 or
// version 5.00) to the hive name; operations on keys of other hives are
// skipped and counted. A file that does not parse stages nothing.
func ImportRegFile(ctx context.Context, ss *Session, name, file string) (RegImport, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return RegImport{}, err
	}
	res, err := ss.ImportReg(ctx, name, file, data)
	if err != nil {
		return RegImport{}, err
	}
	return RegImport{Applied: res.Applied, Skipped: len(res.Skipped)}, nil
}
