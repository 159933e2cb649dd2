package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

// The throttled link of bench livenet: QEMU's guestfwd runs "bench relay
// BPS LOG ADDR" for each connection the guest opens to the server's
// address, with the connection on its stdin and stdout. The relay dials
// ADDR (a server on 127.0.0.1) and copies both ways; the server's bytes
// to the guest go at BPS bits per second at most (a leaky bucket with
// 10 ms of burst), the guest's requests unpaced. Each connection appends
// "bytes seconds" to LOG when it closes (seconds from its first byte to
// its last), so the bench reports the rate the link gave, not the one it
// claims. The pace is per connection: every client of the bench opens one
// at a time (curl, our fetch, the NBD socket), so it is the link's.
const relayBurst = 10 * time.Millisecond

// relayMain is the relay's command line; its exit code.
func relayMain(args []string) int {
	if len(args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: bench relay BITS-PER-SECOND LOG HOST:PORT")
		return 2
	}
	bps, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || bps <= 0 {
		fmt.Fprintf(os.Stderr, "bench relay: %q: want bits per second\n", args[0])
		return 2
	}
	srv, err := net.Dial("tcp", args[2])
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench relay: %v\n", err)
		return 1
	}
	defer srv.Close()
	go func() {
		_, _ = io.Copy(srv, os.Stdin)
		if t, ok := srv.(*net.TCPConn); ok {
			_ = t.CloseWrite()
		}
	}()
	n, took, err := pace(os.Stdout, srv, bps)
	if f, ferr := os.OpenFile(args[1], os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); ferr == nil {
		fmt.Fprintf(f, "%d %.3f\n", n, took.Seconds())
		f.Close()
	}
	if err != nil {
		return 1
	}
	return 0
}

// pace copies r to w at bps bits per second at most; it returns the
// bytes copied and the time from the first byte read to the last written.
func pace(w io.Writer, r io.Reader, bps int64) (int64, time.Duration, error) {
	buf := make([]byte, 16<<10)
	link := &bucket{burst: relayBurst}
	link.setRate(float64(bps))
	var n int64
	var first time.Time
	for {
		k, err := r.Read(buf)
		if k > 0 {
			if first.IsZero() {
				first = time.Now()
			}
			link.take(k)
			if _, werr := w.Write(buf[:k]); werr != nil {
				return n, time.Since(first), werr
			}
			n += int64(k)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, time.Since(first), err
		}
	}
	if first.IsZero() {
		return 0, 0, nil
	}
	return n, time.Since(first), nil
}
