package klog

import (
	"strings"
	"testing"
	"time"
)

// gateWriter is a console that takes lines only once open is closed, as
// a slow serial console keeps the writer.
type gateWriter struct {
	open chan struct{}
	lockedBuffer
}

func (g *gateWriter) Write(p []byte) (int, error) {
	<-g.open
	return g.lockedBuffer.Write(p)
}

// Under Async a progress line returns before the console took it; a
// warning waits for the lines before it and comes after them; Sync
// returns once every line is out, and the lines after it are written at
// once.
func TestLoggerAsync(t *testing.T) {
	g := &gateWriter{open: make(chan struct{})}
	l := New(g) // no kmsg: every line goes to the console (stdout)
	l.Async(4)
	returned := make(chan struct{})
	go func() {
		l.Printf("one")
		l.Printf("two")
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("Printf waited for the console under Async")
	}
	warned := make(chan struct{})
	go func() {
		l.Warnf("WARNING: three")
		close(warned)
	}()
	select {
	case <-warned:
		t.Fatal("Warnf returned before the lines queued before it were written")
	case <-time.After(100 * time.Millisecond):
	}
	close(g.open)
	<-warned
	l.Printf("four")
	go func() { time.Sleep(50 * time.Millisecond); l.Printf("five") }()
	time.Sleep(10 * time.Millisecond)
	l.Sync()
	l.Printf("six")
	got := g.String()
	var order []string
	for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
		order = append(order, line[strings.Index(line, logPrefix)+len(logPrefix):])
	}
	if want := "one two WARNING: three four"; !strings.HasPrefix(strings.Join(order, " "), want) || !strings.HasSuffix(strings.Join(order, " "), "six") {
		t.Errorf("console got %q, want %q first and six last:\n%s", order, want, got)
	}
}

// Sync writes what is queued before it returns: nothing is lost when the
// process execs the real init or the machine stops right after.
func TestLoggerSyncFlushes(t *testing.T) {
	g := &gateWriter{open: make(chan struct{})}
	l := New(g)
	l.Async(64)
	go func() { time.Sleep(100 * time.Millisecond); close(g.open) }()
	for i := 0; i < 10; i++ {
		l.Printf("line %d", i)
	}
	l.Sync()
	if got := strings.Count(g.String(), "\n"); got != 10 {
		t.Errorf("%d lines out when Sync returned, want 10:\n%s", got, g.String())
	}
}
