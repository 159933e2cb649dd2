// Package netfetch downloads one file over HTTP (or HTTPS, with a
// TLSClient such as package tlsclient's) from a list of mirrors into
// a writer, the way a network boot needs it: a dropped or stalled
// connection resumes where it stopped (Range), retries back off
// exponentially with jitter (a fleet booting at once must not hammer a
// recovering server in lockstep) and honour Retry-After, the whole has a
// bounded time budget, and a server that says the file is not there (404,
// 403, 410, 401) is not asked again. What the writer refuses (a block that
// fails its hash) stops the download at once. The package touches no
// device: it is tested against httptest servers.
package netfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"time"
)

// Fetcher holds a download's policy. The zero value of a field takes the
// default named on it.
type Fetcher struct {
	Budget time.Duration // the whole download, retries included: 2m
	// Stall: no byte for this long (no connection, no answer), or fewer
	// than Trickle bytes in the last Stall, ends a try: 10s.
	Stall time.Duration
	// Trickle is the fewest bytes a connection must bring in any Stall
	// (16 KiB: 1.6 KiB/s at 10s), so that a server throttled to a trickle
	// is left and resumed from like one that stopped, not waited on
	// until the budget ends. A 100-machine boot storm on 10 Mbit/s gets
	// 12 KiB/s each, well above it.
	Trickle    int64
	Backoff    time.Duration // the first retry's wait: 500ms, doubled each retry
	MaxBackoff time.Duration // the longest wait between tries: 20s
	// Every is the pace of Progress calls (2s): a console line per
	// chunk of a fast download would slow it.
	Every    time.Duration
	Progress func(Progress)
	// Start, when set, is called once, before the first byte reaches the
	// writer, with the file's size as the first server announced it (-1:
	// not announced): room is made, or refused (its error ends Get).
	Start func(total int64) error
	// Dropped, when set, hears of a mirror given up for good (404 and
	// the like) while others remain.
	Dropped func(url string, err error)
	// Retry, when set, hears of each failed try before the wait, with
	// the bytes in so far (where the next try resumes).
	Retry func(try int, url string, err error, wait time.Duration, done int64)
	// TLS makes the connections of https:// URLs TLS ones; nil: such
	// URLs fail (TrustError).
	TLS TLSClient
	// Jitter returns a number in [0, 1): the share of each wait that is
	// random. Default math/rand/v2.
	Jitter func() float64
}

// Progress is how far a download is.
type Progress struct {
	URL         string
	Done, Total int64         // bytes; Total 0 when the server did not say
	Rate        float64       // bytes per second since the start
	Left        time.Duration // at that rate; 0 when unknown
}

// Result is what a finished download took.
type Result struct {
	URL   string // the mirror that served the last byte
	Bytes int64
	Tries int
	Took  time.Duration
}

// StatusError is a server's answer that says the file is not to be had
// there: asking again will not help.
type StatusError struct {
	URL    string
	Status string
}

func (e *StatusError) Error() string { return e.URL + ": HTTP " + e.Status }

// TLSClient makes conn, a TCP connection to the server of an https://
// URL, a TLS one: the handshake with serverName (the URL's host, for SNI
// and the certificate's check). A server that cannot be trusted (its
// certificate does not verify) is a *TrustError: its mirror is dropped.
// Any other error is the network's and is retried.
type TLSClient func(ctx context.Context, conn net.Conn, serverName string) (net.Conn, error)

// TrustError is a server refused for what it is, not for how the network
// behaved (a certificate that does not verify, no TLS to talk to an
// https:// URL): asking it again will not help. Hint, when set, says the
// fix.
type TrustError struct {
	URL  string
	Err  error
	Hint string
}

func (e *TrustError) Error() string { return e.URL + ": " + e.Err.Error() }

func (e *TrustError) Unwrap() error { return e.Err }

// permanent tells the failures that drop a mirror for good.
func permanent(err error) bool {
	var se *StatusError
	var te *TrustError
	return errors.As(err, &se) || errors.As(err, &te)
}

// SinkError is the writer's refusal of the bytes at Offset (of URL): the
// download stops at once.
type SinkError struct {
	URL    string
	Offset int64
	Err    error
}

func (e *SinkError) Error() string {
	return fmt.Sprintf("%s: the bytes from offset %d: %v", e.URL, e.Offset, e.Err)
}

func (e *SinkError) Unwrap() error { return e.Err }

// BudgetError is a download given up: the budget spent, every mirror
// tried.
type BudgetError struct {
	Tries  int
	Took   time.Duration
	Done   int64
	Last   error // the last try's failure
	Budget time.Duration
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("gave up after %d tries in %v (budget %v), %d bytes in: last error: %v",
		e.Tries, e.Took.Round(time.Millisecond), e.Budget, e.Done, e.Last)
}

