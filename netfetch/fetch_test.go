package netfetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

var payload = func() []byte {
	b := make([]byte, 3<<20+123)
	rand.New(rand.NewSource(1)).Read(b)
	return b
}()

// server serves payload with Range (http.ServeContent); before, when set,
// may answer a request itself (returning true).
type server struct {
	mu     sync.Mutex
	reqs   []string // "GET range" of each request
	before func(n int, w http.ResponseWriter, r *http.Request) bool
}

func (s *server) start(t *testing.T) *httptest.Server {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r.Header.Get("Range"))
		n := len(s.reqs)
		s.mu.Unlock()
		if s.before != nil && s.before(n, w, r) {
			return
		}
		http.ServeContent(w, r, "img", time.Time{}, bytes.NewReader(payload))
	}))
	t.Cleanup(ts.Close)
	return ts
}

// cut sends the first n bytes of what the request asks for, then drops the
// connection.
func cut(w http.ResponseWriter, n int) {
	w.Header().Set("Content-Length", fmt.Sprint(len(payload)))
	w.WriteHeader(200)
	w.Write(payload[:n])
	w.(http.Flusher).Flush()
	conn, _, _ := w.(http.Hijacker).Hijack()
	conn.Close()
}

func fast() *Fetcher {
	return &Fetcher{Budget: 10 * time.Second, Stall: time.Second, Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
}

func TestGet(t *testing.T) {
	s := &server{}
	ts := s.start(t)
	var out bytes.Buffer
	var shown []Progress
	f := fast()
	f.Every = time.Nanosecond
	f.Progress = func(p Progress) { shown = append(shown, p) }
	var announced int64
	f.Start = func(total int64) error {
		if out.Len() > 0 {
			t.Error("Start after the first byte")
		}
		announced = total
		return nil
	}
	r, err := f.Get(context.Background(), []string{ts.URL + "/img"}, &out)
	if announced != int64(len(payload)) {
		t.Errorf("Start(%d), want the size %d", announced, len(payload))
	}
	if err != nil || !bytes.Equal(out.Bytes(), payload) || r.Tries != 1 {
		t.Fatalf("Get = %+v, %v; equal %v", r, err, bytes.Equal(out.Bytes(), payload))
	}
	last := shown[len(shown)-1]
	if last.Done != int64(len(payload)) || last.Total != int64(len(payload)) || last.Rate <= 0 {
		t.Errorf("last progress %+v", last)
	}
}

// TestResume: a connection dropped after 1 MiB, one that stalls, one that
// trickles and one that never answers are left and resumed with Range from
// the byte they stopped at, the first try's failure saying why; a server
// that ignores Range (200 with the whole file) is read from where we stand.
func TestResume(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before func(n int, w http.ResponseWriter, r *http.Request) bool
		want   string // the second request's Range
		says   string // the first try's failure
	}{
		{"drop", func(n int, w http.ResponseWriter, r *http.Request) bool {
			if n == 1 {
				cut(w, 1<<20)
			}
			return n == 1
		}, "bytes=1048576-", "at byte 1048576: unexpected EOF"},
		{"stall", func(n int, w http.ResponseWriter, r *http.Request) bool {
			if n == 1 {
				send(w, r, 1<<20, 0)
			}
			return n == 1
		}, "bytes=1048576-", "stalled: no byte for 1s, at byte 1048576"},
		{"trickle", func(n int, w http.ResponseWriter, r *http.Request) bool {
			if n == 1 {
				send(w, r, 1<<20, 20) // 400 bytes a second
			}
			return n == 1
		}, "bytes=10", "stalled: a trickle of "},
		{"no answer", func(n int, w http.ResponseWriter, r *http.Request) bool {
			if n == 1 {
				<-r.Context().Done()
			}
			return n == 1
		}, "", "/img: stalled: no byte for 1s"},
		{"no range support", func(n int, w http.ResponseWriter, r *http.Request) bool {
			if n == 1 {
				cut(w, 1<<20)
			} else {
				w.Header().Set("Content-Length", fmt.Sprint(len(payload)))
				w.Write(payload) // Range ignored
			}
			return true
		}, "bytes=1048576-", "at byte 1048576"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &server{before: tc.before}
			ts := s.start(t)
			var out bytes.Buffer
			f := fast()
			var said []string
			f.Retry = func(try int, url string, err error, wait time.Duration, done int64) { said = append(said, err.Error()) }
			t0 := time.Now()
			r, err := f.Get(context.Background(), []string{ts.URL + "/img"}, &out)
			if err != nil || !bytes.Equal(out.Bytes(), payload) {
				t.Fatalf("Get = %+v, %v; %d bytes, equal %v", r, err, out.Len(), bytes.Equal(out.Bytes(), payload))
			}
			if len(s.reqs) != 2 || s.reqs[0] != "" || !strings.HasPrefix(s.reqs[1], tc.want) {
				t.Errorf("requests' ranges %q, want [\"\" %q…]", s.reqs, tc.want)
			}
			if len(said) != 1 || !strings.Contains(said[0], tc.says) {
				t.Errorf("the failed tries said %q, want %q", said, tc.says)
			}
			if took := time.Since(t0); took > f.Stall*5/2 {
				t.Errorf("took %v: a stall of Stall (%v) was not left in time", took, f.Stall)
			}
		})
	}
}

