package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/sandbox-init/sandbox-init/internal/testca"
	"github.com/sandbox-init/sandbox-init/internal/testvm"
	"github.com/sandbox-init/sandbox-init/mklive"
	"github.com/sandbox-init/sandbox-init/netfetch/tlsclient"
	"github.com/u-root/u-root/pkg/cpio"
)

// TestCACommand runs the built command as a user does with -ca, on the
// cloud kernel scripts/setup.sh fetches. -ca FILE and -ca system build
// sandbox-init with TLS and put the bundle in the initramfs; a missing
// file, a file without a PEM certificate, a certificate that does not
// parse (initramfs, and netboot) are refused with status 1 and the
// reason before anything is built; an -init without TLS is refused.
func TestCACommand(t *testing.T) {
	repo, err := testvm.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	kernel := filepath.Join(testvm.CacheDir(repo), "kernels", testvm.Cloud12, "root")
	if _, err := mklive.FindKernel(kernel, ""); err != nil {
		t.Fatalf("%v (scripts/setup.sh fetches the kernel)", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "mklive")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ca, err := testca.New("mklive test CA")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"ca.pem":     string(ca.PEM),
		"notpem.txt": "not a certificate\n",
		"broken.pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(args ...string) (stdout, stderr string, status int) {
		cmd := exec.Command(bin, args...)
		cmd.Dir = repo
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			status = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return o.String(), e.String(), status
	}
	for _, tc := range []struct{ name, cmd, ca, init, want string }{
		{"missing", "initramfs", filepath.Join(dir, "nothere.pem"), "", "mklive: CA bundle: open " + filepath.Join(dir, "nothere.pem") + ": no such file or directory (give -ca a PEM file of CA certificates)"},
		{"not PEM", "initramfs", filepath.Join(dir, "notpem.txt"), "", "mklive: CA bundle: no PEM certificate in it"},
		{"broken certificate", "initramfs", filepath.Join(dir, "broken.pem"), "", "mklive: CA bundle: certificate 1: x509: "},
		{"netboot, missing", "netboot", filepath.Join(dir, "nothere.pem"), "", "mklive: CA bundle: open " + filepath.Join(dir, "nothere.pem") + ": no such file"},
		{"an init without TLS", "initramfs", filepath.Join(dir, "ca.pem"), os.Args[0], "was built without TLS (go build -tags tls): leave -init out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := []string{tc.cmd, "-kernel", kernel, "-ca", tc.ca, "-o", out}
			if tc.cmd == "netboot" {
				args = append(args, "-root", dir)
			}
			if tc.init != "" {
				args = append(args, "-init", tc.init)
			}
			stdout, stderr, status := run(args...)
			if status != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("mklive %s: status %d, stderr %q; want status 1 and %q", strings.Join(args, " "), status, stderr, tc.want)
			}
			if strings.Contains(stdout, "building sandbox-init") {
				t.Errorf("sandbox-init was built before the refusal:\n%s", stdout)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("%s was written", out)
			}
		})
	}
	for _, tc := range []struct{ name, ca, bundle string }{{"FILE", filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca.pem")}, {"system", "system", mklive.SystemCA}} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "initramfs.img")
			stdout, stderr, status := run("initramfs", "-kernel", kernel, "-ca", tc.ca, "-o", out)
			if status != 0 {
				t.Fatalf("mklive initramfs -ca %s: status %d\n%s%s", tc.ca, status, stdout, stderr)
			}
			for _, want := range []string{"mklive: building sandbox-init (static, with the network and TLS for https://)", mklive.CANote(tc.bundle)} {
				if !strings.Contains(stdout, want) {
					t.Errorf("mklive initramfs -ca %s says:\n%s\nwithout %q", tc.ca, stdout, want)
				}
			}
			files := readInitramfs(t, out)
			want, err := os.ReadFile(tc.bundle)
			if err != nil {
				t.Fatal(err)
			}
			if got := files[strings.TrimPrefix(tlsclient.BundlePath, "/")]; !bytes.Equal(got, want) {
				t.Errorf("the initramfs's %s has %d bytes, not the %d of %s", tlsclient.BundlePath, len(got), len(want), tc.bundle)
			}
			init := filepath.Join(t.TempDir(), "init")
			if err := os.WriteFile(init, files["init"], 0o755); err != nil {
				t.Fatal(err)
			}
			if !mklive.InitHasTLS(init) {
				t.Error("the initramfs's init was built without TLS")
			}
		})
	}
}

// readInitramfs unpacks a zstd-compressed newc cpio into name -> content.
func readInitramfs(t *testing.T, path string) map[string][]byte {
	t.Helper()
	packed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zstd.NewReader(bytes.NewReader(packed))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(must(io.ReadAll(zr)))))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, r := range recs {
		if r.ReaderAt != nil {
			out[r.Name] = must(io.ReadAll(io.NewSectionReader(r.ReaderAt, 0, int64(r.FileSize))))
		}
	}
	return out
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
