package testvm

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// vgaBuffer lays lines out as a VGA text buffer: character, attribute.
func vgaBuffer(lines map[int]string, blank byte) []byte {
	b := make([]byte, vgaSize)
	for i := 0; i < len(b); i += 2 {
		b[i], b[i+1] = blank, 0x07
	}
	for r, s := range lines {
		for c := 0; c < len(s) && c < vgaCols; c++ {
			b[(r*vgaCols+c)*2] = s[c]
			b[(r*vgaCols+c)*2+1] = 0x1f
		}
	}
	return b
}

func TestDecodeVGAText(t *testing.T) {
	long := strings.Repeat("x", 79) + "y" // a full row, then the next
	b := vgaBuffer(map[int]string{
		0:  "[    1.234567] sandbox-init: FAILED in phase \"cd\"   ",
		1:  long,
		2:  "next",
		24: "(sandbox-init rescue) # ",
	}, ' ')
	b[(3*vgaCols)*2] = 0xc4 // ─
	b[(3*vgaCols+1)*2] = 0x01
	got := strings.Split(decodeVGAText(b), "\n")
	if len(got) != vgaRows {
		t.Fatalf("%d lines, want %d", len(got), vgaRows)
	}
	want := map[int]string{
		0:  "[    1.234567] sandbox-init: FAILED in phase \"cd\"",
		1:  long,
		2:  "next",
		3:  "─☺",
		4:  "",
		24: "(sandbox-init rescue) #",
	}
	for r, w := range want {
		if got[r] != w {
			t.Errorf("line %d = %q, want %q", r, got[r], w)
		}
	}
	// Unwritten memory (zeros) reads as blank.
	if s := decodeVGAText(make([]byte, vgaSize)); strings.TrimSpace(s) != "" {
		t.Errorf("zeros decode to %q", s)
	}
	// A short buffer does not panic.
	_ = decodeVGAText(b[:100])
}

func TestCP437Tables(t *testing.T) {
	if n := len([]rune(cp437Low)); n != 32 {
		t.Errorf("cp437Low has %d runes", n)
	}
	if n := len([]rune(cp437High)); n != 128 {
		t.Errorf("cp437High has %d runes", n)
	}
	for c, want := range map[byte]rune{'A': 'A', 0xdb: '█', 0xb3: '│', 0xff: '\u00a0', 0x80: 'Ç'} {
		if got := cp437(c); got != want {
			t.Errorf("cp437(%#x) = %q, want %q", c, got, want)
		}
	}
}

// fakeMonitor is a QEMU human monitor on a unix socket, over a guest whose
// VGA text memory is mem and whose CRT controller starts the screen at
// cell start. It echoes commands as the real one does, escapes and all.
type fakeMonitor struct {
	mem   []byte // 32 KiB from 0xb8000
	start int
	index int // the CRTC index register
	log   []string
}

func (f *fakeMonitor) serve(t *testing.T) string {
	sock := filepath.Join(t.TempDir(), "m.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) "))
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSpace(line)
			f.log = append(f.log, line)
			out := f.do(line)
			c.Write([]byte(line[:1] + "\x1b[K\x1b[D" + line + "\x1b[K\r\n" + out + "(qemu) "))
		}
	}()
	return sock
}

func (f *fakeMonitor) do(line string) string {
	w := strings.Fields(line)
	num := func(s string) int {
		v, _ := strconv.ParseInt(s, 0, 64)
		return int(v)
	}
	switch {
	case len(w) == 3 && w[0] == "i" && w[2] == "0x3d4":
		return fmt.Sprintf("portb[0x03d4] = 0x%02x\r\n", f.index)
	case len(w) == 3 && w[0] == "i" && w[2] == "0x3d5":
		v := 0
		switch f.index {
		case 0x0c:
			v = f.start >> 8
		case 0x0d:
			v = f.start & 0xff
		}
		return fmt.Sprintf("portb[0x03d5] = 0x%02x\r\n", v)
	case len(w) == 4 && w[0] == "o" && w[2] == "0x3d4":
		f.index = num(w[3])
		return ""
	case len(w) == 4 && w[0] == "pmemsave":
		off := num(w[1]) - vgaBase
		os.WriteFile(strings.Trim(w[3], `"`), f.mem[off:off+num(w[2])], 0o644)
		return ""
	}
	return "unknown command: '" + w[0] + "'\r\n"
}

func TestScreenTextMonitor(t *testing.T) {
	// The screen has scrolled: it starts 100 rows into the text memory.
	mem := make([]byte, 0x8000)
	copy(mem, vgaBuffer(map[int]string{0: "scrolled off long ago"}, ' '))
	copy(mem[100*vgaCols*2:], vgaBuffer(map[int]string{5: "hello from the screen", 24: "bottom"}, ' '))
	f := &fakeMonitor{mem: mem, start: 100 * vgaCols, index: 0x0b}
	s, err := ScreenText(f.serve(t))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(s, "\n")
	if len(lines) != vgaRows || lines[5] != "hello from the screen" || lines[24] != "bottom" || strings.Contains(s, "scrolled") {
		t.Errorf("screen:\n%s", s)
	}
	if f.index != 0x0b {
		t.Errorf("CRTC index left at %#x", f.index)
	}

	// A start past the text memory is not believed: 0xb8000 is read.
	f = &fakeMonitor{mem: mem, start: 0x7fff}
	if s, err = ScreenText(f.serve(t)); err != nil || strings.Split(s, "\n")[0] != "scrolled off long ago" {
		t.Errorf("screen: %v\n%s", err, s)
	}
}

func TestMonitorError(t *testing.T) {
	f := &fakeMonitor{}
	m, err := dialMonitor(f.serve(t), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.run("bogus"); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Errorf("err = %v", err)
	}
	if v, err := m.inb(0x3d4); err != nil || v != 0 {
		t.Errorf("inb = %v, %v", v, err)
	}
}

// TestOnScreen: a console line is found on the screen where its row wrapped
// at 80 columns, even when the wrap ate a space; a line that is not there
// is not found.
func TestOnScreen(t *testing.T) {
	scr := "[    3.1] sandbox-init: WARNING: the root image /initrd-ext2 is NOT verified: Boot\n" +
		"the medium's own menu entry unchanged\nlast row"
	if !onScreen(scr, "Boot the medium's own menu entry unchanged") {
		t.Error("a line wrapped at a space is not found")
	}
	if onScreen(scr, "sandbox-init:   halted") {
		t.Error("a line that is not on the screen is found")
	}
}
