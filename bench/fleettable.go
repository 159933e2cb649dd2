package main

import (
	"fmt"
	"io"
	"net"
	"slices"
	"time"
)

// measure runs every fleet on every rate, then the server-down runs on
// the first rate, with the fetcher's jitter on and off, and makes the
// two tables.
func (o *fleetOpts) measure(s *fleetSetup) ([]table, error) {
	var plain, downs []*fleetRun
	raw := map[float64]float64{}
	for _, rate := range o.rates {
		var err error
		if raw[rate], err = s.rawRate(rate); err != nil {
			return nil, fmt.Errorf("a raw read through the link: %w", err)
		}
		for _, n := range o.clients {
			logf("fleet: %d clients at %g Mbit/s", n, rate)
			r := &fleetRun{rate: rate, n: n, jitter: true}
			if err := s.fleet(r, 0, 0); err != nil {
				return nil, err
			}
			plain = append(plain, r)
		}
	}
	for _, n := range o.clients {
		for _, jitter := range []bool{true, false} {
			if o.down == 0 || n == 1 && !jitter { // one client is never in lockstep
				continue
			}
			logf("fleet: %d clients at %g Mbit/s, nginx down for %v, jitter %v", n, o.rates[0], o.down, jitter)
			r := &fleetRun{rate: o.rates[0], n: n, down: true, jitter: jitter}
			if err := s.fleet(r, o.down, o.at); err != nil {
				return nil, err
			}
			downs = append(downs, r)
		}
	}
	if n := o.clients[len(o.clients)-1]; o.down > 0 && o.busy > 0 {
		logf("fleet: %d clients at %g Mbit/s, nginx down for %v, 503 Retry-After: %d meanwhile", n, o.rates[0], o.down, o.busy)
		r := &fleetRun{rate: o.rates[0], n: n, down: true, jitter: true, busy: o.busy}
		if err := s.fleet(r, o.down, o.at); err != nil {
			return nil, err
		}
		downs = append(downs, r)
	}
	t := []table{s.throughputTable(plain, raw)}
	if len(downs) > 0 {
		t = append(t, s.downTable(downs, plain, o))
	}
	return t, nil
}

// rawRate is the link's rate as one plain reader sees it (Mbit/s): the
// image by HTTP/1.0 to the connection's end, nothing checked or kept.
func (s *fleetSetup) rawRate(rate float64) (float64, error) {
	s.link.setRate(rate * 1e6)
	c, err := net.Dial("tcp", s.link.addr())
	if err != nil {
		return 0, err
	}
	defer c.Close()
	start := time.Now()
	if _, err := io.WriteString(c, "GET /image HTTP/1.0\r\nHost: fleet\r\n\r\n"); err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, c)
	if err == nil && n < s.size {
		err = fmt.Errorf("%d bytes, the image has %d", n, s.size)
	}
	return float64(n) * 8 / time.Since(start).Seconds() / 1e6, err
}

