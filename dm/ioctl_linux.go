package dm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ControlPath is the device-mapper control node devtmpfs creates.
const ControlPath = "/dev/mapper/control"

// Device is a mapped device.
type Device struct {
	Name         string
	Major, Minor uint32
}

// Path is the node sandbox-init makes, as udev would have: /dev/mapper/NAME.
func (d Device) Path() string { return "/dev/mapper/" + d.Name }

// Client sends ioctls to the device-mapper control node.
type Client struct{ f *os.File }

// Open opens the control node. Close it when done.
func Open() (*Client, error) {
	f, err := os.OpenFile(ControlPath, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("device-mapper control %s: %w (is dm-mod loaded?)", ControlPath, err)
	}
	return &Client{f: f}, nil
}

// Close closes the control node.
func (c *Client) Close() error { return c.f.Close() }

// Create makes the device NAME, loads table and activates it: dmsetup create.
// On failure nothing is left behind.
func (c *Client) Create(name string, readOnly bool, table ...Target) (Device, error) {
	h, _, err := c.ioctl(unix.DM_DEV_CREATE, name, 0, nil)
	if err != nil {
		return Device{}, fmt.Errorf("DM_DEV_CREATE %s: %w", name, err)
	}
	dev := Device{Name: name, Major: unix.Major(h.Dev), Minor: unix.Minor(h.Dev)}
	flags := uint32(0)
	if readOnly {
		flags |= unix.DM_READONLY_FLAG
	}
	data, err := marshalTable(table)
	if err == nil {
		_, _, err = c.ioctl(unix.DM_TABLE_LOAD, name, flags, data, uint32(len(table)))
		if err != nil {
			err = fmt.Errorf("DM_TABLE_LOAD %s: %w (the kernel log says why)", name, err)
		}
	}
	if err == nil {
		// DM_DEV_SUSPEND without DM_SUSPEND_FLAG resumes: the loaded
		// table goes live.
		if _, _, err = c.ioctl(unix.DM_DEV_SUSPEND, name, 0, nil); err != nil {
			err = fmt.Errorf("DM_DEV_SUSPEND (resume) %s: %w", name, err)
		}
	}
	if err != nil {
		if rerr := c.Remove(name); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return Device{}, err
	}
	return dev, nil
}

// Remove deletes the device NAME: dmsetup remove.
func (c *Client) Remove(name string) error {
	if _, _, err := c.ioctl(unix.DM_DEV_REMOVE, name, 0, nil); err != nil {
		return fmt.Errorf("DM_DEV_REMOVE %s: %w", name, err)
	}
	return nil
}

// Status returns the live table's targets with their status text in Params:
// dmsetup status.
func (c *Client) Status(name string) ([]Target, error) { return c.tableStatus(name, 0) }

// Table returns the live table: dmsetup table.
func (c *Client) Table(name string) ([]Target, error) {
	return c.tableStatus(name, unix.DM_STATUS_TABLE_FLAG)
}

func (c *Client) tableStatus(name string, flags uint32) ([]Target, error) {
	h, data, err := c.ioctl(unix.DM_TABLE_STATUS, name, flags, nil)
	if err != nil {
		return nil, fmt.Errorf("DM_TABLE_STATUS %s: %w", name, err)
	}
	return unmarshalTable(data, h.Target_count)
}

// MakeNode creates /dev/mapper/NAME, the node udev would have made.
func MakeNode(d Device) error {
	p := d.Path()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	_ = os.Remove(p)
	if err := unix.Mknod(p, unix.S_IFBLK|0o600, int(unix.Mkdev(d.Major, d.Minor))); err != nil {
		return fmt.Errorf("mknod %s: %w", p, err)
	}
	return nil
}

