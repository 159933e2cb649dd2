package dm

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// The layout the kernel's populate_table walks: spec, params, NUL, padding
// to 8, with Next relative to the spec.
func TestMarshalTable(t *testing.T) {
	b, err := marshalTable([]Target{{0, 100, "snapshot", "/dev/loop0 /dev/ram0 N 8"}, {100, 50, "linear", "/dev/sda 0"}})
	if err != nil {
		t.Fatal(err)
	}
	first := unix.SizeofDmTargetSpec + len("/dev/loop0 /dev/ram0 N 8") + 1
	first = (first + 7) &^ 7
	if got := binary.NativeEndian.Uint32(b[20:]); int(got) != first {
		t.Errorf("first Next = %d, want %d", got, first)
	}
	if len(b)%8 != 0 {
		t.Errorf("length %d not 8-aligned", len(b))
	}
	if got := string(b[24:32]); got != "snapshot" {
		t.Errorf("type = %q", got)
	}
	if got := binary.NativeEndian.Uint64(b[first:]); got != 100 {
		t.Errorf("second start = %d", got)
	}
	if _, err := marshalTable(nil); err == nil {
		t.Error("empty table accepted")
	}
	if _, err := marshalTable([]Target{{0, 1, "a-very-long-target-type", ""}}); err == nil {
		t.Error("long type accepted")
	}
}

// DM_TABLE_STATUS answers with Next relative to the data area's start.
func TestUnmarshalTable(t *testing.T) {
	spec := func(start, length uint64, next uint32, typ, params string) []byte {
		b := make([]byte, unix.SizeofDmTargetSpec)
		binary.NativeEndian.PutUint64(b, start)
		binary.NativeEndian.PutUint64(b[8:], length)
		binary.NativeEndian.PutUint32(b[20:], next)
		copy(b[24:], typ)
		b = append(b, params...)
		b = append(b, 0)
		for len(b)%8 != 0 {
			b = append(b, 0)
		}
		return b
	}
	a := spec(0, 100, 0, "snapshot", "8320/481294 0")
	next := uint32(len(a))
	a = spec(0, 100, next, "snapshot", "8320/481294 0")
	data := append(a, spec(100, 5, next+64, "linear", "8:0 0")...)
	got, err := unmarshalTable(data, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != (Target{0, 100, "snapshot", "8320/481294 0"}) || got[1] != (Target{100, 5, "linear", "8:0 0"}) {
		t.Errorf("unmarshalTable = %+v", got)
	}
	if _, err := unmarshalTable(data[:30], 1); err == nil {
		t.Error("truncated data accepted")
	}
}