// limit is the fastest r's fleet could be done: all its bytes at the
// link's rate.
func (s *fleetSetup) limit(r *fleetRun) time.Duration {
	bits := float64(int64(r.n)*(s.size+s.tree)) * 8
	return time.Duration(bits / (r.rate * 1e6) * float64(time.Second))
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// throughputTable: each fleet's time against the link's limit, and the
// spread of its clients' ends.
func (s *fleetSetup) throughputTable(runs []*fleetRun, raw map[float64]float64) table {
	t := table{title: "bench fleet: N clients fetch the image at once through one throttled link",
		head: []string{"link", "clients", "bytes", "link's limit", "fleet took", "efficiency", "first done", "last done", "tries"}}
	for _, r := range runs {
		if r.n == runs[0].n {
			t.rows = append(t.rows, []string{fmt.Sprintf("%g Mbit/s", r.rate), "raw reader", mib(s.size), "", "",
				fmt.Sprintf("%.0f Mbit/s measured", raw[r.rate]), "", "", ""})
		}
		t.rows = append(t.rows, []string{"", fmt.Sprint(r.n), mib(int64(r.n) * (s.size + s.tree)), secs(s.limit(r)), secs(r.took),
			fmt.Sprintf("%.2f", s.limit(r).Seconds()/r.took.Seconds()), secs(slices.Min(r.finished)), secs(slices.Max(r.finished)), fmt.Sprint(r.tries)})
	}
	t.notes = []string{
		fmt.Sprintf("Each client is the init's fetch step on the host: netfetch's Fetcher (its default policy, a 30 min budget) gets the hash tree (%s) into memory, then the image (%s of random bytes), each 4 KiB block checked against the tree as it arrives (verity.Stream), from nginx 127.0.0.1 through a relay in the bench's process that paces the server's bytes of all connections together at the link's rate.", mib(s.tree), mib(s.size)),
		"link's limit = all clients' bytes (image and tree) / the link's rate; efficiency = limit / fleet took (1.00: the link full from the first byte to the last). first/last done: the first and the last client's end, from the fleet's start. raw reader: one HTTP/1.0 read of the image through the relay into nothing, the relay's own check.",
	}
	return t
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// downTable: what the server's side saw of a fleet while nginx was down
// and once it was back, with the fetcher's jitter and without.
func (s *fleetSetup) downTable(runs, plain []*fleetRun, o *fleetOpts) table {
	t := table{title: fmt.Sprintf("bench fleet: nginx stopped for %v in the middle (%g Mbit/s)", o.down, o.rates[0]),
		head: []string{"clients", "jitter", "tries while down", "peak /100 ms while down", "first try back after", "peak /100 ms back", "nginx's busiest 1 s back", "resumed (206)", "fleet took", "outage cost"}}
	const w = 100 * time.Millisecond
	for _, r := range runs {
		end := r.start.Add(r.took) // the next run's connections are not this one's
		first, back := "none", ""
		if f, ok := s.link.firstIn(r.upAt, end); ok {
			first = secs(f.Sub(r.upAt))
		}
		began, resumed, _ := s.ngx.requests(r.upAt, end)
		cost := ""
		for _, p := range plain {
			if p.n == r.n && p.rate == r.rate {
				cost = fmt.Sprintf("+%.1f s", (r.took - p.took).Seconds())
			}
		}
		back = fmt.Sprint(s.link.peak(r.upAt, end, w))
		jit := map[bool]string{true: "on", false: "off"}[r.jitter]
		if r.busy > 0 {
			jit += fmt.Sprintf(", 503 Retry-After: %d", r.busy)
		}
		t.rows = append(t.rows, []string{fmt.Sprint(r.n), jit, fmt.Sprint(s.link.arrivals(r.downAt, r.upAt)), fmt.Sprint(s.link.peak(r.downAt, r.upAt, w)),
			first, back, fmt.Sprint(peakIn(began, r.upAt, end, time.Second)), fmt.Sprint(resumed), secs(r.took), cost})
	}
	t.notes = []string{
		fmt.Sprintf("nginx stopped (SIGTERM, its fast shutdown: every connection cut) once %.0f%% of the fleet's bytes were through, started again %v later. tries while down: connections the relay accepted while nginx was down (it closes each at once); peak /100 ms: the most that arrived within any 100 ms, while down (the first round after the cut included) and once back (the spike a recovering server sees); first try back after: from nginx's start to the first connection; nginx's busiest 1 s back: the most requests its log shows begun within one second once back; resumed: those it answered 206 (a Range from where the client stood).", o.at*100, o.down),
		"jitter on is netfetch's policy: after round r of failed tries, a wait of min(500 ms × 2^r, 20 s) × (1/2 + a random half); off: the same waits without the random half (each client waits the top of the range), what a fleet without jitter does. 503 Retry-After: N: while nginx is down the relay answers each request so, as a load balancer's maintenance page would; the fetcher waits that long plus a random share of up to half of it. outage cost: fleet took − the same fleet's time without the outage.",
		"Every client of every run ended with every block checked against the hash tree and the image's byte count.",
	}
	return t
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
