//go:build !(cgo && (linux || darwin || freebsd))

package hive

func open(path string, opt Options) (Hive, error) {
	return nil, &Error{Op: "open", File: path, Err: ErrUnsupported}
}

func openBytes(name string, data []byte, opt Options) (Hive, error) {
	return nil, &Error{Op: "open", File: name, Err: ErrUnsupported}
}
