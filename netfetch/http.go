package netfetch

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// response is what get read of a server's answer: the status line, the
// headers, and the body, cut at its Content-Length.
type response struct {
	Code   int
	Status string // "404 Not Found"
	Header textproto.MIMEHeader
	Length int64 // Content-Length, -1 when not given
	Body   io.ReadCloser
}

// get sends one HTTP/1.1 GET for u (with Range from byte from, when not
// 0) on its own connection, over TLS (secure) for https://. It is the whole HTTP client of a network
// boot: net/http with its TLS stack would more than double the size of
// an init that every boot loads, and a file server's answer to a GET is
// a status line, headers and the bytes. TLS, which adds 2.1 MB more,
// comes from the caller (secure) so that only the programs that do
// https:// link it.
func get(ctx context.Context, u string, from int64, dialTimeout time.Duration, secure TLSClient) (*response, error) {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "http" && p.Scheme != "https" || p.Host == "" {
		return nil, &StatusError{URL: u, Status: "not an http:// or https:// URL"}
	}
	conn, err := dial(ctx, u, p, dialTimeout, secure)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // a cancelled try ends its reads
	req := "GET " + p.RequestURI() + " HTTP/1.1\r\nHost: " + p.Host + "\r\nUser-Agent: sandbox-init\r\nAccept-Encoding: identity\r\nConnection: close\r\n"
	if from > 0 {
		req += fmt.Sprintf("Range: bytes=%d-\r\n", from)
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetReadDeadline(time.Now().Add(dialTimeout)) // the answer's head
	r := bufio.NewReaderSize(conn, 64<<10)
	resp, err := readHead(textproto.NewReader(r))
	if err != nil {
		conn.Close()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			err = &stallError{window: dialTimeout} // connected, asked, no answer
		}
		return nil, err
	}
	conn.SetReadDeadline(time.Time{})
	body := &body{r: r, c: conn, stop: stop, left: resp.Length}
	resp.Body = body
	return resp, nil
}

// dial connects to p's server: TCP, then for https:// the TLS handshake
// (secure), in dialTimeout.
func dial(ctx context.Context, u string, p *url.URL, dialTimeout time.Duration, secure TLSClient) (net.Conn, error) {
	host, port := p.Host, map[string]string{"http": "80", "https": "443"}[p.Scheme]
	if p.Port() == "" {
		host = net.JoinHostPort(p.Hostname(), port)
	}
	if p.Scheme == "https" && secure == nil {
		return nil, &TrustError{URL: u, Err: errors.New("https:// needs TLS, and this program was built without it")}
	}
	d := net.Dialer{Timeout: dialTimeout}
	conn, err := d.DialContext(ctx, "tcp", host)
	if err != nil || p.Scheme == "http" {
		return conn, err
	}
	conn.SetDeadline(time.Now().Add(dialTimeout))
	tc, err := secure(ctx, conn, p.Hostname())
	if err != nil {
		conn.Close()
		var te *TrustError
		if errors.As(err, &te) {
			te.URL = u
		}
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return tc, nil
}

// readHead reads the status line and the headers.
func readHead(tp *textproto.Reader) (*response, error) {
	line, err := tp.ReadLine()
	if err != nil {
		return nil, fmt.Errorf("no answer: %w", err)
	}
	proto, status, ok := strings.Cut(line, " ")
	code, cerr := strconv.Atoi(strings.SplitN(status, " ", 2)[0])
	if !ok || !strings.HasPrefix(proto, "HTTP/1.") || cerr != nil {
		return nil, fmt.Errorf("not an HTTP answer: %q", line)
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		return nil, fmt.Errorf("bad headers: %w", err)
	}
	resp := &response{Code: code, Status: status, Header: h, Length: -1}
	if te := h.Get("Transfer-Encoding"); te != "" && te != "identity" {
		return nil, fmt.Errorf("the server answers with Transfer-Encoding %q, which a static file never needs", te)
	}
	if cl := h.Get("Content-Length"); cl != "" {
		if resp.Length, err = strconv.ParseInt(cl, 10, 64); err != nil || resp.Length < 0 {
			return nil, fmt.Errorf("bad Content-Length %q", cl)
		}
	}
	return resp, nil
}

// body reads a response's bytes up to its Content-Length (to the
// connection's end without one).
type body struct {
	r    *bufio.Reader
	c    net.Conn
	stop func() bool
	left int64 // -1: to the end
}

func (b *body) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, io.EOF
	}
	if b.left > 0 && int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	if b.left > 0 {
		b.left -= int64(n)
		if err == io.EOF && b.left > 0 {
			err = io.ErrUnexpectedEOF // the connection ended early
		}
	}
	if errors.Is(err, net.ErrClosed) {
		err = errors.New("connection closed")
	}
	return n, err
}

func (b *body) Close() error {
	b.stop()
	return b.c.Close()
}
