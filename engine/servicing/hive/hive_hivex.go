//go:build cgo && (linux || darwin || freebsd)

package hive

/*
#cgo pkg-config: hivex
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <hivex.h>

// Accessors so Go never does pointer arithmetic on C arrays.
static size_t hx_at(size_t *a, size_t i) { return a[i]; }
static hive_set_value *hx_values(size_t n) { return calloc(n ? n : 1, sizeof(hive_set_value)); }
static void hx_set(hive_set_value *a, size_t i, char *key, int t, size_t len, char *value) {
	a[i].key = key; a[i].t = (hive_type)t; a[i].len = len; a[i].value = value;
}
static void hx_free_values(hive_set_value *a, size_t n) {
	for (size_t i = 0; i < n; i++) { free(a[i].key); free(a[i].value); }
	free(a);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"unsafe"
)

// hivexHive implements Hive with libhivex.
type hivexHive struct {
	mu       sync.Mutex
	h        *C.hive_h
	name     string
	readOnly bool
	tmp      string // temporary copy made by OpenBytes, removed by Close
}

func open(path string, opt Options) (Hive, error) {
	return openFile(path, path, opt, "")
}

func openBytes(name string, data []byte, opt Options) (Hive, error) {
	f, err := os.CreateTemp("", "wimconsole-hive-*")
	if err != nil {
		return nil, &Error{Op: "open", File: name, Err: err}
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return nil, &Error{Op: "open", File: name, Err: err}
	}
	h, err := openFile(tmp, name, opt, tmp)
	if err != nil {
		os.Remove(tmp)
	}
	return h, err
}

func openFile(path, name string, opt Options, tmp string) (Hive, error) {
	if err := precheck(path); err != nil {
		return nil, &Error{Op: "open", File: name, Err: err}
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	// Never HIVEX_OPEN_UNSAFE: hivex must refuse a hive it cannot validate.
	var flags C.int
	if !opt.ReadOnly {
		flags |= C.HIVEX_OPEN_WRITE
	}
	h, err := C.hivex_open(cpath, flags)
	if h == nil {
		return nil, &Error{Op: "open", File: name, Err: openErr(err)}
	}
	return &hivexHive{h: h, name: name, readOnly: opt.ReadOnly, tmp: tmp}, nil
}

func precheck(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	hdr := make([]byte, 0x200)
	n, _ := io.ReadFull(f, hdr)
	return checkHeader(hdr[:n], st.Size())
}

// openErr turns hivex_open's errno into a readable error.
func openErr(err error) error {
	switch {
	case errors.Is(err, syscall.ENOTSUP), errors.Is(err, syscall.EINVAL), errors.Is(err, syscall.EFAULT):
		return fmt.Errorf("not a valid registry hive (%v)", err)
	case err == nil:
		return errors.New("hivex could not open the hive")
	}
	return err
}

func cerr(err error) error {
	if err == nil {
		return errors.New("hivex failed")
	}
	return err
}

var errClosed = errors.New("hive is closed")

func (x *hivexHive) fail(op, key string, err error) error {
	return &Error{Op: op, File: x.name, Key: key, Err: err}
}

func (x *hivexHive) Name() string { return x.name }

func (x *hivexHive) Root() Key {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.h == nil {
		return Key{}
	}
	return Key{ID: uint64(C.hivex_root(x.h))}
}

func (x *hivexHive) nodeName(n C.hive_node_h) (string, error) {
	s, err := C.hivex_node_name(x.h, n)
	if s == nil {
		return "", cerr(err)
	}
	defer C.free(unsafe.Pointer(s))
	return C.GoString(s), nil
}

func (x *hivexHive) Lookup(path string) (Key, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.h == nil {
		return Key{}, x.fail("lookup", path, errClosed)
	}
	n := C.hivex_root(x.h)
	if n == 0 {
		return Key{}, x.fail("lookup", path, errors.New("hive has no root key"))
	}
	var p string
	for _, e := range splitPath(path) {
		ce := C.CString(e)
		c, err := C.hivex_node_get_child(x.h, n, ce)
		C.free(unsafe.Pointer(ce))
		if c == 0 {
			if err != nil && !errors.Is(err, syscall.Errno(0)) {
				return Key{}, x.fail("lookup", JoinPath(p, e), err)
			}
			return Key{}, x.fail("lookup", JoinPath(p, e), ErrNotFound)
		}
		name, err := x.nodeName(c)
		if err != nil {
			return Key{}, x.fail("lookup", JoinPath(p, e), err)
		}
		n, p = c, JoinPath(p, name)
	}
	return Key{ID: uint64(n), Path: p}, nil
}

func (x *hivexHive) Children(k Key) ([]Key, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.h == nil {
		return nil, x.fail("list subkeys of", k.Path, errClosed)
	}
	arr, err := C.hivex_node_children(x.h, C.hive_node_h(k.ID))
	if arr == nil {
		return nil, x.fail("list subkeys of", k.Path, cerr(err))
	}
	defer C.free(unsafe.Pointer(arr))
	var out []Key
	for i := C.size_t(0); ; i++ {
		c := C.hx_at(arr, i)
		if c == 0 {
			break
		}
		name, err := x.nodeName(C.hive_node_h(c))
		if err != nil {
			return nil, x.fail("list subkeys of", k.Path, err)
		}
		out = append(out, Key{ID: uint64(c), Path: JoinPath(k.Path, name)})
	}
	return out, nil
}

func (x *hivexHive) values(k Key) ([]Value, error) {
	arr, err := C.hivex_node_values(x.h, C.hive_node_h(k.ID))
	if arr == nil {
		return nil, cerr(err)
	}
	defer C.free(unsafe.Pointer(arr))
	var out []Value
	for i := C.size_t(0); ; i++ {
		v := C.hive_value_h(C.hx_at(arr, i))
		if v == 0 {
			break
		}
		ck, err := C.hivex_value_key(x.h, v)
		if ck == nil {
			return nil, cerr(err)
		}
		name := C.GoString(ck)
		C.free(unsafe.Pointer(ck))
		var t C.hive_type
		var n C.size_t
		data, err := C.hivex_value_value(x.h, v, &t, &n)
		if data == nil {
			return nil, fmt.Errorf("value %q: %w", name, cerr(err))
		}
		b := C.GoBytes(unsafe.Pointer(data), C.int(n))
		C.free(unsafe.Pointer(data))
		out = append(out, Value{Name: name, Type: Type(t), Data: b})
	}
	return out, nil
}

func (x *hivexHive) Values(k Key) ([]Value, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.h == nil {
		return nil, x.fail("list values of", k.Path, errClosed)
	}
	vs, err := x.values(k)
	if err != nil {
		return nil, x.fail("list values of", k.Path, err)
	}
	return vs, nil
}

func (x *hivexHive) Value(k Key, name string) (Value, error) {
	vs, err := x.Values(k)
	if err != nil {
		return Value{}, err
	}
	for _, v := range vs {
		if strings.EqualFold(v.Name, name) {
			return v, nil
		}
	}
	return Value{}, x.fail(fmt.Sprintf("get value %q of", name), k.Path, ErrNotFound)
}

func (x *hivexHive) writable(op string, k Key) error {
	if x.h == nil {
		return x.fail(op, k.Path, errClosed)
	}
	if x.readOnly {
		return x.fail(op, k.Path, ErrReadOnly)
	}
	return nil
}

func (x *hivexHive) AddKey(parent Key, name string) (Key, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	path := JoinPath(parent.Path, name)
	if err := x.writable("add key", Key{Path: path}); err != nil {
		return Key{}, err
	}
	if name == "" || strings.Contains(name, `\`) || len(name) > 255 {
		return Key{}, x.fail("add key", path, errors.New("invalid key name"))
	}
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	if c, _ := C.hivex_node_get_child(x.h, C.hive_node_h(parent.ID), cn); c != 0 {
		real, err := x.nodeName(c)
		if err != nil {
			return Key{}, x.fail("add key", path, err)
		}
		return Key{ID: uint64(c), Path: JoinPath(parent.Path, real)}, nil
	}
	c, err := C.hivex_node_add_child(x.h, C.hive_node_h(parent.ID), cn)
	if c == 0 {
		return Key{}, x.fail("add key", path, cerr(err))
	}
	return Key{ID: uint64(c), Path: path}, nil
}

func (x *hivexHive) DeleteKey(k Key) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.writable("delete key", k); err != nil {
		return err
	}
	if C.hive_node_h(k.ID) == C.hivex_root(x.h) {
		return x.fail("delete key", k.Path, errors.New("the root key cannot be deleted"))
	}
	if r, err := C.hivex_node_delete_child(x.h, C.hive_node_h(k.ID)); r != 0 {
		return x.fail("delete key", k.Path, cerr(err))
	}
	return nil
}

// maxValueData bounds value data (the registry's own limit is about 1 MiB
// for most values; hivex supports larger through big data blocks).
const maxValueData = 64 << 20

func (x *hivexHive) SetValue(k Key, v Value) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	op := fmt.Sprintf("set value %q of", v.Name)
	if err := x.writable(op, k); err != nil {
		return err
	}
	if len(v.Data) > maxValueData {
		return x.fail(op, k.Path, fmt.Errorf("value data is %d bytes, more than %d", len(v.Data), maxValueData))
	}
	if len(v.Name) > 16383 {
		return x.fail(op, k.Path, errors.New("value name too long"))
	}
	// Keep the case of an existing value's name, as Windows does.
	vs, err := x.values(k)
	if err != nil {
		return x.fail(op, k.Path, err)
	}
	for _, old := range vs {
		if strings.EqualFold(old.Name, v.Name) {
			v.Name = old.Name
			break
		}
	}
	arr := C.hx_values(1)
	C.hx_set(arr, 0, C.CString(v.Name), C.int(v.Type), C.size_t(len(v.Data)), (*C.char)(C.CBytes(v.Data)))
	defer C.hx_free_values(arr, 1)
	if r, err := C.hivex_node_set_value(x.h, C.hive_node_h(k.ID), arr, 0); r != 0 {
		return x.fail(op, k.Path, cerr(err))
	}
	return nil
}

func (x *hivexHive) DeleteValue(k Key, name string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	op := fmt.Sprintf("delete value %q of", name)
	if err := x.writable(op, k); err != nil {
		return err
	}
	vs, err := x.values(k)
	if err != nil {
		return x.fail(op, k.Path, err)
	}
	keep := vs[:0:0]
	for _, v := range vs {
		if !strings.EqualFold(v.Name, name) {
			keep = append(keep, v)
		}
	}
	if len(keep) == len(vs) {
		return x.fail(op, k.Path, ErrNotFound)
	}
	n := C.size_t(len(keep))
	arr := C.hx_values(n)
	defer C.hx_free_values(arr, n)
	for i, v := range keep {
		C.hx_set(arr, C.size_t(i), C.CString(v.Name), C.int(v.Type), C.size_t(len(v.Data)), (*C.char)(C.CBytes(v.Data)))
	}
	if r, err := C.hivex_node_set_values(x.h, C.hive_node_h(k.ID), n, arr, 0); r != 0 {
		return x.fail(op, k.Path, cerr(err))
	}
	return nil
}

func (x *hivexHive) Commit(path string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.writable("commit to "+path, Key{}); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".hive-commit-*")
	if err != nil {
		return x.fail("commit", "", err)
	}
	tname := tmp.Name()
	tmp.Close()
	ct := C.CString(tname)
	defer C.free(unsafe.Pointer(ct))
	if r, err := C.hivex_commit(x.h, ct, 0); r != 0 {
		os.Remove(tname)
		return x.fail("commit to "+path, "", cerr(err))
	}
	if err := syncFile(tname); err != nil {
		os.Remove(tname)
		return x.fail("commit to "+path, "", err)
	}
	if err := os.Rename(tname, path); err != nil {
		os.Remove(tname)
		return x.fail("commit to "+path, "", err)
	}
	return nil
}

func syncFile(name string) error {
	f, err := os.OpenFile(name, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (x *hivexHive) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.h == nil {
		return nil
	}
	r, err := C.hivex_close(x.h)
	x.h = nil
	if x.tmp != "" {
		os.Remove(x.tmp)
	}
	if r != 0 {
		return x.fail("close", "", cerr(err))
	}
	return nil
}
