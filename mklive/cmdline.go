package mklive

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/sandbox-init/sandbox-init/config"
)

// LiveCmdline is LiveCDCmdline for a CD found by its label.
func LiveCmdline(label, container, extra string) (cmdline, imagePath string, cfg config.Config, err error) {
	return LiveCDCmdline(config.Label(label), container, extra)
}

// LiveCDCmdline is a Live CD's kernel command line for how it is found
// (sandbox.cd: UUID=<its UUID>, as LiveCD does, or LABEL=<its label>), its
// container (see LiveCDSpec) and the extra parameters: with a container,
// sandbox.image names it. It returns the command line, where the root image
// (or its container) goes on the CD, and the configuration the command
// line gives the boot, checked as the boot checks it.
func LiveCDCmdline(cd config.DevRef, container, extra string) (cmdline, imagePath string, cfg config.Config, err error) {
	if err := CheckContainer(container); err != nil {
		return "", "", cfg, err
	}
	cmdline = "console=tty0 console=ttyS0 sandbox.cd=" + cd.String()
	imagePath = PlainImagePath
	if container != "" && container != "none" {
		imagePath = ContainerPath
		cmdline += " sandbox.image=" + ContainerPath
	}
	for _, w := range config.Fields(extra) {
		if w == "--" {
			break
		}
		if v, ok := strings.CutPrefix(w, "sandbox.image="); ok && v != imagePath {
			return "", "", cfg, fmt.Errorf("-append says sandbox.image=%s, but mklive puts the root image at %s: leave sandbox.image out of -append", v, imagePath)
		}
	}
	cmdline = strings.TrimSpace(cmdline + " " + extra)
	cfg, err = config.Parse(cmdline)
	if err != nil {
		return "", "", cfg, fmt.Errorf("the kernel command line %q: %w", cmdline, err)
	}
	if cfg.Image != imagePath {
		return "", "", cfg, fmt.Errorf("the kernel command line %q says sandbox.image=%s, but mklive puts the root image at %s: leave sandbox.image out of -append", cmdline, cfg.Image, imagePath)
	}
	return cmdline, imagePath, cfg, nil
}

// beforeInitArgs adds a parameter to a kernel command line, before a "--"
// that starts the init's own arguments, where the kernel and
// sandbox-init would no longer read it.
func beforeInitArgs(cmdline, param string) string {
	f := strings.Fields(cmdline)
	for i, w := range f {
		if w == "--" {
			return strings.Join(append(append(f[:i:i], param), f[i:]...), " ")
		}
	}
	return cmdline + " " + param
}

// ipxeSetting is an iPXE setting in a script's line (${next-server},
// ${cwduri}), which iPXE replaces before it boots the kernel.
var ipxeSetting = regexp.MustCompile(`\$\{[^}]*\}`)

// NetbootCmdline is a netboot tree's kernel command line: the image (or
// its container) at base + its path in the tree as sandbox.url, and the
// extra parameters. base may hold iPXE settings (http://${next-server});
// the configuration is checked with a stand-in host for them.
func NetbootCmdline(base, container, extra string) (cmdline, imagePath string, cfg config.Config, err error) {
	if err := CheckContainer(container); err != nil {
		return "", "", cfg, err
	}
	imagePath = PlainImagePath
	if container != "" && container != "none" {
		imagePath = ContainerPath
	}
	for _, w := range config.Fields(extra) {
		if w == "--" {
			break
		}
		for _, k := range []string{"url", "image", "cd"} {
			if strings.HasPrefix(w, config.Prefix+k+"=") {
				return "", "", cfg, fmt.Errorf("-append says %s: mklive netboot writes sandbox.url itself (from -url); leave it out", w)
			}
		}
	}
	cmdline = strings.TrimSpace("console=tty0 console=ttyS0 sandbox.url=" + strings.TrimSuffix(base, "/") + imagePath + " " + extra)
	cfg, err = config.Parse(ipxeSetting.ReplaceAllString(cmdline, "ipxe-setting"))
	if err != nil {
		return "", "", cfg, fmt.Errorf("the kernel command line %q: %w", cmdline, err)
	}
	return cmdline, imagePath, cfg, nil
}
