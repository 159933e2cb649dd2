package vmtests

import (
	"fmt"
	"io"
	"net"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sandbox-init/sandbox-init/internal/testvm"
)

// TestNetStall: a server that stops sending without closing the
// connection. Trickle: the first download of the image slows to 100 bytes
// a second after 1 MiB (never 10 s without a byte, so only the trickle
// rule sees it); the boot names the stall, resumes with Range from the
// byte it had and goes on to the real init. Budget: every connection
// stops dead after 1 MiB; with sandbox.netwait=15s the boot fails in phase
// net naming the URL, the tries and the stall. The two wait mostly on the
// stalls, so they run side by side.
func TestNetStall(t *testing.T) {
	site := makeNetSite(t)
	url := netServer + "/LiveOS/squashfs.img"
	t.Run("Trickle", func(t *testing.T) {
		t.Parallel()
		n := stallNet(t, site.dir, &stallRelay{after: 1 << 20, trickle: 100})
		c := bootVM(t, netVM("", []testvm.Net{n}, "sandbox.url="+url, "sandbox.verity="+site.root))
		stalled := regexp.MustCompile(`WARNING: net: try 1 failed: ` + regexp.QuoteMeta(url) +
			`: stalled: a trickle of [0-9]+ bytes in the last 10s \(fewer than 16384\), at byte (10[0-9]{5}); again in [0-9.]+m?s, from byte (10[0-9]{5})`)
		if m := stalled.FindStringSubmatch(c.Text); m == nil || m[1] != m[2] {
			t.Error("the console does not name the trickle, or the next try does not start from the byte it had")
		}
		done := regexp.MustCompile(regexp.QuoteMeta(url) + `: 2\.9 MiB into RAM in .*, 2 tries\); every block checked`)
		if !done.MatchString(c.Text) || !c.contains("realinit: first line") {
			t.Error("the download did not complete on the second try, or the boot did not go on")
		}
	})
	t.Run("Budget", func(t *testing.T) {
		t.Parallel()
		n := stallNet(t, site.dir, &stallRelay{after: 1 << 20, every: true})
		expectFailure(t, netVM("", []testvm.Net{n}, "sandbox.url="+url, "sandbox.verity="+site.root, "sandbox.netwait=15s"), "net",
			"gave up after 2 tries in 15", "last error: "+url+": stalled: no byte for 10s, at byte 10",
			"(our address 10.0.2.15/24 on eth0", "sandbox.netwait= gives it longer")
	})
}

// stallNet is a NIC whose 10.0.2.100:80 leads through r to busybox httpd
// serving dir, each guest connection by its own nc.
func stallNet(t *testing.T, dir string, r *stallRelay) testvm.Net {
	h := &httpd{port: freePort(t), dir: dir}
	h.start(t)
	t.Cleanup(h.kill)
	r.upstream = h.port
	return testvm.Net{Forward: []string{fmt.Sprintf("tcp:10.0.2.100:80-cmd:busybox nc 127.0.0.1 %d", listen(t, r.serve))}}
}

// stallRelay relays each connection to the server on upstream at full
// speed until one (each, with every) has carried after bytes of the
// server's answer; then it sends trickle bytes a second of the rest (none
// when 0), keeping the connection open until the guest drops it.
type stallRelay struct {
	upstream int
	after    int64
	trickle  int
	every    bool
	fired    atomic.Bool // a connection has stalled
}

func (r *stallRelay) serve(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.upstream))
	if err != nil {
		return
	}
	defer s.Close()
	gone := make(chan struct{}) // the guest's side closed
	go func() { io.Copy(s, c); close(gone) }()
	buf := make([]byte, 64<<10)
	var sent int64
	stalling := false
	for {
		want := int64(len(buf))
		if stalling {
			if r.trickle == 0 {
				select {
				case <-gone:
				case <-time.After(time.Minute):
				}
				return
			}
			want = int64(r.trickle)
		} else if sent < r.after {
			want = min(want, r.after-sent) // stop at after exactly
		}
		n, err := s.Read(buf[:want])
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
			sent += int64(n)
		}
		if err != nil {
			return
		}
		if !stalling && sent >= r.after && (r.every || r.fired.CompareAndSwap(false, true)) {
			stalling = true
		}
		if stalling {
			select {
			case <-gone:
				return
			case <-time.After(time.Second):
			}
		}
	}
}
