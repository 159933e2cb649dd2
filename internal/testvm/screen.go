package testvm

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// The VGA text screen: 80x25 cells at 0xb8000 in the guest's memory, each a
// character byte (code page 437) then an attribute byte (colours).
const (
	vgaCols = 80
	vgaRows = 25
	vgaBase = 0xb8000
	vgaSize = vgaCols * vgaRows * 2
)

// ScreenText reads a QEMU guest's VGA text screen through its human monitor
// on a unix socket (QEMU started with -monitor unix:PATH,server,nowait): it
// has QEMU save the visible text buffer to a file (pmemsave) and decodes it
// into 25 lines, their trailing spaces trimmed, joined by newlines.
//
// The kernel's VGA console scrolls by moving the screen's start in the 32
// KiB of text memory at 0xb8000, so the screen is where the CRT
// controller's start address register says: ScreenText reads it (I/O ports
// 0x3d4/0x3d5, the index put back after) and falls back to 0xb8000. It
// reads what a monitor shows only while the guest is in VGA text mode
// (vgacon, as with -vga std and no DRM driver loaded), not a framebuffer
// console.
func ScreenText(monitorSocket string) (string, error) {
	dir, err := os.MkdirTemp("", "screen-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	dump := dir + "/vga.bin"
	if strings.ContainsAny(dump, "\"\\") {
		return "", fmt.Errorf("screen dump path %q has characters the monitor cannot take", dump)
	}
	m, err := dialMonitor(monitorSocket, 10*time.Second)
	if err != nil {
		return "", err
	}
	defer m.Close()
	addr := vgaBase + 2*m.crtcStart()
	// Quoted: unquoted, "4000 /tmp/…" would read as a division.
	if _, err := m.run(fmt.Sprintf("pmemsave 0x%x %d \"%s\"", addr, vgaSize, dump)); err != nil {
		return "", err
	}
	// The command has ended when the prompt comes back; wait a little for
	// the file still, in case.
	var b []byte
	for deadline := time.Now().Add(5 * time.Second); ; {
		b, err = os.ReadFile(dump)
		if err == nil && len(b) >= vgaSize {
			break
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("%d bytes, want %d", len(b), vgaSize)
			}
			return "", fmt.Errorf("pmemsave %s: %w", dump, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return decodeVGAText(b), nil
}

// hmp is a connection to a QEMU human monitor.
type hmp struct {
	net.Conn
	got []byte
}

const hmpPrompt = "(qemu) "

func dialMonitor(socket string, timeout time.Duration) (*hmp, error) {
	c, err := net.DialTimeout("unix", socket, timeout)
	if err != nil {
		return nil, fmt.Errorf("QEMU monitor: %w", err)
	}
	_ = c.SetDeadline(time.Now().Add(timeout))
	m := &hmp{Conn: c}
	if _, err := m.prompt(); err != nil { // after the banner
		c.Close()
		return nil, err
	}
	return m, nil
}

// prompt reads up to the next prompt and returns what came before it.
func (m *hmp) prompt() (string, error) {
	buf := make([]byte, 4096)
	for {
		if i := bytes.Index(m.got, []byte(hmpPrompt)); i >= 0 {
			out := string(m.got[:i])
			m.got = m.got[i+len(hmpPrompt):]
			return out, nil
		}
		n, err := m.Read(buf)
		m.got = append(m.got, buf[:n]...)
		if err != nil {
			return "", fmt.Errorf("QEMU monitor: %w (read %q)", err, m.got)
		}
	}
}

// run runs one command and returns what it printed. The monitor echoes the
// command, with terminal escapes, up to a newline; the output follows. An
// output of a failed command (an error, or an unknown command) fails it;
// the commands used here print nothing when they work, but i.
func (m *hmp) run(cmd string) (string, error) {
	if _, err := m.Write([]byte(cmd + "\n")); err != nil {
		return "", fmt.Errorf("QEMU monitor: %w", err)
	}
	out, err := m.prompt()
	if err != nil {
		return "", err
	}
	if _, rest, ok := strings.Cut(out, "\n"); ok {
		out = strings.TrimSpace(strings.ReplaceAll(rest, "\r", ""))
	} else {
		out = ""
	}
	if out != "" && !strings.HasPrefix(out, "port") {
		return "", fmt.Errorf("QEMU monitor: %s: %s", cmd, out)
	}
	return out, nil
}

// inb reads an I/O port: "portb[0x03d5] = 0x12".
func (m *hmp) inb(port int) (int, error) {
	out, err := m.run(fmt.Sprintf("i /b 0x%x", port))
	if err != nil {
		return 0, err
	}
	_, v, ok := strings.Cut(out, "= ")
	if !ok {
		return 0, fmt.Errorf("QEMU monitor: i /b 0x%x: %q", port, out)
	}
	n, err := strconv.ParseUint(strings.TrimSpace(v), 0, 8)
	return int(n), err
}

func (m *hmp) outb(port, v int) error {
	_, err := m.run(fmt.Sprintf("o /b 0x%x 0x%x", port, v))
	return err
}

// crtcStart reads the CRT controller's start address (registers 0x0c,
// 0x0d: the screen's first cell, counted in cells from 0xb8000), putting
// its index register back as the guest left it; 0 when it cannot.
func (m *hmp) crtcStart() int {
	const index, data = 0x3d4, 0x3d5
	was, err := m.inb(index)
	if err != nil {
		return 0
	}
	defer m.outb(index, was)
	var hl [2]int
	for i, reg := range []int{0x0c, 0x0d} {
		if m.outb(index, reg) != nil {
			return 0
		}
		if hl[i], err = m.inb(data); err != nil {
			return 0
		}
	}
	start := hl[0]<<8 | hl[1]
	if 2*start+vgaSize > 0x8000 { // not in the text memory: not text
		return 0
	}
	return start
}

// decodeVGAText turns a saved VGA text buffer into its lines, every other
// byte a character in code page 437, trailing spaces trimmed.
func decodeVGAText(b []byte) string {
	lines := make([]string, 0, vgaRows)
	for r := 0; r < vgaRows; r++ {
		var line strings.Builder
		for c := 0; c < vgaCols; c++ {
			i := (r*vgaCols + c) * 2
			if i >= len(b) {
				break
			}
			line.WriteRune(cp437(b[i]))
		}
		lines = append(lines, strings.TrimRight(line.String(), " "))
	}
	return strings.Join(lines, "\n")
}

// cp437 maps a VGA character to Unicode; 0 (an unwritten cell) is a space.
func cp437(c byte) rune {
	switch {
	case c == 0:
		return ' '
	case c < 0x20:
		return []rune(cp437Low)[c]
	case c < 0x7f:
		return rune(c)
	case c == 0x7f:
		return '⌂'
	}
	return []rune(cp437High)[c-0x80]
}

const (
	cp437Low  = " ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼"
	cp437High = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0"
)
