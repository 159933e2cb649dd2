package nbd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// fakeServer speaks the server side of the fixed newstyle handshake and
// simple reads, for one export (and knows no NBD_OPT_GO when noGo).
type fakeServer struct {
	exports map[string][]byte
	noGo    bool
	reads   int
}

func (s *fakeServer) serve(c net.Conn) {
	defer c.Close()
	be := binary.BigEndian
	hello := make([]byte, 18)
	be.PutUint64(hello, magicInit)
	be.PutUint64(hello[8:], magicOpt)
	be.PutUint16(hello[16:], flagFixed|flagNoZeroes)
	c.Write(hello)
	var cflags uint32
	if binary.Read(c, be, &cflags) != nil {
		return
	}
	reply := func(opt, typ uint32, data []byte) {
		h := make([]byte, 20)
		be.PutUint64(h, magicReply)
		be.PutUint32(h[8:], opt)
		be.PutUint32(h[12:], typ)
		be.PutUint32(h[16:], uint32(len(data)))
		c.Write(append(h, data...))
	}
	var data []byte
	for data == nil {
		h := make([]byte, 16)
		if _, err := io.ReadFull(c, h); err != nil {
			return
		}
		opt, body := be.Uint32(h[8:]), make([]byte, be.Uint32(h[12:]))
		io.ReadFull(c, body)
		switch {
		case opt == optGo && s.noGo:
			reply(opt, RepErrUnsup, nil)
		case opt == optGo:
			name := string(body[4 : 4+be.Uint32(body)])
			d, ok := s.exports[name]
			if !ok {
				reply(opt, RepErrUnknown, []byte("no export "+name))
				continue
			}
			info := make([]byte, 12)
			be.PutUint64(info[2:], uint64(len(d)))
			be.PutUint16(info[10:], FlagHasFlags|FlagReadOnly)
			reply(opt, repInfo, info)
			reply(opt, repAck, nil)
			data = d
		case opt == optExportName:
			d, ok := s.exports[string(body)]
			if !ok {
				return
			}
			b := make([]byte, 10)
			be.PutUint64(b, uint64(len(d)))
			be.PutUint16(b[8:], FlagHasFlags)
			c.Write(b)
			data = d
		default:
			return
		}
	}
	for {
		r := make([]byte, 28)
		if _, err := io.ReadFull(c, r); err != nil || be.Uint16(r[6:]) == cmdDisc {
			return
		}
		s.reads++
		off, n := be.Uint64(r[16:]), be.Uint32(r[24:])
		h := make([]byte, 16)
		be.PutUint32(h, magicSimple)
		copy(h[8:], r[8:16])
		c.Write(append(h, data[off:off+uint64(n)]...))
	}
}

// listen starts s on a loopback port.
func (s *fakeServer) listen(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.serve(c)
		}
	}()
	return l.Addr().String()
}

func image(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7 / 3)
	}
	return b
}

func TestDialAndRead(t *testing.T) {
	img := image(3 << 20)
	for _, noGo := range []bool{false, true} {
		s := &fakeServer{exports: map[string][]byte{"live": img}, noGo: noGo}
		c, err := Dial(s.listen(t), "live", 5*time.Second)
		if err != nil {
			t.Fatalf("noGo %v: %v", noGo, err)
		}
		if c.Export.Size != uint64(len(img)) || c.Export.Flags&FlagHasFlags == 0 || (!noGo && c.Export.Flags&FlagReadOnly == 0) {
			t.Errorf("noGo %v: export %+v", noGo, c.Export)
		}
		got := make([]byte, 1<<20+5)
		if err := c.ReadAt(got, 4095); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, img[4095:4095+len(got)]) {
			t.Error("read the wrong bytes")
		}
		Disconnect(c)
		c.Close()
	}
}

func TestUnknownExport(t *testing.T) {
	s := &fakeServer{exports: map[string][]byte{"live": image(4096)}}
	_, err := Dial(s.listen(t), "nothing", 5*time.Second)
	var oe *OptionError
	if !errors.As(err, &oe) || oe.Reply != RepErrUnknown {
		t.Fatalf("got %v, want NBD_REP_ERR_UNKNOWN", err)
	}
	if want := "the server refused NBD_OPT_GO with NBD_REP_ERR_UNKNOWN (no such export) (no export nothing)"; err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	s.noGo = true // the old way: the server hangs up
	if _, err := Dial(s.listen(t), "nothing", 5*time.Second); !errors.As(err, &oe) || oe.Reply != RepErrUnknown {
		t.Errorf("NBD_OPT_EXPORT_NAME of an unknown export: %v", err)
	}
}

func TestNotNBD(t *testing.T) {
	for name, greeting := range map[string][]byte{
		"http":     []byte("HTTP/1.1 400 Bad Request\r\n\r\n"),
		"oldstyle": append([]byte("NBDMAGIC"), 0, 0, 0x42, 0x02, 0x81, 0x86, 0x12, 0x53, 0, 0),
		"short":    []byte("NBDMAGIC"),
	} {
		_, err := Handshake(struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(greeting), io.Discard}, "live")
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseURL(t *testing.T) {
	u, err := ParseURL("nbd://10.0.2.100/LiveOS/squashfs.img")
	if err != nil || u.Addr() != "10.0.2.100:10809" || u.Export != "LiveOS/squashfs.img" {
		t.Errorf("%+v %v", u, err)
	}
	if u, err := ParseURL("nbd://[::1]:1234/live"); err != nil || u.Addr() != "[::1]:1234" {
		t.Errorf("%+v %v", u, err)
	}
	for _, bad := range []string{"nbd://host", "nbd://host/", "http://host/x", "nbd://host:0/x", "nbd://host:99999/x", "nbd:///x", "nbd://u@host/x"} {
		if _, err := ParseURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzHandshake: whatever a server sends, the handshake ends (no panic,
// no allocation beyond the bounds), and a success has come from a
// reply that said the size.
func FuzzHandshake(f *testing.F) {
	good := func(typ uint32, data []byte) []byte {
		b := make([]byte, 18, 64)
		binary.BigEndian.PutUint64(b, magicInit)
		binary.BigEndian.PutUint64(b[8:], magicOpt)
		binary.BigEndian.PutUint16(b[16:], flagFixed|flagNoZeroes)
		h := make([]byte, 20)
		binary.BigEndian.PutUint64(h, magicReply)
		binary.BigEndian.PutUint32(h[8:], optGo)
		binary.BigEndian.PutUint32(h[12:], typ)
		binary.BigEndian.PutUint32(h[16:], uint32(len(data)))
		return append(append(b, h...), data...)
	}
	info := []byte{0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 3}
	f.Add(append(good(repInfo, info), good(repAck, nil)[18:]...))
	f.Add(good(RepErrUnknown, []byte("no such export")))
	f.Add(good(RepErrUnsup, nil))
	f.Add(good(repInfo, []byte{0, 0, 0xff, 0xff, 0xff, 0xff}))
	f.Fuzz(func(t *testing.T, in []byte) {
		rw := struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(in), io.Discard}
		e, err := Handshake(rw, "live")
		if err == nil && e.Name != "live" {
			t.Fatalf("success without the export: %+v", e)
		}
	})
}

func TestBackoff(t *testing.T) {
	for n, want := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		if d := Backoff(n); d < want/2 || d > want {
			t.Errorf("Backoff(%d) = %v, want %v/2..%v", n, d, want, want)
		}
	}
	if Retryable(&OptionError{Reply: RepErrUnknown}) || Retryable(protoErr("x")) || !Retryable(io.EOF) {
		t.Error("Retryable")
	}
}
