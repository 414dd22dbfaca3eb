//go:build windows

package wim

import (
	"encoding/binary"
	"fmt"
	"os"
	"syscall"
	"time"
)

// capFileID identifies a file: volume serial number and file index.
type capFileID struct {
	vol uint32
	idx uint64
}

// openMeta opens path for reading its attributes, not following a final
// reparse point.
func openMeta(path string) (syscall.Handle, error) {
	p, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return 0, err
	}
	return syscall.CreateFile(p, 0x80 /* FILE_READ_ATTRIBUTES */, syscall.FILE_SHARE_READ|syscall.FILE_SHARE_WRITE|syscall.FILE_SHARE_DELETE,
		nil, syscall.OPEN_EXISTING, syscall.FILE_FLAG_BACKUP_SEMANTICS|syscall.FILE_FLAG_OPEN_REPARSE_POINT, 0)
}

// capStatID returns the identity and link count of the file at path.
func capStatID(path string, fi os.FileInfo) (capFileID, uint64, bool) {
	h, err := openMeta(path)
	if err != nil {
		return capFileID{}, 1, false
	}
	defer syscall.CloseHandle(h)
	var d syscall.ByHandleFileInformation
	if err := syscall.GetFileInformationByHandle(h, &d); err != nil {
		return capFileID{}, 1, false
	}
	return capFileID{d.VolumeSerialNumber, uint64(d.FileIndexHigh)<<32 | uint64(d.FileIndexLow)}, uint64(d.NumberOfLinks), true
}

func attrData(fi os.FileInfo) *syscall.Win32FileAttributeData {
	d, _ := fi.Sys().(*syscall.Win32FileAttributeData)
	return d
}

func capSparse(fi os.FileInfo) bool {
	d := attrData(fi)
	return d != nil && d.FileAttributes&AttrSparseFile != 0
}

// capSetTimes sets f's times from the file's own creation, access and
// write times.
func capSetTimes(f *File, fi os.FileInfo) {
	m := fi.ModTime().UTC()
	f.Created, f.Modified, f.Accessed = m, m, m
	if d := attrData(fi); d != nil {
		f.Created = time.Unix(0, d.CreationTime.Nanoseconds()).UTC()
		f.Accessed = time.Unix(0, d.LastAccessTime.Nanoseconds()).UTC()
		f.Modified = time.Unix(0, d.LastWriteTime.Nanoseconds()).UTC()
	}
}

// capAttributes returns the file's Windows attributes (read-only, hidden,
// system, archive, ...), with the type bits of def.
func capAttributes(fi os.FileInfo, def uint32) uint32 {
	d := attrData(fi)
	if d == nil {
		return def
	}
	const keep = AttrReadOnly | AttrHidden | AttrSystem | AttrArchive | AttrSparseFile |
		AttrCompressed | AttrNotContentIndexed | AttrTemporary | AttrOffline
	a := d.FileAttributes&keep | def&(AttrDirectory|AttrSparseFile)
	if a == 0 {
		a = AttrNormal
	}
	return a
}

// capLink captures the symbolic link or junction at path into f with its
// reparse data as stored.
func capLink(s *capScanner, f *File, path string) error {
	h, err := openMeta(path)
	if err != nil {
		return fmt.Errorf("wim: capture: %s: %w", path, err)
	}
	defer syscall.CloseHandle(h)
	buf := make([]byte, syscall.MAXIMUM_REPARSE_DATA_BUFFER_SIZE)
	var n uint32
	if err := syscall.DeviceIoControl(h, syscall.FSCTL_GET_REPARSE_POINT, nil, 0, &buf[0], uint32(len(buf)), &n, nil); err != nil {
		return fmt.Errorf("wim: capture: %s: reading reparse point: %w", path, err)
	}
	if n < 8 {
		return fmt.Errorf("wim: capture: %s: reparse point of %d bytes", path, n)
	}
	le := binary.LittleEndian
	dataLen := int(le.Uint16(buf[4:]))
	if 8+dataLen > int(n) {
		return fmt.Errorf("wim: capture: %s: reparse data length %d exceeds %d", path, dataLen, n-8)
	}
	data := append([]byte(nil), buf[8:8+dataLen]...)
	f.Attributes = AttrReparsePoint
	if fi, err := os.Lstat(path); err == nil {
		f.Attributes = capAttributes(fi, 0) | AttrReparsePoint
		if d := attrData(fi); d != nil && d.FileAttributes&AttrDirectory != 0 {
			f.Attributes |= AttrDirectory
		}
		f.Attributes &^= AttrNormal
	}
	f.ReparseTag = le.Uint32(buf[0:])
	f.ReparseReserved = le.Uint16(buf[6:])
	f.ReparseFlags = ReparseNotFixed
	f.Streams = []Stream{{Size: int64(len(data))}}
	s.reparse = append(s.reparse, capBlob{data: data, s: &f.Streams[0]})
	return nil
}