// send answers with the first n bytes of payload, then trickle bytes
// every 50 ms (none when 0), until the client drops the connection.
func send(w http.ResponseWriter, r *http.Request, n, trickle int) {
	w.Header().Set("Content-Length", fmt.Sprint(len(payload)))
	w.Write(payload[:n])
	w.(http.Flusher).Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
		if trickle > 0 {
			w.Write(payload[n : n+trickle])
			w.(http.Flusher).Flush()
			n += trickle
		}
	}
}

// TestNotThere: 404 and 403 fail at once, without retries; a mirror that
// says 404 is skipped for the next one.
func TestNotThere(t *testing.T) {
	for _, code := range []int{404, 403} {
		s := &server{before: func(n int, w http.ResponseWriter, r *http.Request) bool { w.WriteHeader(code); return true }}
		ts := s.start(t)
		t0 := time.Now()
		_, err := fast().Get(context.Background(), []string{ts.URL + "/img"}, &bytes.Buffer{})
		var se *StatusError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), fmt.Sprint(code)) || len(s.reqs) != 1 || time.Since(t0) > time.Second {
			t.Errorf("%d: %v after %d requests", code, err, len(s.reqs))
		}
	}
	gone := &server{before: func(n int, w http.ResponseWriter, r *http.Request) bool { w.WriteHeader(404); return true }}
	good := &server{}
	var out bytes.Buffer
	f := fast()
	var dropped []string
	f.Dropped = func(url string, err error) { dropped = append(dropped, err.Error()) }
	r, err := f.Get(context.Background(), []string{gone.start(t).URL + "/img", good.start(t).URL + "/img"}, &out)
	if len(dropped) != 1 || !strings.Contains(dropped[0], "404") {
		t.Errorf("dropped mirrors said: %q", dropped)
	}
	if err != nil || !bytes.Equal(out.Bytes(), payload) || !strings.HasPrefix(r.URL, "http://") || len(gone.reqs) != 1 {
		t.Errorf("mirrors: %+v %v, the 404 mirror asked %d times", r, err, len(gone.reqs))
	}
}

// TestRetryAfter: a 503 with Retry-After: 1 makes the next try wait a
// second (and no more than a second and the jitter, half of it).
func TestRetryAfter(t *testing.T) {
	s := &server{before: func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(503)
		}
		return n == 1
	}}
	ts := s.start(t)
	f := fast()
	var waited time.Duration
	f.Retry = func(try int, url string, err error, wait time.Duration, done int64) {
		if try == 1 { // a later try may fail too on a loaded host
			waited = wait
		}
	}
	t0 := time.Now()
	if _, err := f.Get(context.Background(), []string{ts.URL}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if waited < time.Second || waited > time.Second*3/2 || time.Since(t0) < time.Second {
		t.Errorf("waited %v (took %v), want Retry-After's 1s", waited, time.Since(t0))
	}
}

// TestBudget: a server that always fails is given up on after the budget,
// with the tries and the last error named, the waits growing.
func TestBudget(t *testing.T) {
	s := &server{before: func(n int, w http.ResponseWriter, r *http.Request) bool { w.WriteHeader(500); return true }}
	ts := s.start(t)
	f := fast()
	f.Budget = 400 * time.Millisecond
	var waits []time.Duration
	f.Retry = func(try int, url string, err error, wait time.Duration, done int64) { waits = append(waits, wait) }
	t0 := time.Now()
	_, err := f.Get(context.Background(), []string{ts.URL}, &bytes.Buffer{})
	var be *BudgetError
	if !errors.As(err, &be) || be.Tries < 3 || !strings.Contains(err.Error(), "500") {
		t.Fatalf("Get = %v", err)
	}
	if took := time.Since(t0); took < f.Budget || took > f.Budget+time.Second {
		t.Errorf("gave up after %v, budget %v", took, f.Budget)
	}
	if waits[0] > f.Backoff || waits[len(waits)-1] < f.MaxBackoff/2 {
		t.Errorf("waits %v: want from under %v up to at least %v", waits, f.Backoff, f.MaxBackoff/2)
	}
}

