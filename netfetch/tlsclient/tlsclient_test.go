package tlsclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sandbox-init/sandbox-init/internal/testca"
	"github.com/sandbox-init/sandbox-init/netfetch"
)

// payload is 2.2 MB: a cut after 1 MiB leaves a resume to do.
var payload = bytes.Repeat([]byte("sandbox-init, over TLS: 32 bytes"), 70000)

// site is an HTTPS server with a certificate of its CA for names; it
// records each request's SNI and Range.
type site struct {
	mu    sync.Mutex
	sni   []string
	rng   []string
	conns int
	cut   bool // drop the first answer after 1 MiB
	url   string
}

func serve(t *testing.T, ca *testca.CA, host string, names ...string) *site {
	t.Helper()
	srv, err := ca.Issue(names...)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := srv.TLS()
	if err != nil {
		t.Fatal(err)
	}
	s := &site{}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.sni, s.rng = append(s.sni, r.TLS.ServerName), append(s.rng, r.Header.Get("Range"))
		first := len(s.rng) == 1
		s.mu.Unlock()
		if first && s.cut {
			w.Header().Set("Content-Length", fmt.Sprint(len(payload)))
			w.Write(payload[:1<<20])
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		http.ServeContent(w, r, "img", time.Time{}, bytes.NewReader(payload))
	}))
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
		}
	}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	s.url = "https://" + strings.Replace(ts.Listener.Addr().String(), "127.0.0.1", host, 1) + "/img"
	return s
}

func newCA(t *testing.T, name string) *testca.CA {
	t.Helper()
	ca, err := testca.New(name)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func client(t *testing.T, ca *testca.CA) *Client {
	t.Helper()
	c, err := Parse(ca.PEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func fetch(c *Client, url string) (netfetch.Result, []byte, error) {
	f := &netfetch.Fetcher{Budget: 10 * time.Second, Stall: 2 * time.Second, Backoff: 10 * time.Millisecond, TLS: c.Handshake}
	var out bytes.Buffer
	r, err := f.Get(context.Background(), []string{url}, &out)
	return r, out.Bytes(), err
}

// TestHTTPS: the file over TLS from a server whose certificate the
// bundle's CA signed, with the URL's host name as SNI; a connection
// dropped after 1 MiB resumes with Range over TLS like over HTTP.
func TestHTTPS(t *testing.T) {
	ca := newCA(t, "Test CA")
	for _, cut := range []bool{false, true} {
		s := serve(t, ca, "localhost", "localhost")
		s.cut = cut
		r, got, err := fetch(client(t, ca), s.url)
		if err != nil || !bytes.Equal(got, payload) {
			t.Fatalf("cut %v: Get = %+v, %v; %d bytes, equal %v", cut, r, err, len(got), bytes.Equal(got, payload))
		}
		want := []string{""}
		if cut {
			want = append(want, "bytes=1048576-")
		}
		if fmt.Sprint(s.rng) != fmt.Sprint(want) || s.sni[0] != "localhost" {
			t.Errorf("cut %v: ranges %q (want %q), SNI %q", cut, s.rng, want, s.sni)
		}
	}
}

// TestRefused: each way a server is not trusted fails at once (one
// connection, no retry) with the cause a user can act on and its fix.
func TestRefused(t *testing.T) {
	ca := newCA(t, "Test CA")
	for _, tc := range []struct {
		name   string
		server func() *site
		now    time.Time
		want   []string
	}{
		{"WrongCA", func() *site { return serve(t, newCA(t, "Other CA"), "localhost", "localhost") }, time.Time{},
			[]string{`issued by "CN=Other CA,O=sandbox-init tests", which is not the one CA of the bundle`, "mklive -ca FILE"}},
		{"Clock2000", func() *site { return serve(t, ca, "localhost", "localhost") }, time.Date(2000, 1, 1, 0, 0, 5, 0, time.UTC),
			[]string{"TLS: the clock says 2000-01-01 00:00:05 UTC; the certificate of localhost (CN=localhost) is valid from ", "this machine's clock is wrong", "set the clock (the RTC"}},
		{"Expired", func() *site { return serve(t, ca, "localhost", "localhost") }, time.Now().Add(2 * 365 * 24 * time.Hour),
			[]string{"it has expired, or this machine's clock is ahead", "renew the server's certificate"}},
		{"Hostname", func() *site { return serve(t, ca, "127.0.0.1", "localhost") }, time.Time{},
			[]string{"TLS: the certificate the server sent is for localhost, not 127.0.0.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.server()
			c := client(t, ca)
			if !tc.now.IsZero() {
				c.Now = func() time.Time { return tc.now }
			}
			r, _, err := fetch(c, s.url)
			var te *netfetch.TrustError
			if !errors.As(err, &te) || r.Tries != 1 || s.conns != 1 || len(s.rng) != 0 {
				t.Fatalf("Get = %+v, %v (%T); %d connections, %d requests: want a TrustError at the first try", r, err, err, s.conns, len(s.rng))
			}
			msg := te.Error() + " | " + te.Hint
			if !strings.HasPrefix(msg, s.url+": ") {
				t.Errorf("the error does not start with the URL: %s", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
		})
	}
}

// TestNotTLS: an https:// URL whose server speaks plain HTTP is refused
// at once and named.
func TestNotTLS(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ts.Close()
	_, _, err := fetch(client(t, newCA(t, "Test CA")), strings.Replace(ts.URL, "http:", "https:", 1)+"/img")
	var te *netfetch.TrustError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "does not speak TLS on that port") {
		t.Fatalf("Get: %v", err)
	}
}

// TestParse: a bundle with no certificate, or a broken one, is refused;
// the CAs of a bundle are counted.
func TestParse(t *testing.T) {
	a, b := newCA(t, "A"), newCA(t, "B")
	c, err := Parse(append(append([]byte("# a comment\n"), a.PEM...), b.PEM...))
	if err != nil || c.CAs != 2 || c.Count() != "any of the 2 CAs" {
		t.Errorf("two CAs: %+v, %v", c, err)
	}
	if _, err := Parse([]byte("nothing")); err == nil {
		t.Error("a bundle without certificates is taken")
	}
	bad := bytes.Replace(a.PEM, []byte("MII"), []byte("MIA"), 1)
	if _, err := Parse(bad); err == nil {
		t.Error("a broken certificate is taken")
	}
}
