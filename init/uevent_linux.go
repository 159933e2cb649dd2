package main

import (
	"time"

	"golang.org/x/sys/unix"
)

// uevents is a netlink socket on which the kernel announces devices as they
// come and go (what udev listens to). A device wait sleeps on it, so a CD
// or a USB stick that shows up after a slow enumeration is seen at once,
// and nothing is polled while nothing happens.
type uevents struct{ fd int }

// openUevents subscribes to the kernel's uevents; nil (waits then poll)
// when it cannot.
func openUevents() *uevents {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		return nil
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1}); err != nil {
		unix.Close(fd)
		return nil
	}
	return &uevents{fd: fd}
}

// wait returns when the kernel announces something, or after d.
func (u *uevents) wait(d time.Duration) {
	if u == nil {
		time.Sleep(d)
		return
	}
	fds := []unix.PollFd{{Fd: int32(u.fd), Events: unix.POLLIN}}
	if n, err := unix.Poll(fds, int(d.Milliseconds())); err != nil || n == 0 {
		return
	}
	// Drain: the caller looks at the whole state again, not at the event.
	buf := make([]byte, 8192)
	for {
		if _, _, err := unix.Recvfrom(u.fd, buf, unix.MSG_DONTWAIT); err != nil {
			return
		}
	}
}

func (u *uevents) close() {
	if u != nil {
		unix.Close(u.fd)
	}
}