// TestJitter: two machines that failed together wait different times, each
// within [d/2, d) of the backoff.
func TestJitter(t *testing.T) {
	a, b := fast(), fast()
	a.defaults()
	b.defaults()
	a.Jitter, b.Jitter = func() float64 { return 0 }, func() float64 { return 0.99 }
	for r := 0; r < 6; r++ {
		wa, wb := a.wait(r, 0), b.wait(r, 0)
		d := min(a.Backoff<<r, a.MaxBackoff)
		if wa == wb || wa < d/2 || wb >= d {
			t.Errorf("round %d: waits %v and %v, backoff %v", r, wa, wb, d)
		}
	}
}

// TestBackoffResetsAfterProgress: a download whose connection drops three
// times, each after a MiB more, waits the first backoff each time; the
// rounds double only while tries bring nothing (the last two).
func TestBackoffResetsAfterProgress(t *testing.T) {
	s := &server{before: func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n <= 3 {
			var from int
			fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-", &from)
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, len(payload)-1, len(payload)))
			w.Header().Set("Content-Length", fmt.Sprint(len(payload)-from))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(payload[from : from+1<<20])
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return true
		}
		if n <= 5 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	}}
	ts := s.start(t)
	f := fast()
	f.MaxBackoff = time.Second
	var waits []time.Duration
	f.Retry = func(try int, url string, err error, wait time.Duration, done int64) { waits = append(waits, wait) }
	var out bytes.Buffer
	if _, err := f.Get(context.Background(), []string{ts.URL + "/img"}, &out); err != nil || !bytes.Equal(out.Bytes(), payload) {
		t.Fatalf("%v, %d bytes", err, out.Len())
	}
	if len(waits) != 5 {
		t.Fatalf("%d retries, want 5: %v", len(waits), waits)
	}
	for i, w := range waits[:3] {
		if w >= f.Backoff {
			t.Errorf("retry %d after a MiB more waits %v, want under the first backoff %v (all: %v)", i+1, w, f.Backoff, waits)
		}
	}
	if waits[4] < f.Backoff*2 {
		t.Errorf("the second try without progress waits %v, want the doubled backoff (all: %v)", waits[4], waits)
	}
}

// TestRetryAfterSpreads: machines told the same Retry-After wait at least
// that long, and apart by up to half of it, not by the first backoff
// only: a fleet does not come back to a recovering server at once.
func TestRetryAfterSpreads(t *testing.T) {
	a, b := &Fetcher{}, &Fetcher{}
	a.defaults()
	b.defaults()
	a.Jitter, b.Jitter = func() float64 { return 0 }, func() float64 { return 0.99 }
	ra := 10 * time.Second
	wa, wb := a.wait(3, ra), b.wait(3, ra)
	if wa != ra || wb < ra*14/10 || wb > ra*3/2 {
		t.Errorf("Retry-After %v: waits %v and %v, want %v and about %v", ra, wa, wb, ra, ra*3/2)
	}
	// A short Retry-After still spreads by the first backoff.
	if w := b.wait(0, 100*time.Millisecond); w < 100*time.Millisecond+b.Backoff*9/10 {
		t.Errorf("Retry-After 100ms: the top wait is %v, want about %v", w, 100*time.Millisecond+b.Backoff)
	}
}

type refuser struct {
	bytes.Buffer
	at int
}

func (r *refuser) Write(b []byte) (int, error) {
	if r.Len()+len(b) > r.at {
		n, _ := r.Buffer.Write(b[:r.at-r.Len()])
		return n, errors.New("block 7 does not match")
	}
	return r.Buffer.Write(b)
}

// TestSinkRefuses: what the writer refuses stops the download at once,
// naming the URL and the offset.
func TestSinkRefuses(t *testing.T) {
	s := &server{}
	ts := s.start(t)
	_, err := fast().Get(context.Background(), []string{ts.URL + "/img"}, &refuser{at: 7 * 4096})
	var se *SinkError
	if !errors.As(err, &se) || se.Offset != 7*4096 || se.URL != ts.URL+"/img" || len(s.reqs) != 1 {
		t.Fatalf("Get = %v, %d requests", err, len(s.reqs))
	}
}

