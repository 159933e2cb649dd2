package main

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/sandbox-init/sandbox-init/init/internal/klog"
)

func TestWriteReport(t *testing.T) {
	var b bytes.Buffer
	err := &bootError{Phase: "cd", Device: "LABEL=LIVE", Err: errors.Join(errors.New("no device with label LIVE"), errors.New("sr0: no medium")), Hint: "is the CD in the drive? (sandbox.wait=10)"}
	writeReport(&b, err)
	want := `FAILED in phase "cd"
  device: LABEL=LIVE
  error: no device with label LIVE
  error: sr0: no medium
  hint: is the CD in the drive? (sandbox.wait=10)
  the base image was not written to; the real system was not started
`
	if b.String() != want {
		t.Errorf("report:\n%s\nwant:\n%s", b.String(), want)
	}

	// Not a bootError; no device nor hint; an error of two lines.
	b.Reset()
	writeReport(&b, errors.New("first\nsecond"))
	want = `FAILED in phase "boot"
  error: first
    second
  the base image was not written to; the real system was not started
`
	if b.String() != want {
		t.Errorf("report:\n%s\nwant:\n%s", b.String(), want)
	}

	// A bootError without an error does not panic.
	b.Reset()
	writeReport(&b, &bootError{Phase: "x"})
	if !strings.HasPrefix(b.String(), `FAILED in phase "x"`) {
		t.Errorf("report: %q", b.String())
	}
}

// TestReportThroughLogger: every line of the block is one kmsg record at
// klog.LevelFail, with the prefix the VM tests grep for.
func TestReportThroughLogger(t *testing.T) {
	l, kmsg := kmsgLogger(t)
	writeReport(l.Writer(klog.LevelFail), &bootError{Phase: "cd", Err: errors.New("nope"), Hint: "wait longer"})
	want := "<2>sandbox-init: FAILED in phase \"cd\"\n<2>sandbox-init:   error: nope\n<2>sandbox-init:   hint: wait longer\n" +
		"<2>sandbox-init:   the base image was not written to; the real system was not started\n"
	got, err := os.ReadFile(kmsg)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("kmsg:\n%s\nwant:\n%s", got, want)
	}
}
