package netfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// http1Date is an HTTP date (RFC 9110's IMF-fixdate).
const http1Date = "Mon, 02 Jan 2006 15:04:05 GMT"

// stallError is a connection that brought fewer than Fetcher.Trickle
// bytes (maybe none) in the last Fetcher.Stall.
type stallError struct {
	got    int64
	window time.Duration
	least  int64
}

func (e *stallError) Error() string {
	if e.got == 0 {
		return fmt.Sprintf("stalled: no byte for %v", e.window)
	}
	return fmt.Sprintf("stalled: a trickle of %d bytes in the last %v (fewer than %d)", e.got, e.window, e.least)
}

// stallTicks is how many parts of Fetcher.Stall the watch counts bytes in:
// a stall is seen within a tenth of Stall of its length.
const stallTicks = 10

// watchStall ends the try (cancel) when the bytes counted in got over the
// last Stall, once a whole Stall has passed, are fewer than Trickle. It
// returns when ctx ends.
func (d *download) watchStall(ctx context.Context, cancel context.CancelCauseFunc, got *atomic.Int64) {
	tick := time.NewTicker(d.f.Stall / stallTicks)
	defer tick.Stop()
	var ring [stallTicks]int64
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ring[i%stallTicks] = got.Swap(0)
		var sum int64
		for _, n := range ring {
			sum += n
		}
		if i >= stallTicks-1 && sum < d.f.Trickle {
			cancel(&stallError{got: sum, window: d.f.Stall, least: d.f.Trickle})
			return
		}
	}
}

// try asks url for the bytes from d.done on and writes them to d.w. It
// reports whether the file is complete, else why this try ended.
func (d *download) try(ctx context.Context, url string) (bool, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	resp, err := get(ctx, url, d.done, d.f.Stall, d.f.TLS)
	if err != nil {
		if permanent(err) {
			return false, err
		}
		return false, fmt.Errorf("%s: %w", url, err)
	}
	defer resp.Body.Close()
	skip, err := d.accept(url, resp)
	if err != nil {
		return false, err
	}
	d.url = url
	if !d.started && d.f.Start != nil {
		d.started = true
		total := d.total
		if total == 0 {
			total = -1
		}
		if err := d.f.Start(total); err != nil {
			return false, &SinkError{URL: url, Err: err}
		}
	}
	var got atomic.Int64
	go d.watchStall(ctx, cancel, &got)
	buf := make([]byte, 256<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		got.Add(int64(n))
		b := buf[:n]
		if skip > 0 { // a server that ignored Range: drop what we have
			c := min(skip, int64(len(b)))
			b, skip = b[c:], skip-c
		}
		if len(b) > 0 {
			if werr := d.write(b); werr != nil {
				return false, werr
			}
		}
		if rerr == io.EOF {
			if d.total > 0 && d.done < d.total {
				return false, fmt.Errorf("%s: the connection ended at byte %d of %d", url, d.done, d.total)
			}
			d.show(true)
			return true, nil
		}
		if rerr != nil {
			var se *stallError
			if errors.As(context.Cause(ctx), &se) {
				return false, fmt.Errorf("%s: %v, at byte %d", url, se, d.done)
			}
			return false, fmt.Errorf("%s: at byte %d: %w", url, d.done, rerr)
		}
	}
}

// write passes b on, then shows the progress when it is time.
func (d *download) write(b []byte) error {
	n, err := d.w.Write(b)
	if err != nil {
		return &SinkError{URL: d.url, Offset: d.done + int64(n), Err: err}
	}
	d.done += int64(n)
	if d.total > 0 && d.done > d.total {
		return &SinkError{URL: d.url, Offset: d.done, Err: fmt.Errorf("the server sent more than the %d bytes it announced", d.total)}
	}
	d.show(false)
	return nil
}

// show calls Progress at Fetcher.Every's pace, and at the end.
func (d *download) show(end bool) {
	if d.f.Progress == nil || !end && time.Since(d.lastShown) < d.f.Every {
		return
	}
	if d.lastShown.IsZero() && !end {
		d.lastShown = time.Now() // the first call starts the pace
		return
	}
	d.lastShown = time.Now()
	took := time.Since(d.start).Seconds()
	p := Progress{URL: d.url, Done: d.done, Total: d.total, Rate: float64(d.done) / max(took, 1e-3)}
	if p.Total > 0 && p.Rate > 0 {
		p.Left = time.Duration(float64(p.Total-p.Done) / p.Rate * float64(time.Second))
	}
	d.f.Progress(p)
}

// accept checks a response: the status, and that the bytes start where
// the download stands. It returns how many leading bytes to drop (a 200
// to a Range request: the server sends the whole file again).
func (d *download) accept(url string, resp *response) (int64, error) {
	switch resp.Code {
	case 200:
		if err := d.learnTotal(url, resp.Length); err != nil {
			return 0, err
		}
		return d.done, nil
	case 206:
		start, total, ok := contentRange(resp.Header.Get("Content-Range"))
		if !ok || start != d.done {
			return 0, fmt.Errorf("%s: asked for bytes from %d, got Content-Range %q", url, d.done, resp.Header.Get("Content-Range"))
		}
		return 0, d.learnTotal(url, total)
	case 404, 403, 410, 401:
		return 0, &StatusError{URL: url, Status: resp.Status}
	case 429, 503:
		d.retryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return 0, fmt.Errorf("%s: HTTP %s", url, resp.Status)
}

// learnTotal takes the file's size from a server (-1: not said); a mirror
// that disagrees with what an earlier one said serves another file.
func (d *download) learnTotal(url string, total int64) error {
	switch {
	case total < 0:
	case d.total == 0:
		d.total = total
	case total != d.total:
		return &SinkError{URL: url, Offset: d.done, Err: fmt.Errorf("this server's file has %d bytes, the first one's %d: the mirrors serve different files", total, d.total)}
	}
	return nil
}

// contentRange reads "bytes START-END/TOTAL" (TOTAL may be "*": -1).
func contentRange(h string) (start, total int64, ok bool) {
	r, found := strings.CutPrefix(h, "bytes ")
	if !found {
		return 0, 0, false
	}
	span, size, found := strings.Cut(r, "/")
	first, _, found2 := strings.Cut(span, "-")
	if !found || !found2 {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	total = -1
	if size != "*" {
		if total, err = strconv.ParseInt(size, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return start, total, true
}

// retryAfter reads Retry-After: seconds or an HTTP date; 0 when absent or
// unreadable.
func retryAfter(h string, now time.Time) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := time.Parse(http1Date, h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
