//go:build !nonet

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/sandbox-init/sandbox-init/config"
	"github.com/sandbox-init/sandbox-init/init/internal/klog"
	"github.com/sandbox-init/sandbox-init/mountutil"
	"github.com/sandbox-init/sandbox-init/netfetch"
	"github.com/sandbox-init/sandbox-init/verity"
	"golang.org/x/sys/unix"
)

// maxTree bounds a hash tree held in memory while it is checked: the tree
// of a 4 GiB image is 32 MiB.
const maxTree = 256 << 20

// fetchImage downloads sandbox.url into RAM, the way sandbox.toram holds
// an image: with sandbox.verity, the hash tree first, checked whole
// against the root hash, then each block of the image checked against it
// as it arrives, so a bad byte stops the boot at once; the RAM rule is
// applied before the first byte. It returns the copy, which the image step
// attaches as it would toram's. Failures are the network's: phase "net".
func fetchImage(s *sandbox) (file string, err error) {
	defer func() {
		var be *bootError
		if errors.As(err, &be) && be.Phase == "" {
			be.Phase = "net"
		}
	}()
	mirrors := netfetch.Mirrors(s.cfg.URL)
	s.cfg.Image = "/" + path.Base(urlPath(mirrors[0]))
	dst := filepath.Join(toramDir, path.Base(s.cfg.Image))
	secure, err := tlsFor(s)
	if err != nil {
		return "", err
	}
	var tree []byte
	if s.cfg.Verity != "" {
		if tree, err = fetchTree(s, mirrors, secure); err != nil {
			return "", err
		}
	} else {
		unchecked(s.log, mirrors)
	}
	sink := &ramFile{s: s, dst: dst, tree: tree}
	var w io.Writer = sink
	var stream *verity.Stream
	if tree != nil {
		root, _ := hex.DecodeString(s.cfg.Verity)
		if stream, err = verity.NewStream(tree, root, sink); err != nil {
			return "", treeMismatch(err, mirrors[0]+".verity", s.cfg.Verity)
		}
		w, sink.want = stream, stream.Size()
	}
	f := fetcher(s, secure)
	f.Start = sink.start
	res, err := f.Get(context.Background(), mirrors, w)
	if cerr := sink.close(); err == nil && cerr != nil {
		err = &netfetch.SinkError{URL: res.URL, Offset: res.Bytes, Err: cerr}
	}
	if err == nil && stream != nil {
		if err = stream.Done(); err != nil {
			err = &netfetch.SinkError{URL: res.URL, Offset: res.Bytes, Err: err}
		}
	}
	if err != nil {
		if sink.mounted {
			_ = unix.Unmount(toramDir, unix.MNT_DETACH)
		}
		return "", fetchFailure(s, err, mirrors)
	}
	s.state.ImageInRAM = dst
	if s.state.Net != nil {
		s.state.Net.URL = res.URL
	}
	checked := "unchecked (no sandbox.verity)"
	if stream != nil {
		checked = "every block checked against its hash tree as it came"
	}
	s.log.Printf("net: %s: %s into RAM in %v (%s/s, %d tries); %s", res.URL, config.HumanBytes(uint64(res.Bytes)), res.Took.Round(time.Millisecond),
		config.HumanBytes(uint64(float64(res.Bytes)/max(res.Took.Seconds(), 1e-3))), res.Tries, checked)
	return dst, nil
}

// fetcher is the download policy: sandbox.netwait's budget, progress on
// every console each few seconds, each failed try said.
func fetcher(s *sandbox, secure netfetch.TLSClient) *netfetch.Fetcher {
	budget := s.cfg.NetWait
	if budget == 0 {
		budget = config.DefaultNetWait
	}
	return &netfetch.Fetcher{
		TLS:    secure,
		Budget: budget,
		Every:  2 * time.Second,
		Progress: func(p netfetch.Progress) {
			s.log.Printf("%s", progressLine(p.Done, p.Total, p.Rate, p.Left.Round(time.Second).String()))
		},
		Dropped: func(u string, err error) {
			s.log.Warnf("WARNING: net: %v: trying the next mirror", err)
		},
		Retry: func(try int, u string, err error, wait time.Duration, done int64) {
			s.log.Warnf("WARNING: net: try %d failed: %v; again in %v, from byte %d", try, err, wait.Round(time.Millisecond), done)
		},
	}
}

