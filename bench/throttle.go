package main

import (
	"fmt"
	"strings"
)

// bench system's media (issue #15): the ISO on QEMU's IDE CD drive, as in every
// other bench mode, read at the speed of a real medium through QEMU's
// block throttling (-drive ...,throttling.bps-read=,throttling.iops-read=).
// The bus stays IDE for all of them: the how-to's recipe knows /dev/sr0
// only, and a bus changes the kernel's probe, which is not what is
// measured here; a medium is its read speed.
//
// QEMU throttles with a leaky bucket per limit: a stream of reads goes at
// most bps bytes and iops requests per second (each request one
// operation, whatever its size), with a burst of a tenth of a second's
// worth. It knows nothing of seek distance: iops stands for the average
// cost of a request, seeks included.
type throttle struct {
	name string
	bps  int64  // bytes per second read; 0: no limit
	iops int64  // read requests per second; 0: no limit
	what string // the figures' source, for the table's notes
}

// throttles are the media, slowest first. The figures:
//   - dvd: a 16× DVD-ROM drive. 1× DVD is 1.385 MB/s (ECMA-267), so 16× is
//     22.16 MB/s, reached at the disc's outer edge only (CAV: about 6.6× at
//     the inner edge, where an ISO begins); drives of that class state
//     random access times of 100–130 ms. The bench takes the peak
//     22 MB/s, and 50 requests/s (20 ms each: sequential runs of large
//     reads from the drive's read-ahead cache mixed with seeks), which
//     flatters the drive for seeks. It wrongs it for long streams: QEMU
//     counts each request as one, and with the IDE CD's requests of about
//     120 KiB a sequential read goes at 50 × 120 KiB ≈ 6 MB/s, not 22
//     (sandbox.toram copied the 101 MiB squashfs in about 17 s). QEMU's
//     throttling cannot tell a seek from the next block; a drive's cost
//     lies between the two.
//   - usb2: a USB 2 stick. USB 2's 480 Mbit/s carry 30–35 MB/s of
//     mass-storage reads in practice; common sticks read 20–30 MB/s
//     sequentially and 1–3 MB/s of random 4 KiB reads (≈ 500 requests/s).
//   - usb3: a USB 3 stick or an SSD behind USB 3 (5 Gbit/s): 150 MB/s
//     sequential, 2000 requests/s (random 4 KiB reads of 8 MB/s), the
//     middle of the range of USB 3 sticks (100–400 MB/s).
//   - none: no limit: the ISO from the host's page cache, today's bench.
var throttles = []throttle{
	{name: "dvd", bps: 22_000_000, iops: 50, what: "16× DVD drive: 16 × 1.385 MB/s (ECMA-267) = 22 MB/s at the outer edge, 50 requests/s standing for 100–130 ms random access mixed with read-ahead (so a long sequential read, counted per request, goes at about 6 MB/s)"},
	{name: "usb2", bps: 30_000_000, iops: 500, what: "USB 2 stick: 30 MB/s sequential (USB 2's practical 30–35 MB/s), 500 requests/s (1–3 MB/s random 4 KiB)"},
	{name: "usb3", bps: 150_000_000, iops: 2000, what: "USB 3 stick or SSD on USB 3: 150 MB/s, 2000 requests/s"},
	{name: "none", what: "unthrottled: the ISO file in the host's page cache"},
}

// findThrottles picks media by name from a comma-separated list.
func findThrottles(list string) ([]throttle, error) {
	var out []throttle
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		found := false
		for _, t := range throttles {
			if t.name == name {
				out, found = append(out, t), true
			}
		}
		if !found {
			var names []string
			for _, t := range throttles {
				names = append(names, t.name)
			}
			return nil, fmt.Errorf("unknown medium %q (have %s)", name, strings.Join(names, ", "))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no medium in %q", list)
	}
	return out, nil
}

// driveArgs are QEMU's arguments for the ISO in the IDE CD drive (index 2,
// where -cdrom puts it), read-only, with the medium's read limits.
func (t throttle) driveArgs(iso string) []string {
	d := fmt.Sprintf("file=%s,format=raw,if=ide,index=2,media=cdrom,readonly=on", iso)
	if t.bps > 0 {
		d += fmt.Sprintf(",throttling.bps-read=%d", t.bps)
	}
	if t.iops > 0 {
		d += fmt.Sprintf(",throttling.iops-read=%d", t.iops)
	}
	return []string{"-drive", d}
}

// label is the medium as a table shows it.
func (t throttle) label() string {
	if t.bps == 0 && t.iops == 0 {
		return t.name + " (unthrottled)"
	}
	return fmt.Sprintf("%s (%g MB/s, %d req/s)", t.name, float64(t.bps)/1e6, t.iops)
}
