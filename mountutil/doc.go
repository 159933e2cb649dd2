// Package mountutil holds the mount, loop and switch_root steps of
// sandbox-init. Every function names its paths in its errors, because these
// errors end up on a console in front of a user.
//
// By job: mount_linux.go mounts and moves file systems; fstype_linux.go
// names a device's file system (package superblock reads its superblock)
// and asks the kernel for a driver; block_linux.go asks block devices by ioctl; loop_linux.go
// attaches an image to a loop device; switchroot_linux.go hands the machine
// to the new root.
package mountutil