// ioctl sends one request. The kernel rejects a request whose version names a
// newer minor than its own (6.1 has 4.47; x/sys/unix knows newer), so ask for
// 4.0.0: the kernel answers with its own version. Buffers grow on
// DM_BUFFER_FULL_FLAG.
func (c *Client) ioctl(cmd uint, name string, flags uint32, payload []byte, targets ...uint32) (unix.DmIoctl, []byte, error) {
	size := unix.SizeofDmIoctl + len(payload)
	if size < 16<<10 {
		size = 16 << 10
	}
	for {
		buf := make([]byte, size)
		var h unix.DmIoctl
		h.Version = [3]uint32{unix.DM_VERSION_MAJOR, 0, 0}
		h.Data_size = uint32(size)
		h.Data_start = unix.SizeofDmIoctl
		h.Flags = flags
		if len(targets) > 0 {
			h.Target_count = targets[0]
		}
		if len(name) >= len(h.Name) {
			return h, nil, fmt.Errorf("name %q is longer than %d bytes", name, len(h.Name)-1)
		}
		copy(h.Name[:], name)
		*(*unix.DmIoctl)(unsafe.Pointer(&buf[0])) = h
		copy(buf[unix.SizeofDmIoctl:], payload)
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, c.f.Fd(), uintptr(cmd), uintptr(unsafe.Pointer(&buf[0])))
		if errno != 0 {
			return h, nil, errno
		}
		h = *(*unix.DmIoctl)(unsafe.Pointer(&buf[0]))
		if h.Flags&unix.DM_BUFFER_FULL_FLAG != 0 && size < 16<<20 {
			size *= 4
			continue
		}
		end := int(h.Data_size)
		if end > len(buf) || end < int(h.Data_start) {
			end = int(h.Data_start)
		}
		return h, buf[h.Data_start:end], nil
	}
}

// marshalTable lays targets out as the kernel wants for DM_TABLE_LOAD: each
// struct dm_target_spec followed by its NUL-terminated params, padded to 8
// bytes, with Next the offset from this spec to the next.
func marshalTable(table []Target) ([]byte, error) {
	if len(table) == 0 {
		return nil, errors.New("empty table")
	}
	var out bytes.Buffer
	for _, t := range table {
		if len(t.Type) >= unix.DM_MAX_TYPE_NAME {
			return nil, fmt.Errorf("target type %q too long", t.Type)
		}
		n := unix.SizeofDmTargetSpec + len(t.Params) + 1
		n = (n + 7) &^ 7
		spec := unix.DmTargetSpec{Sector_start: t.Start, Length: t.Length, Next: uint32(n)}
		copy(spec.Target_type[:], t.Type)
		rec := make([]byte, n)
		*(*unix.DmTargetSpec)(unsafe.Pointer(&rec[0])) = spec
		copy(rec[unix.SizeofDmTargetSpec:], t.Params)
		out.Write(rec)
	}
	return out.Bytes(), nil
}

// unmarshalTable reads DM_TABLE_STATUS output. There Next is the offset from
// the start of the data area, not from the spec (dm-ioctl.c retrieve_status).
func unmarshalTable(data []byte, count uint32) ([]Target, error) {
	var out []Target
	off := 0
	for i := uint32(0); i < count; i++ {
		if off+unix.SizeofDmTargetSpec > len(data) {
			return nil, fmt.Errorf("table status truncated at target %d", i)
		}
		var spec unix.DmTargetSpec
		spec.Sector_start = binary.NativeEndian.Uint64(data[off:])
		spec.Length = binary.NativeEndian.Uint64(data[off+8:])
		spec.Next = binary.NativeEndian.Uint32(data[off+20:])
		copy(spec.Target_type[:], data[off+24:off+40])
		rest := data[off+unix.SizeofDmTargetSpec:]
		if i := bytes.IndexByte(rest, 0); i >= 0 {
			rest = rest[:i]
		}
		out = append(out, Target{
			Start:  spec.Sector_start,
			Length: spec.Length,
			Type:   string(bytes.TrimRight(spec.Target_type[:], "\x00")),
			Params: string(rest),
		})
		if int(spec.Next) <= off && i+1 < count {
			return nil, errors.New("table status: bad next offset")
		}
		off = int(spec.Next)
	}
	return out, nil
}

// NewClient wraps an already open control node, e.g. one inherited by a
// process that can no longer reach /dev/mapper/control by path.
func NewClient(f *os.File) *Client { return &Client{f: f} }