func (e *BudgetError) Unwrap() error { return e.Last }

func (f *Fetcher) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&f.Budget, 2*time.Minute)
	def(&f.Stall, 10*time.Second)
	if f.Trickle == 0 {
		f.Trickle = 16 << 10
	}
	def(&f.Backoff, 500*time.Millisecond)
	def(&f.MaxBackoff, 20*time.Second)
	def(&f.Every, 2*time.Second)
	if f.Jitter == nil {
		f.Jitter = rand.Float64
	}
}

// Get writes the file the mirrors serve to w, from its first byte to its
// last, each byte once. Mirrors are tried in order; a try that fails moves
// on to the next, and after a round of them the fetcher waits (backoff).
// A mirror that answers 404, 403, 410 or 401, or whose TLS certificate
// does not verify, is dropped; when none is left, Get fails at once with
// that StatusError (or TrustError).
func (f *Fetcher) Get(ctx context.Context, mirrors []string, w io.Writer) (Result, error) {
	f.defaults()
	d := &download{f: f, w: w, start: time.Now(), live: append([]string(nil), mirrors...)}
	ctx, cancel := context.WithTimeout(ctx, f.Budget)
	defer cancel()
	deadline, _ := ctx.Deadline()
	for i := 0; ; i++ {
		if len(d.live) == 0 {
			return d.result(), d.last
		}
		m := i % len(d.live)
		url := d.live[m]
		d.tries++
		before := d.done
		done, err := d.try(ctx, url)
		if done {
			return d.result(), nil
		}
		// A try cut by the budget's end (a dial can see the deadline
		// before ctx says it passed) says less than the one before.
		cut := ctx.Err() != nil || !time.Now().Before(deadline)
		if !cut || d.last == nil {
			d.last = err
		}
		var sink *SinkError
		switch {
		case errors.As(err, &sink):
			return d.result(), err
		case permanent(err):
			d.live = append(d.live[:m], d.live[m+1:]...)
			if f.Dropped != nil && len(d.live) > 0 {
				f.Dropped(url, err)
			}
			i--
			continue
		}
		if cut { // no retry to announce
			return d.result(), d.spent()
		}
		if d.done-before >= progressReset { // the server was serving: a new failure, not the old one
			d.round = 0
		}
		wait := time.Duration(0)
		if m == len(d.live)-1 { // a round of the mirrors is over
			wait = f.wait(d.round, d.retryAfter)
			d.round++
		}
		d.retryAfter = 0
		if f.Retry != nil {
			f.Retry(d.tries, url, err, wait, d.done)
		}
		select {
		case <-ctx.Done():
			return d.result(), d.spent()
		case <-time.After(wait):
		}
	}
}

// progressReset is what a failed try must have brought for the backoff to
// start again from its first wait: a link that drops now and then, after
// minutes of serving, is not a server that has been down since the first
// failure (whose rounds double the wait), and its download would
// otherwise wait up to MaxBackoff at each later drop. Less than this
// (a server that answers and drops at once) keeps the rounds growing.
const progressReset = 1 << 20

// wait is the pause after round r of failed tries: the server's
// Retry-After when it gave one, else an exponential backoff of which the
// upper half is random, so that machines that failed together retry apart.
// Retry-After gets a random share on top of up to half its own length (at
// least Backoff): a server that tells a whole fleet the same time would
// otherwise see it come back at once (bench fleet: with a fixed 0.5 s,
// 63 of 64 clients told "Retry-After: 5" came back within one second).
func (f *Fetcher) wait(r int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter + time.Duration(f.Jitter()*float64(max(f.Backoff, retryAfter/2))) // the budget bounds it
	}
	d := f.Backoff << min(r, 16)
	if d > f.MaxBackoff || d <= 0 {
		d = f.MaxBackoff
	}
	return d/2 + time.Duration(f.Jitter()*float64(d/2))
}

// download is one Get's state across its tries.
type download struct {
	f          *Fetcher
	w          io.Writer
	start      time.Time
	live       []string
	done       int64 // bytes written to w
	total      int64 // the file's size, once a server said it
	tries      int
	round      int
	url        string // the mirror that served the last bytes
	last       error
	retryAfter time.Duration
	lastShown  time.Time
	started    bool // Start was called
}

// spent is the BudgetError of a download whose budget ended.
func (d *download) spent() error {
	return &BudgetError{Tries: d.tries, Took: time.Since(d.start), Done: d.done, Last: d.last, Budget: d.f.Budget}
}

func (d *download) result() Result {
	return Result{URL: d.url, Bytes: d.done, Tries: d.tries, Took: time.Since(d.start)}
}

// Mirrors splits a comma-separated list of URLs.
func Mirrors(list string) []string {
	var out []string
	for _, u := range strings.Split(list, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}
