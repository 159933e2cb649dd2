// Package nbd is the client side of the Network Block Device protocol as
// sandbox-init needs it: the fixed newstyle handshake with NBD_OPT_GO (an
// export's size and flags, read-only), plain reads in the transmission
// phase (for the hash tree, read whole into RAM), and on Linux the hand-over
// of a connected socket to the kernel's nbd driver over generic netlink,
// so that no process has to stay for the device to work.
//
// The protocol is the NBD project's doc/proto.md; only what a read-only
// client needs is here. Every length a server sends is bounded before
// anything is allocated: the server is not trusted (dm-verity checks the
// data; this package must not crash or hang on a bad reply).
package nbd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// DefaultPort is NBD's IANA port.
const DefaultPort = 10809

// Handshake and option constants (proto.md).
const (
	magicInit     = 0x4e42444d41474943 // "NBDMAGIC"
	magicOpt      = 0x49484156454F5054 // "IHAVEOPT"
	magicReply    = 0x3e889045565a9
	flagFixed     = 1 << 0 // NBD_FLAG_FIXED_NEWSTYLE (server) / NBD_FLAG_C_FIXED_NEWSTYLE (client)
	flagNoZeroes  = 1 << 1 // NBD_FLAG_NO_ZEROES / NBD_FLAG_C_NO_ZEROES
	optExportName = 1
	optAbort      = 2
	optGo         = 7
	repAck        = 1
	repInfo       = 3
	repErr        = 1 << 31
	RepErrUnsup   = repErr | 1
	RepErrPolicy  = repErr | 2
	RepErrUnknown = repErr | 6
	infoExport    = 0
	maxReply      = 64 << 10 // an option reply's data: an error's text, an info
	maxName       = 4096     // proto.md: names and strings up to 4096 bytes
	magicRequest  = 0x25609513
	magicSimple   = 0x67446698
	cmdRead       = 0
	cmdDisc       = 2
	maxRead       = 32 << 20 // one read request; larger reads are split
	FlagHasFlags  = 1 << 0   // transmission flags: NBD_FLAG_HAS_FLAGS
	FlagReadOnly  = 1 << 1   // NBD_FLAG_READ_ONLY
)

// Export is what the server said of an export in the handshake.
type Export struct {
	Name  string
	Size  uint64
	Flags uint16 // transmission flags (FlagReadOnly, …)
}

// OptionError is the server's refusal of an option: NBD_REP_ERR_UNKNOWN
// for an export it does not have, and so on, with the text it sent.
type OptionError struct {
	Option uint32
	Reply  uint32
	Text   string
}

func (e *OptionError) Error() string {
	s := fmt.Sprintf("the server refused %s with %s", optName(e.Option), replyName(e.Reply))
	if e.Text != "" {
		s += " (" + strings.ToValidUTF8(e.Text, "?") + ")"
	}
	return s
}

func optName(o uint32) string {
	switch o {
	case optGo:
		return "NBD_OPT_GO"
	case optExportName:
		return "NBD_OPT_EXPORT_NAME"
	}
	return fmt.Sprintf("option %d", o)
}

func replyName(r uint32) string {
	names := map[uint32]string{RepErrUnsup: "NBD_REP_ERR_UNSUP", RepErrPolicy: "NBD_REP_ERR_POLICY", repErr | 3: "NBD_REP_ERR_INVALID",
		repErr | 4: "NBD_REP_ERR_PLATFORM", repErr | 5: "NBD_REP_ERR_TLS_REQD", RepErrUnknown: "NBD_REP_ERR_UNKNOWN (no such export)",
		repErr | 7: "NBD_REP_ERR_SHUTDOWN", repErr | 8: "NBD_REP_ERR_BLOCK_SIZE_REQD", repErr | 9: "NBD_REP_ERR_TOO_BIG"}
	if n, ok := names[r]; ok {
		return n
	}
	return fmt.Sprintf("reply type %#x", r)
}

// ProtocolError is a server that does not speak the protocol as it must.
type ProtocolError struct{ What string }

func (e *ProtocolError) Error() string { return "not an NBD server, or a broken one: " + e.What }

func protoErr(format string, args ...any) error {
	return &ProtocolError{What: fmt.Sprintf(format, args...)}
}

// URL is a parsed nbd://HOST[:PORT]/EXPORT.
type URL struct {
	Host   string // as given: a name or an address
	Port   int
	Export string
}

