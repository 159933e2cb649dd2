package klog

// The progress lines off the boot's path: writing a line to /dev/kmsg
// prints it on every console inside the write (printk), and a serial
// console takes its time per character. With Async, PID 1's progress lines
// go through a queue to a goroutine that writes them, in order, while the
// boot goes on; warnings, the failure block and Sync (before switch_root's
// exec, and first thing on a failure) first wait until the queue is empty,
// so every line is out, in order, before anything that could end the
// machine or this process.

// asyncQueue is the writer goroutine's queue of lines.
type asyncQueue struct {
	lines chan asyncLine
	done  chan struct{} // closed once the writer has written the last line
}

// asyncLine is a line to write, or, with flushed set, a mark the writer
// closes once it has written every line before it.
type asyncLine struct {
	level   int
	msg     string
	flushed chan struct{}
}

// Async starts writing progress lines (those above LevelWarn) from a
// goroutine, n queued at most (a full queue makes the logger wait, as
// writing itself would). Until Sync.
func (l *Logger) Async(n int) {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	if l.q != nil {
		return
	}
	q := &asyncQueue{lines: make(chan asyncLine, n), done: make(chan struct{})}
	l.q = q
	go func() {
		defer close(q.done)
		for ln := range q.lines {
			if ln.flushed != nil {
				close(ln.flushed)
				continue
			}
			l.write(ln.level, ln.msg) // never panics
		}
	}()
}

// Sync writes every queued line and ends Async: the lines after it are
// written before the call that logs them returns.
func (l *Logger) Sync() {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	if l.q == nil {
		return
	}
	close(l.q.lines)
	<-l.q.done
	l.q = nil
}

// flush waits until the writer has written every line queued so far.
func (l *Logger) flush() {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	if l.q == nil {
		return
	}
	mark := make(chan struct{})
	l.q.lines <- asyncLine{flushed: mark}
	<-mark
}

// queue hands a progress line to the writer; false when there is none
// (not Async, or the line is a warning or worse).
func (l *Logger) queue(level int, msg string) bool {
	if level <= LevelWarn {
		return false
	}
	l.qmu.Lock()
	defer l.qmu.Unlock()
	if l.q == nil {
		return false
	}
	l.q.lines <- asyncLine{level: level, msg: msg}
	return true
}
