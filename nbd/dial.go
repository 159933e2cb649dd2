package nbd

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"time"
)

// Conn is a connection in the transmission phase.
type Conn struct {
	*net.TCPConn
	Export Export
}

// DialTimeout bounds one connection and its handshake, at boot and in
// the watcher's reconnect alike: a server that answers at all answers
// well within it.
const DialTimeout = 10 * time.Second

// Dial connects to addr (HOST:PORT) and runs the handshake for export,
// all within timeout.
func Dial(addr, export string, timeout time.Duration) (*Conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	tc := c.(*net.TCPConn)
	_ = tc.SetDeadline(time.Now().Add(timeout))
	e, err := Handshake(tc, export)
	if err != nil {
		tc.Close()
		return nil, err
	}
	_ = tc.SetDeadline(time.Time{})
	_ = tc.SetKeepAlive(true)
	return &Conn{TCPConn: tc, Export: e}, nil
}

// ReadAt reads len(p) bytes of the export at off.
func (c *Conn) ReadAt(p []byte, off uint64) error { return ReadAt(c.TCPConn, p, off) }

// Handover is the connection's socket as a blocking file for the kernel
// (the kernel's nbd reads and writes it itself); the Conn is closed, the
// file is the caller's to close once the kernel holds the socket.
func (c *Conn) Handover() (*os.File, error) {
	f, err := c.TCPConn.File() // a dup, set blocking
	c.TCPConn.Close()
	if err != nil {
		return nil, fmt.Errorf("the socket's file: %w", err)
	}
	return f, nil
}

// Backoff is the wait before try n+1 (n from 0): half a second doubling
// to 10 s, the upper half of each random, so that a fleet that lost its
// server does not come back to it in lockstep.
func Backoff(n int) time.Duration {
	d := 10 * time.Second
	if n < 5 {
		d = 500 * time.Millisecond << n
	}
	return d/2 + rand.N(d/2+1)
}

// Retryable tells a failure another try may cure (the server down or
// restarting, the network) from one it cannot: the server's refusal of
// the export, or a server that is not one.
func Retryable(err error) bool {
	var oe *OptionError
	var pe *ProtocolError
	return !errors.As(err, &oe) && !errors.As(err, &pe)
}
