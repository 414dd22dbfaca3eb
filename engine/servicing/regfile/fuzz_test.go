package regfile

import "testing"

// FuzzParse checks that no input makes Parse or Apply panic, that line
// numbers are in range, and that SetValue data of fixed-size types has the
// right length.
func FuzzParse(f *testing.F) {
	f.Add([]byte(sample))
	f.Add(utf16le(sample))
	f.Add([]byte("REGEDIT4\n[HKLM\\A]\n\"x\"=hex(7):41,00,\\\n42\n@=-\n[-HKCU\\B]"))
	f.Add([]byte("Windows Registry Editor Version 5.00\n[HKLM\\SOFTWARE]\n\"a\"=dword:ffffffff\n\"b\"=hex(b):00,00,00,00,00,00,00,00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("f.reg", data)
		if err != nil {
			return
		}
		prev := 0
		for _, op := range file.Ops {
			if op.Line <= prev {
				t.Fatalf("line numbers not increasing: %d after %d", op.Line, prev)
			}
			prev = op.Line
			if op.Kind == SetValue && op.Value.Type == 11 && len(op.Value.Data) != 8 {
				t.Fatalf("qword with %d bytes", len(op.Value.Data))
			}
		}
		file.Apply(newMem(), `HKEY_LOCAL_MACHINE\SOFTWARE`)
	})
}
