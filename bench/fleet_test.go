package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// serveBytes listens on 127.0.0.1 and writes n bytes to each connection.
func serveBytes(t *testing.T, n int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = c.Write(bytes.Repeat([]byte{7}, n))
			}()
		}
	}()
	return ln.Addr().String()
}

// TestLinkPacesAllConnectionsTogether: two readers of 512 KiB each through
// a 32 Mbit/s link (4 MB/s) share its rate: together they take at least
// the 1 MiB's time, not half of it (a per-connection limit) nor nothing.
func TestLinkPacesAllConnectionsTogether(t *testing.T) {
	const each = 512 << 10
	l, err := newLink(serveBytes(t, each), 32e6)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	start := time.Now()
	var wg sync.WaitGroup
	got := make([]int64, 2)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", l.addr())
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			got[i], _ = io.Copy(io.Discard, c)
		}()
	}
	wg.Wait()
	took, want := time.Since(start), time.Duration(float64(2*each)/4e6*float64(time.Second))
	if got[0] != each || got[1] != each {
		t.Fatalf("the readers got %v bytes, want %d each", got, each)
	}
	if took < want*9/10 || took > want*4 {
		t.Errorf("2 × %d bytes at 4 MB/s took %v, want about %v", each, took, want)
	}
	if l.bytes.Load() != 2*each {
		t.Errorf("the link counted %d bytes, want %d", l.bytes.Load(), 2*each)
	}
}

// TestLinkCountsTriesWhileDown: with nothing behind the link, each
// connection is accepted, counted and closed at once; with busy set, the
// request is answered 503 with that Retry-After.
func TestLinkCountsTriesWhileDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	l, err := newLink(dead, 8e6)
	if err != nil {
		t.Fatal(err)
	}
	defer l.close()
	start := time.Now()
	for range 3 {
		c, err := net.Dial("tcp", l.addr())
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Errorf("a connection to a down server: read %d, %v; want it closed (EOF)", n, err)
		}
		c.Close()
	}
	end := time.Now().Add(time.Millisecond)
	if n := l.arrivals(start, end); n != 3 {
		t.Errorf("arrivals = %d, want 3", n)
	}
	if n := l.arrivals(end, end.Add(time.Hour)); n != 0 {
		t.Errorf("arrivals after the tries = %d, want 0", n)
	}
	if p := l.peak(start, end, time.Hour); p != 3 {
		t.Errorf("peak = %d, want 3", p)
	}
	l.busy.Store(7) // a maintenance page instead
	c, err := net.Dial("tcp", l.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /image HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	answer, _ := io.ReadAll(c)
	if !bytes.HasPrefix(answer, []byte("HTTP/1.1 503 ")) || !bytes.Contains(answer, []byte("\r\nRetry-After: 7\r\n")) {
		t.Errorf("a busy link answered %q, want a 503 with Retry-After: 7", answer)
	}
}

// TestNginxRequestsByTheirStart: nginx stamps a request when it ends;
// requests counts it by when it began, and the 206s apart.
func TestNginxRequestsByTheirStart(t *testing.T) {
	dir := t.TempDir()
	log := "1000.500 0.100 200 4096\n" + // began at 1000.4
		"1003.000 2.500 206 9999\n" + // began at 1000.5
		"1001.200 0.000 206 10\n" + // began at 1001.2
		"garbage\n"
	if err := os.WriteFile(filepath.Join(dir, "access.log"), []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &fleetNginx{dir: dir}
	at := func(ms int64) time.Time { return time.UnixMilli(ms) }
	began, resumed, err := n.requests(at(1000_450), at(1001_000))
	if err != nil || len(began) != 1 || !began[0].Equal(at(1000_500)) || resumed != 1 {
		t.Errorf("requests begun in [1000.45, 1001) = %v (%d resumed), %v; want 1000.5 (1)", began, resumed, err)
	}
	began, resumed, _ = n.requests(at(1000_000), at(1002_000))
	if len(began) != 3 || resumed != 2 {
		t.Errorf("requests begun in [1000, 1002) = %v (%d resumed); want 3 (2)", began, resumed)
	}
	if p := peakIn(began, at(1000_000), at(1002_000), 200*time.Millisecond); p != 2 {
		t.Errorf("the most requests begun within 200 ms = %d, want 2 (1000.4 and 1000.5)", p)
	}
}
