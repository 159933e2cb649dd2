package shutdown

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sandbox-init/sandbox-init/init/internal/klog"
	"golang.org/x/sys/unix"
)

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/oldroot/mnt2`:       "/oldroot/mnt2",
		`/oldroot/my\040disk`: "/oldroot/my disk",
		`/a\134b`:             `/a\b`,
		`/trailing\04`:        `/trailing\04`,
		`/not\999octal`:       `/not\999octal`,
		`/tab\011and\012nl`:   "/tab\tand\nnl",
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

// The shutdown as PID 1: a SIGINT during it (Ctrl-Alt-Del) is logged and
// ignored, not Go's exit(2) (this test binary would die of it), and a
// panic in it still stops the machine with its verb.
func TestShutdownPID1(t *testing.T) {
	var out syncBuffer
	log := klog.New(&out)
	stopped := ""
	PID1(log, "poweroff", func(*klog.Logger, string) {
		if err := unix.Kill(os.Getpid(), unix.SIGINT); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for !strings.Contains(out.String(), "interrupt ignored: the poweroff under way goes on") && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		var m map[string]int
		m["boom"] = 1 // a bug: a nil-map write panics
	}, func(verb string) { stopped = verb })
	if !strings.Contains(out.String(), "interrupt ignored: the poweroff under way goes on") {
		t.Errorf("the SIGINT was not reported as ignored: %q", out.String())
	}
	if stopped != "poweroff" || !strings.Contains(out.String(), "WARNING: shutdown: internal error") {
		t.Errorf("after a panic: stopped %q, log %q; want poweroff and the error", stopped, out.String())
	}
}

// syncBuffer is a bytes.Buffer the signal goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