// TestStartRefuses: a Start that refuses (no room in RAM) ends the
// download before the first byte, after one request.
func TestStartRefuses(t *testing.T) {
	s := &server{}
	ts := s.start(t)
	f := fast()
	f.Start = func(total int64) error { return fmt.Errorf("%d bytes do not fit", total) }
	var out bytes.Buffer
	_, err := f.Get(context.Background(), []string{ts.URL}, &out)
	if err == nil || !strings.Contains(err.Error(), "do not fit") || out.Len() != 0 || len(s.reqs) != 1 {
		t.Fatalf("Get = %v, %d bytes, %d requests", err, out.Len(), len(s.reqs))
	}
}

func TestHeaders(t *testing.T) {
	if s, tot, ok := contentRange("bytes 100-199/1000"); !ok || s != 100 || tot != 1000 {
		t.Error(s, tot, ok)
	}
	if _, tot, ok := contentRange("bytes 5-9/*"); !ok || tot != -1 {
		t.Error(tot, ok)
	}
	if _, _, ok := contentRange("items 1-2/3"); ok {
		t.Error("took items")
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	if d := retryAfter("Sun, 06 Dec 2026 12:00:30 GMT", now); d != 30*time.Second {
		t.Error(d)
	}
	if d := retryAfter("7", now); d != 7*time.Second {
		t.Error(d)
	}
	if got := Mirrors(" http://a/x , http://b/x,"); len(got) != 2 || got[1] != "http://b/x" {
		t.Error(got)
	}
}

// TestChunkedRefused: an answer without Content-Length in chunks (no
// static file server sends one) is refused by name, not misread.
func TestChunkedRefused(t *testing.T) {
	s := &server{before: func(n int, w http.ResponseWriter, r *http.Request) bool {
		w.Write(payload[:100])
		w.(http.Flusher).Flush() // no length: Go's server goes chunked
		w.Write(payload[100:200])
		return true
	}}
	ts := s.start(t)
	f := fast()
	f.Budget = 100 * time.Millisecond
	_, err := f.Get(context.Background(), []string{ts.URL}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `Transfer-Encoding "chunked"`) {
		t.Fatalf("Get = %v", err)
	}
}

// TestHTTPSWithoutTLS: a Fetcher without a TLSClient refuses an https://
// URL at once (a TrustError, no retry), and moves on to the next mirror.
func TestHTTPSWithoutTLS(t *testing.T) {
	s := &server{}
	ts := s.start(t)
	var out bytes.Buffer
	f := fast()
	var dropped []string
	f.Dropped = func(url string, err error) { dropped = append(dropped, err.Error()) }
	secure := strings.Replace(ts.URL, "http:", "https:", 1) + "/img"
	r, err := f.Get(context.Background(), []string{secure, ts.URL + "/img"}, &out)
	if err != nil || !bytes.Equal(out.Bytes(), payload) || r.Tries != 2 || len(s.reqs) != 1 {
		t.Fatalf("Get = %+v, %v; %d requests", r, err, len(s.reqs))
	}
	if len(dropped) != 1 || !strings.Contains(dropped[0], secure+": https:// needs TLS, and this program was built without it") {
		t.Errorf("dropped: %q", dropped)
	}
	_, err = f.Get(context.Background(), []string{secure}, &out)
	var te *TrustError
	if !errors.As(err, &te) {
		t.Errorf("alone: %v (%T), want a TrustError", err, err)
	}
}

// TestIPv6Literal: an IPv6 literal URL (as a DHCPv6 boot file URL names
// its server, http://[fd00::1]/…) is dialled as such, its Host header in
// brackets, and resumed with Range like any other.
func TestIPv6Literal(t *testing.T) {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatalf("no IPv6 loopback: %v", err)
	}
	s := &server{before: func(n int, w http.ResponseWriter, r *http.Request) bool {
		if r.Host != l.Addr().String() {
			t.Errorf("Host %q, want %q", r.Host, l.Addr())
		}
		if n == 1 {
			cut(w, 1<<20)
			return true
		}
		return false
	}}
	ts := httptest.NewUnstartedServer(nil)
	ts.Listener.Close()
	ts.Listener = l
	ts.Config.Handler = s.start(t).Config.Handler
	ts.Start()
	t.Cleanup(ts.Close)
	var out bytes.Buffer
	r, err := fast().Get(context.Background(), []string{"http://" + l.Addr().String() + "/img"}, &out)
	if err != nil || !bytes.Equal(out.Bytes(), payload) || r.Tries != 2 || s.reqs[1] != "bytes=1048576-" {
		t.Fatalf("Get = %+v, %v; equal %v; requests %q", r, err, bytes.Equal(out.Bytes(), payload), s.reqs)
	}
}