// Addr is HOST:PORT for net.Dial.
func (u URL) Addr() string { return net.JoinHostPort(u.Host, strconv.Itoa(u.Port)) }

func (u URL) String() string { return "nbd://" + u.Addr() + "/" + u.Export }

// ParseURL reads nbd://HOST[:PORT]/EXPORT (the form qemu and nbdkit use).
func ParseURL(s string) (URL, error) {
	p, err := url.Parse(s)
	if err != nil {
		return URL{}, err
	}
	if p.Scheme != "nbd" || p.Host == "" || p.User != nil || p.RawQuery != "" || p.Fragment != "" {
		return URL{}, errors.New("is not nbd://HOST[:PORT]/EXPORT")
	}
	u := URL{Host: p.Hostname(), Port: DefaultPort, Export: strings.TrimPrefix(p.Path, "/")}
	if ps := p.Port(); ps != "" {
		if u.Port, err = strconv.Atoi(ps); err != nil || u.Port < 1 || u.Port > 65535 {
			return URL{}, fmt.Errorf("has the port %q, not 1 to 65535", ps)
		}
	}
	if u.Export == "" || len(u.Export) > maxName {
		return URL{}, errors.New("names no export (nbd://HOST[:PORT]/EXPORT)")
	}
	return u, nil
}

// Handshake runs the fixed newstyle handshake on rw and asks for export
// with NBD_OPT_GO (NBD_OPT_EXPORT_NAME when the server does not know GO).
// On success rw is in the transmission phase, ready for Read or for the
// kernel.
func Handshake(rw io.ReadWriter, export string) (Export, error) {
	var hello [18]byte
	if _, err := io.ReadFull(rw, hello[:]); err != nil {
		return Export{}, fmt.Errorf("reading the server's greeting: %w", err)
	}
	if binary.BigEndian.Uint64(hello[0:]) != magicInit {
		return Export{}, protoErr("the greeting does not start with NBDMAGIC: %q", strings.ToValidUTF8(string(hello[:]), "?"))
	}
	if binary.BigEndian.Uint64(hello[8:]) != magicOpt {
		return Export{}, protoErr("the server speaks the old style handshake, which has no export names (use a newstyle server: nbd-server 3.x, qemu-nbd, nbdkit)")
	}
	hflags := binary.BigEndian.Uint16(hello[16:])
	if hflags&flagFixed == 0 {
		return Export{}, protoErr("the server does not do the fixed newstyle handshake")
	}
	cflags := uint32(flagFixed) | uint32(hflags&flagNoZeroes)
	if err := binary.Write(rw, binary.BigEndian, cflags); err != nil {
		return Export{}, err
	}
	e, err := optionGo(rw, export)
	var oe *OptionError
	if errors.As(err, &oe) && oe.Reply == RepErrUnsup {
		return exportName(rw, export, hflags&flagNoZeroes != 0)
	}
	return e, err
}

// sendOption writes one option request.
func sendOption(w io.Writer, opt uint32, data []byte) error {
	b := make([]byte, 16+len(data))
	binary.BigEndian.PutUint64(b, magicOpt)
	binary.BigEndian.PutUint32(b[8:], opt)
	binary.BigEndian.PutUint32(b[12:], uint32(len(data)))
	copy(b[16:], data)
	_, err := w.Write(b)
	return err
}

// optionGo asks for the export by NBD_OPT_GO and reads the replies up to
// NBD_REP_ACK or an error.
func optionGo(rw io.ReadWriter, export string) (Export, error) {
	data := make([]byte, 4+len(export)+2)
	binary.BigEndian.PutUint32(data, uint32(len(export)))
	copy(data[4:], export)
	if err := sendOption(rw, optGo, data); err != nil {
		return Export{}, err
	}
	e := Export{Name: export}
	haveInfo := false
	for {
		typ, body, err := readReply(rw, optGo)
		if err != nil {
			return Export{}, err
		}
		switch {
		case typ&repErr != 0:
			return Export{}, &OptionError{Option: optGo, Reply: typ, Text: string(body)}
		case typ == repInfo:
			if len(body) < 2 {
				return Export{}, protoErr("an NBD_REP_INFO of %d bytes", len(body))
			}
			if binary.BigEndian.Uint16(body) == infoExport {
				if len(body) != 12 {
					return Export{}, protoErr("an NBD_INFO_EXPORT of %d bytes, not 12", len(body))
				}
				e.Size, e.Flags, haveInfo = binary.BigEndian.Uint64(body[2:]), binary.BigEndian.Uint16(body[10:]), true
			}
		case typ == repAck:
			if !haveInfo {
				return Export{}, protoErr("NBD_REP_ACK to NBD_OPT_GO without the export's size (NBD_INFO_EXPORT)")
			}
			return e, nil
		default:
			return Export{}, protoErr("reply type %d to NBD_OPT_GO", typ)
		}
	}
}

