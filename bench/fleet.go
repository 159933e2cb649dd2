package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/netfetch"
	"github.com/sandbox-init/sandbox-init/verity"
)

// bench fleet (issue 22): the init's fetcher, run on the host, no VM:
// 1, 8 and 64 clients at once fetch one image from one nginx through one
// throttled link (a relay in this process, all clients sharing its rate),
// the way the init does it: the hash tree first, then the image, each
// block checked against the tree as it arrives (package verity's Stream),
// with netfetch's policy. Then the same with nginx stopped for 10 s in
// the middle, counting the connections that reached the server's side
// while it was down and in the first second after it came back, with the
// fetcher's jitter on and off. docs/bench.md#fleet says how to read it.
type fleetOpts struct {
	mib      int
	clients  []int
	rates    []float64 // Mbit/s
	down     time.Duration
	at       float64 // share of the bytes in when nginx stops
	busy     int     // -retryafter: seconds, 0 for no such run
	md, keep bool
}

// runFleet parses bench fleet's flags, runs it and prints its tables.
func runFleet(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench fleet", flag.ContinueOnError)
	o := &fleetOpts{}
	clients, rates := "1,8,64", "100,1000"
	fs.IntVar(&o.mib, "mib", 16, "MiB of random bytes in the image each client fetches")
	fs.StringVar(&clients, "clients", clients, "fleet sizes: clients fetching at once")
	fs.StringVar(&rates, "rates", rates, "the link's rates in Mbit/s; the server-down runs take the first")
	fs.DurationVar(&o.down, "down", 10*time.Second, "how long nginx is stopped in the server-down runs (0: none)")
	fs.Float64Var(&o.at, "at", 0.3, "the share of the fleet's bytes in when nginx stops")
	fs.IntVar(&o.busy, "retryafter", 5, "one more server-down run of the largest fleet in which the relay answers 503 with this Retry-After (seconds) while nginx is down; 0: none")
	fs.BoolVar(&o.md, "md", false, "print the tables as Markdown")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory (the image, nginx's configuration and logs)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	err := o.parseLists(clients, rates)
	if err == nil && (o.mib < 1 || o.mib > 1024 || o.at <= 0 || o.at >= 1 || o.busy < 0 || fs.NArg() > 0) {
		err = fmt.Errorf("want -mib 1 to 1024, -at between 0 and 1, -retryafter 0 or more, no arguments (got %q)", fs.Args())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench fleet:", err)
		fs.Usage()
		return usageError{err}
	}
	tables, err := o.run()
	if err != nil {
		return err
	}
	for _, t := range tables {
		text := t.text()
		if o.md {
			text = t.markdown()
		}
		fmt.Fprintln(out, text)
	}
	return nil
}

// parseLists reads -clients and -rates.
func (o *fleetOpts) parseLists(clients, rates string) error {
	for _, s := range strings.Split(clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || n > 256 {
			return fmt.Errorf("-clients %q: want numbers from 1 to 256", clients)
		}
		o.clients = append(o.clients, n)
	}
	for _, s := range strings.Split(rates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || r < 1 || r > 100000 {
			return fmt.Errorf("-rates %q: want Mbit/s from 1 to 100000", rates)
		}
		o.rates = append(o.rates, r)
	}
	return nil
}

// fleetSetup is what the runs share: the site, nginx and the link.
type fleetSetup struct {
	root       []byte
	size, tree int64
	ngx        *fleetNginx
	link       *link
	url        string
}

// run makes the site, starts nginx and the link, and runs the fleets.
func (o *fleetOpts) run() ([]table, error) {
	repo, err := testvm.RepoRoot()
	if err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp("", "sandbox-fleet-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		logf("work directory (kept): %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	www := filepath.Join(work, "www")
	if err := os.Mkdir(www, 0o755); err != nil {
		return nil, err
	}
	s := &fleetSetup{size: int64(o.mib) << 20}
	if s.root, s.tree, err = fleetSite(www, o.mib); err != nil {
		return nil, err
	}
	if s.ngx, err = newNginx(testvm.CacheDir(repo), work, www); err != nil {
		return nil, err
	}
	if err := s.ngx.start(); err != nil {
		return nil, err
	}
	defer s.ngx.stop()
	if s.link, err = newLink(s.ngx.addr(), o.rates[0]*1e6); err != nil {
		return nil, err
	}
	defer s.link.close()
	s.url = "http://" + s.link.addr() + "/image"
	load0 := loadavg()
	tables, err := o.measure(s)
	if err != nil {
		return nil, err
	}
	tables[0].notes = append(tables[0].notes, fmt.Sprintf("Host: %d CPUs, load average %s at the start, %s after the last run (clients, relay and nginx share them).",
		runtime.NumCPU(), load0, loadavg()))
	return tables, nil
}

// fleetRun is one fleet's download: its set-up and what it took.
type fleetRun struct {
	rate     float64 // Mbit/s
	n        int
	down     bool
	jitter   bool
	busy     int             // while down, the relay answers 503 with Retry-After: busy
	took     time.Duration   // the whole fleet
	finished []time.Duration // each client's, from the fleet's start
	tries    int             // all clients' tries, tree and image
	downAt   time.Time
	upAt     time.Time
	start    time.Time
}

// fleetClient is one machine: the tree, then the image checked block by
// block as it arrives, as the init's fetch step does it, with the init's
// policy but a budget long enough for the slowest fleet.
func (s *fleetSetup) fleetClient(jitter bool) (tries int, err error) {
	f := func() *netfetch.Fetcher {
		nf := &netfetch.Fetcher{Budget: 30 * time.Minute}
		if !jitter {
			nf.Jitter = func() float64 { return 1 } // each wait at the top of its range
		}
		return nf
	}
	var tree bufferSink
	res, err := f().Get(context.Background(), []string{s.url + ".verity"}, &tree)
	tries += res.Tries
	if err != nil {
		return tries, fmt.Errorf("the tree: %w", err)
	}
	var got countSink
	stream, err := verity.NewStream(tree.b, s.root, &got)
	if err != nil {
		return tries, err
	}
	res, err = f().Get(context.Background(), []string{s.url}, stream)
	tries += res.Tries
	if err == nil {
		err = stream.Done()
	}
	if err == nil && int64(got) != s.size {
		err = fmt.Errorf("%d bytes checked, the image has %d", got, s.size)
	}
	return tries, err
}

// bufferSink holds the hash tree; countSink counts the checked bytes.
type bufferSink struct{ b []byte }

func (w *bufferSink) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

type countSink int64

func (w *countSink) Write(p []byte) (int, error) { *w += countSink(len(p)); return len(p), nil }

// fleet runs r.n clients at once; with r.down, nginx stops for down once
// at of the fleet's bytes are in.
func (s *fleetSetup) fleet(r *fleetRun, down time.Duration, at float64) error {
	s.link.setRate(r.rate * 1e6)
	r.finished = make([]time.Duration, r.n)
	errs := make([]error, r.n)
	tries := make([]int, r.n)
	var wg sync.WaitGroup
	base := s.link.bytes.Load()
	r.start = time.Now()
	for i := range r.n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tries[i], errs[i] = s.fleetClient(r.jitter)
			r.finished[i] = time.Since(r.start)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var outage error
	if r.down {
		outage = s.outage(r, base+int64(at*float64(int64(r.n)*(s.size+s.tree))), down, done)
	}
	<-done
	r.took = time.Since(r.start)
	for i, e := range errs {
		r.tries += tries[i]
		if e != nil {
			return fmt.Errorf("%d clients at %g Mbit/s: client %d: %w", r.n, r.rate, i+1, e)
		}
	}
	return outage
}

// outage waits until the link has carried mark bytes (or the fleet is
// done: an error), stops nginx for down, and starts it again.
func (s *fleetSetup) outage(r *fleetRun, mark int64, down time.Duration, done <-chan struct{}) error {
	for s.link.bytes.Load() < mark {
		select {
		case <-done:
			return fmt.Errorf("%d clients at %g Mbit/s were done before nginx was to stop (-at)", r.n, r.rate)
		case <-time.After(5 * time.Millisecond):
		}
	}
	s.link.busy.Store(int64(r.busy))
	s.ngx.stop()
	r.downAt = time.Now()
	time.Sleep(down)
	err := s.ngx.start()
	r.upAt = time.Now()
	s.link.busy.Store(0)
	if err != nil {
		return errors.Join(errors.New("nginx did not come back"), err)
	}
	return nil
}