// fetchTree downloads the hash tree (URL.verity of each mirror) into
// memory.
func fetchTree(s *sandbox, mirrors []string, secure netfetch.TLSClient) ([]byte, error) {
	trees := make([]string, len(mirrors))
	for i, m := range mirrors {
		trees[i] = m + ".verity"
	}
	var buf bytes.Buffer
	f := fetcher(s, secure)
	f.Progress = nil // small: its end is said below
	f.Start = func(total int64) error {
		if total > maxTree {
			return fmt.Errorf("a hash tree of %s: more than the %s of a tree this boot holds in memory", config.HumanBytes(uint64(total)), config.HumanBytes(maxTree))
		}
		return nil
	}
	res, err := f.Get(context.Background(), trees, &buf)
	if err != nil {
		return nil, fetchFailure(s, err, trees)
	}
	s.log.Printf("net: %s: hash tree (%s) in %v", res.URL, config.HumanBytes(uint64(res.Bytes)), res.Took.Round(time.Millisecond))
	return buf.Bytes(), nil
}

// unchecked says what vouches for an image without sandbox.verity: over
// plain HTTP nothing (a warning on every console), over HTTPS the
// server's certificate.
func unchecked(log *klog.Logger, mirrors []string) {
	for _, m := range mirrors {
		if !strings.HasPrefix(m, "https://") {
			log.Warnf("WARNING: net: sandbox.url without sandbox.verity over plain HTTP: nothing checks the image from %s; anyone on the way can change it (give the root hash mklive printed, or use https://)", m)
			return
		}
	}
	log.Printf("net: no sandbox.verity: the image is as trustworthy as the server whose TLS certificate the CA bundle vouches for; a root hash would check every block too")
}

// urlPath is a URL's path ("/" when it does not parse: config checked it).
func urlPath(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "/"
	}
	return p.Path
}

// ramFile is the image's copy in RAM: a tmpfs of its own, made once the
// size is known and the RAM rule passed, before the first byte.
type ramFile struct {
	s       *sandbox
	dst     string
	tree    []byte
	want    int64 // the size the hash tree covers; 0 without one
	f       *os.File
	w       *bufio.Writer
	mounted bool
}

