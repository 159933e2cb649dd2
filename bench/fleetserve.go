package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sandbox-init/sandbox-init/verity"
)

// fleetSite writes what bench fleet's nginx serves into dir: image, mib
// MiB of random bytes, and image.verity, its hash tree, as mklive netboot
// lays them out. It returns the root hash and the tree's size.
func fleetSite(dir string, mib int) (root []byte, treeSize int64, err error) {
	noise := make([]byte, mib<<20)
	rand.NewChaCha8([32]byte{22, 64}).Read(noise)
	if err := os.WriteFile(filepath.Join(dir, "image"), noise, 0o644); err != nil {
		return nil, 0, err
	}
	p, err := verity.Default(int64(len(noise)), []byte("fleet"))
	if err != nil {
		return nil, 0, err
	}
	data, err := os.Open(filepath.Join(dir, "image"))
	if err != nil {
		return nil, 0, err
	}
	defer data.Close()
	tree, err := os.Create(filepath.Join(dir, "image.verity"))
	if err != nil {
		return nil, 0, err
	}
	defer tree.Close()
	if root, err = verity.Build(data, tree, p); err != nil {
		return nil, 0, err
	}
	st, err := tree.Stat()
	if err != nil {
		return nil, 0, err
	}
	return root, st.Size(), nil
}

// fleetNginx is Debian's nginx (scripts/setup.sh unpacks it into the
// cache) serving www on 127.0.0.1 as a process of the bench, with
// its own prefix in dir; its access log stamps each request to the
// millisecond.
type fleetNginx struct {
	bin, dir string
	port     int
	cmd      *exec.Cmd
}

// newNginx writes the configuration; start runs it.
func newNginx(cache, dir, www string) (*fleetNginx, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	n := &fleetNginx{bin: filepath.Join(cache, "nginx", "root", "usr", "sbin", "nginx"), dir: dir, port: port}
	// user root is ignored unless run as root; worker_connections: room
	// for 64 clients and the relay's side of each. sndbuf: small, like the
	// relay's receive buffer, so that the bytes in flight past nginx stay
	// few: a stopped nginx cuts its downloads within a few ms, not after
	// the megabytes loopback's autotuned buffers would hold.
	conf := fmt.Sprintf(`daemon off;
user root;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 1024; }
http {
	log_format fleet '$msec $request_time $status $body_bytes_sent';
	access_log %[1]s/access.log fleet;
	client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy; fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
	default_type application/octet-stream;
	server { listen 127.0.0.1:%[2]d sndbuf=64k; root %[3]s; sendfile on; }
}
`, dir, port, www)
	return n, os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644)
}

func (n *fleetNginx) addr() string { return fmt.Sprintf("127.0.0.1:%d", n.port) }

// start runs nginx and returns once it listens.
func (n *fleetNginx) start() error {
	n.cmd = exec.Command(n.bin, "-p", n.dir, "-c", filepath.Join(n.dir, "nginx.conf"), "-e", filepath.Join(n.dir, "error.log"))
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := n.cmd.Start(); err != nil {
		return fmt.Errorf("nginx (run scripts/setup.sh, which unpacks it into the cache): %w", err)
	}
	for range 100 {
		if c, err := net.Dial("tcp", n.addr()); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	n.stop()
	log, _ := os.ReadFile(filepath.Join(n.dir, "error.log"))
	return fmt.Errorf("nginx does not listen on %s: %s", n.addr(), log)
}

// stop ends nginx (SIGTERM: its fast shutdown, which closes every
// connection) and waits for it.
func (n *fleetNginx) stop() {
	if n.cmd == nil {
		return
	}
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGTERM)
	_ = n.cmd.Wait()
	n.cmd = nil
}

// requests are the requests of nginx's log that began in [from, to), in
// order, by when each began (nginx stamps a request when it ends: less
// its request_time), and how many of them were answered 206 (a resumed
// download).
func (n *fleetNginx) requests(from, to time.Time) (began []time.Time, resumed int, err error) {
	f, err := os.Open(filepath.Join(n.dir, "access.log"))
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 3 {
			continue
		}
		end, err1 := strconv.ParseFloat(fields[0], 64)
		took, err2 := strconv.ParseFloat(fields[1], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		t := time.UnixMilli(int64((end - took) * 1000))
		if t.Before(from.Truncate(time.Millisecond)) || !t.Before(to) {
			continue
		}
		began = append(began, t)
		if fields[2] == "206" {
			resumed++
		}
	}
	slices.SortFunc(began, time.Time.Compare)
	return began, resumed, sc.Err()
}
