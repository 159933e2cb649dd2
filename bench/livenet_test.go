package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLinkFigures: the largest connection of the relay's log is the
// image's, whatever the order; broken lines are not connections.
func TestLinkFigures(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.link")
	if err := os.WriteFile(p, []byte("852159 0.069\n106905796 20.280\ngarbage\n70 0.083\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n, s, conns := linkFigures(p)
	if n != 106905796 || s != 20.280 || conns != 3 {
		t.Errorf("linkFigures = %d bytes, %g s, %d connections; want 106905796, 20.28, 3", n, s, conns)
	}
}

// TestFindLinks: the links named, slowest first, and a name it does not
// know refused.
func TestFindLinks(t *testing.T) {
	ls, err := findLinks("1G,100M")
	if err != nil || len(ls) != 2 || ls[0].bps != 100_000_000 || ls[1].bps != 1_000_000_000 {
		t.Errorf("findLinks(1G,100M) = %v, %v", ls, err)
	}
	if _, err := findLinks("10G"); err == nil {
		t.Error("findLinks(10G): no error")
	}
}