func (r *ramFile) start(total int64) error {
	size := total
	if r.want > 0 {
		if total >= 0 && total != r.want {
			return fmt.Errorf("the server's image has %d bytes, its hash tree covers %d: they come from different builds", total, r.want)
		}
		size = r.want
	}
	if size < 0 {
		return errors.New("the server did not say the image's size (no Content-Length), so it cannot be checked against the RAM first")
	}
	if err := roomInRAM(r.s, uint64(size), uint64(len(r.tree))); err != nil {
		return err
	}
	if err := mountutil.Mount("tmpfs", toramDir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV,
		fmt.Sprintf("mode=0755,size=%d", size+int64(len(r.tree))+1<<20)); err != nil {
		return err
	}
	r.mounted = true
	if r.tree != nil {
		if err := os.WriteFile(r.dst+".verity", r.tree, 0o444); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(r.dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return err
	}
	r.f, r.w = f, bufio.NewWriterSize(f, 1<<20)
	return nil
}

func (r *ramFile) Write(b []byte) (int, error) {
	if r.w == nil {
		return 0, errors.New("no room made for the image")
	}
	return r.w.Write(b)
}

func (r *ramFile) close() error {
	if r.f == nil {
		return nil
	}
	err := r.w.Flush()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// roomInRAM applies sandbox.toram's rule to a download of the image's
// size bytes and its tree's: they, the RAM COW store and the system's
// share must fit, or the boot fails before the first byte with the numbers.
func roomInRAM(s *sandbox, size, tree uint64) error {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return err
	}
	avail, err := config.MemField(string(b), "MemAvailable")
	if err != nil {
		return err
	}
	cow := uint64(0)
	if s.cfg.COW.InRAM() {
		cow = s.state.COWBytes
	}
	if _, fail, why := toramDecision(config.Yes, size, tree, cow, avail); fail {
		return errors.New("not enough RAM: " + why)
	}
	return nil
}

// fetchFailure turns a download's failure into what the user reads: the
// URL, what happened, the fix.
func fetchFailure(s *sandbox, err error, urls []string) error {
	var se *netfetch.StatusError
	var sink *netfetch.SinkError
	var me *verity.MismatchError
	var be *netfetch.BudgetError
	var te *netfetch.TrustError
	switch {
	case errors.As(err, &te):
		return &bootError{Device: te.URL, Err: te.Err, Hint: te.Hint}
	case errors.As(err, &me):
		return &bootError{Device: sink0(err), Err: fmt.Errorf("INTEGRITY: block %d of the image from %s does not match its hash tree (sandbox.verity): the server's file is corrupted or altered, or another build's; the boot stops before using any of it", me.Block, sink0(err)),
			Hint: "put the image and its .verity file of one mklive build on the server (and check its copy), or boot with that build's root hash"}
	case errors.As(err, &sink):
		if strings.Contains(sink.Err.Error(), "not enough RAM") {
			return &bootError{Device: sink.URL, Err: sink.Err, Hint: "give the machine more RAM, or sandbox.cowsize= less; an image larger than RAM boots over NBD (sandbox.url=nbd://SERVER/EXPORT: read on demand, never copied)"}
		}
		return &bootError{Device: sink.URL, Err: sink.Err, Hint: "rebuild the image and its hash tree with mklive and copy both to the server"}
	case errors.As(err, &se):
		hint := "the file is not on the server at that path: check sandbox.url= against the server's directory (its log names the path asked for)"
		if strings.HasPrefix(se.Status, "403") || strings.HasPrefix(se.Status, "401") {
			hint = "the server refuses the file: make it readable by the web server (permissions), or fix the server's access rules"
		}
		return &bootError{Device: se.URL, Err: err, Hint: hint}
	case errors.As(err, &be):
		return &bootError{Device: strings.Join(urls, ", "), Err: fmt.Errorf("%w (our address %s)", err, ourAddress(s)),
			Hint: "is the web server up, and reachable from this address? sandbox.netwait= gives it longer"}
	}
	return &bootError{Device: strings.Join(urls, ", "), Err: err}
}

// sink0 is the URL a SinkError names, or "" for another error.
func sink0(err error) string {
	var sink *netfetch.SinkError
	if errors.As(err, &sink) {
		return sink.URL
	}
	return ""
}

// ourAddress is the address the network step took, for messages.
func ourAddress(s *sandbox) string {
	if s.state.Net == nil {
		return "none"
	}
	return s.state.Net.Address + " on " + s.state.Net.Iface + gatewaySays(s.state.Net.Gateway)
}

// treeMismatch names a hash tree that does not match the root hash.
func treeMismatch(err error, treeURL, root string) error {
	var me *verity.MismatchError
	if errors.As(err, &me) && me.Level < 0 {
		err = fmt.Errorf("the hash tree at %s is not the one of the root hash on the command line (sandbox.verity=%s…): the server and the command line come from different builds", treeURL, root[:16])
	} else if errors.As(err, &me) {
		err = fmt.Errorf("the hash tree at %s is corrupted (level %d): %w", treeURL, me.Level, err)
	}
	return &bootError{Phase: "net", Device: treeURL, Err: err,
		Hint: "serve the image and its .verity of the build whose root hash the command line gives (mklive prints it); an image that does not match is never booted"}
}
