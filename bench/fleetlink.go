package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// link is bench fleet's throttled link: a TCP relay on 127.0.0.1 between
// the clients and nginx whose server-to-client bytes, all connections
// together, go at most rate bytes per second, like a fleet behind one
// uplink. It notes when each connection arrived, so that the tries a
// down server sees can be counted; while the server is down it accepts a
// connection and closes it at once, as a load balancer in front of a dead
// server does (a refused dial would be counted the same way), or answers
// 503 with Retry-After (busy).
type link struct {
	ln       net.Listener
	upstream string
	bytes    atomic.Int64 // server-to-client bytes relayed
	// busy, when not 0, is the Retry-After (seconds) of the 503 the relay
	// answers while the server is down, like a load balancer's
	// maintenance page; 0: the connection is closed at once.
	busy atomic.Int64

	bucket  bucket // the link's time, shared by every connection
	mu      sync.Mutex
	arrived []time.Time
	conns   map[net.Conn]bool
	wg      sync.WaitGroup
}

// linkChunk is what the relay reads and paces at a time: 1.3 ms at
// 100 Mbit/s, so the pacing is smooth at the rates measured.
const linkChunk = 16 << 10

// linkBurst is how far the link may run ahead of its rate after an idle
// spell: a few chunks, not a second's worth.
const linkBurst = 2 * time.Millisecond

// newLink listens on a free port of 127.0.0.1 and relays to upstream at
// bits per second.
func newLink(upstream string, bits float64) (*link, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l := &link{ln: ln, upstream: upstream, bucket: bucket{burst: linkBurst}, conns: map[net.Conn]bool{}}
	l.bucket.setRate(bits)
	l.wg.Add(1)
	go l.serve()
	return l, nil
}

func (l *link) addr() string { return l.ln.Addr().String() }

// setRate changes the link's rate (bits per second) between runs.
func (l *link) setRate(bits float64) { l.bucket.setRate(bits) }

// close stops listening and cuts every connection still open.
func (l *link) close() {
	l.ln.Close()
	l.mu.Lock()
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}

func (l *link) serve() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		l.arrived = append(l.arrived, time.Now())
		l.mu.Unlock()
		l.wg.Add(1)
		go l.relay(c)
	}
}

// track adds c to the open connections (on) or removes it.
func (l *link) track(c net.Conn, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if on {
		l.conns[c] = true
	} else {
		delete(l.conns, c)
	}
}

// relay joins c to a new connection to the server: the request as it
// comes, the answer paced. Either side's end closes both.
func (l *link) relay(c net.Conn) {
	defer l.wg.Done()
	defer c.Close()
	s, err := net.DialTimeout("tcp", l.upstream, time.Second)
	if err != nil {
		l.refuse(c) // the server is down
		return
	}
	defer s.Close()
	if tc, ok := s.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(64 << 10) // see newNginx's sndbuf
	}
	l.track(c, true)
	defer l.track(c, false)
	go func() {
		_, _ = io.Copy(s, c)
		s.Close()
	}()
	buf := make([]byte, linkChunk)
	for {
		n, err := s.Read(buf)
		if n > 0 {
			l.bucket.take(n)
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
			l.bytes.Add(int64(n))
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
				}
			}
			return
		}
	}
}

// refuse answers c while the server is down: its end, or with busy a 503
// with Retry-After once the request is in (closing a connection with an
// unread request resets it, and the client would never see the 503).
func (l *link) refuse(c net.Conn) {
	ra := l.busy.Load()
	if ra == 0 {
		return
	}
	_ = c.SetDeadline(time.Now().Add(time.Second))
	_, _ = c.Read(make([]byte, 4<<10)) // the client's GET: one write
	_, _ = fmt.Fprintf(c, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: %d\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", ra)
}

// arrivals are the connections that arrived in [from, to).
func (l *link) arrivals(from, to time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, t := range l.arrived {
		if !t.Before(from) && t.Before(to) {
			n++
		}
	}
	return n
}

// peak is the most connections that arrived in any window of width w
// that starts in [from, to).
func (l *link) peak(from, to time.Time, w time.Duration) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return peakIn(l.arrived, from, to, w)
}

// firstIn is the first of times (in order) in [from, to), and whether
// there is one.
func (l *link) firstIn(from, to time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range l.arrived {
		if !t.Before(from) && t.Before(to) {
			return t, true
		}
	}
	return time.Time{}, false
}

// peakIn is the most of times (in order) in any window of width w that
// starts in [from, to).
func peakIn(times []time.Time, from, to time.Time, w time.Duration) int {
	best := 0
	for i, t := range times {
		if t.Before(from) || !t.Before(to) {
			continue
		}
		n := 0
		for _, u := range times[i:] {
			if u.Sub(t) >= w {
				break
			}
			n++
		}
		best = max(best, n)
	}
	return best
}