// readReply reads one option reply header and its data.
func readReply(r io.Reader, opt uint32) (uint32, []byte, error) {
	var h [20]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, fmt.Errorf("reading the server's reply to %s: %w", optName(opt), err)
	}
	if binary.BigEndian.Uint64(h[0:]) != magicReply {
		return 0, nil, protoErr("an option reply without its magic")
	}
	if o := binary.BigEndian.Uint32(h[8:]); o != opt {
		return 0, nil, protoErr("a reply to option %d when %s was asked", o, optName(opt))
	}
	typ, n := binary.BigEndian.Uint32(h[12:]), binary.BigEndian.Uint32(h[16:])
	if n > maxReply {
		return 0, nil, protoErr("an option reply of %d bytes", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, fmt.Errorf("reading the server's reply to %s: %w", optName(opt), err)
	}
	return typ, body, nil
}

// exportName is the old way to pick an export: the server answers with
// its size and flags, or closes the connection when it has no such export.
func exportName(rw io.ReadWriter, export string, noZeroes bool) (Export, error) {
	if err := sendOption(rw, optExportName, []byte(export)); err != nil {
		return Export{}, err
	}
	n := 10
	if !noZeroes {
		n += 124
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(rw, b); err != nil {
		return Export{}, &OptionError{Option: optExportName, Reply: RepErrUnknown, Text: "the server closed the connection: " + err.Error()}
	}
	return Export{Name: export, Size: binary.BigEndian.Uint64(b), Flags: binary.BigEndian.Uint16(b[8:])}, nil
}

// Abort ends a handshake politely (NBD_OPT_ABORT), for a connection that
// was only a probe.
func Abort(w io.Writer) error { return sendOption(w, optAbort, nil) }

// Disconnect ends the transmission phase (NBD_CMD_DISC).
func Disconnect(w io.Writer) error {
	_, err := w.Write(request(cmdDisc, 0, 0, 0))
	return err
}

func request(cmd uint16, handle, off uint64, n uint32) []byte {
	b := make([]byte, 28)
	binary.BigEndian.PutUint32(b, magicRequest)
	binary.BigEndian.PutUint16(b[6:], cmd)
	binary.BigEndian.PutUint64(b[8:], handle)
	binary.BigEndian.PutUint64(b[16:], off)
	binary.BigEndian.PutUint32(b[24:], n)
	return b
}

// ReadAt reads len(p) bytes at off in the transmission phase, one request
// at a time (simple replies: no structured replies were asked for).
func ReadAt(rw io.ReadWriter, p []byte, off uint64) error {
	for handle := uint64(1); len(p) > 0; handle++ {
		n := min(len(p), maxRead)
		if _, err := rw.Write(request(cmdRead, handle, off, uint32(n))); err != nil {
			return err
		}
		var h [16]byte
		if _, err := io.ReadFull(rw, h[:]); err != nil {
			return fmt.Errorf("reading at byte %d: %w", off, err)
		}
		switch {
		case binary.BigEndian.Uint32(h[0:]) != magicSimple:
			return protoErr("a reply without the simple reply's magic")
		case binary.BigEndian.Uint64(h[8:]) != handle:
			return protoErr("a reply to request %d when %d was sent", binary.BigEndian.Uint64(h[8:]), handle)
		case binary.BigEndian.Uint32(h[4:]) != 0:
			return fmt.Errorf("the server failed the read at byte %d: error %d", off, binary.BigEndian.Uint32(h[4:]))
		}
		if _, err := io.ReadFull(rw, p[:n]); err != nil {
			return fmt.Errorf("reading at byte %d: %w", off, err)
		}
		p, off = p[n:], off+uint64(n)
	}
	return nil
}
