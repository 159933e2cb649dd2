// Package state is the public contract between sandbox-init and the booted
// system: the two JSON files it leaves in /run/sandbox, their Go types, and
// their readers. The init writes State once, just before switch_root; the
// COW watcher rewrites Usage on every look; "sandbox-init status", bench and
// the VM tests read both through this package. The JSON names are a public
// format: a field may be added, never renamed or given another unit.
//
// The package writes and reads the JSON itself (State.JSON, Usage.JSON,
// Parse, ParseUsage), without encoding/json, which no init links: its
// reflection was ~127 KB of the compressed init and code that a TCG boot
// translates on its one run before switch_root. The text is byte for byte
// what json.MarshalIndent(s, "", "  ") (state.json) and json.Marshal
// (usage.json) write, and the readers take what json.Unmarshal takes; a
// reader in another language or with encoding/json reads both as before.
//
// # state.json (Path): what sandbox-init did
//
// Always present:
//
//   - params: the configuration, as sandbox.* parameters (name → value).
//   - origin: the snapshot's origin device (the image's loop device, its
//     verity device, or the grown base).
//   - cow: the COW store's device (/dev/ram0, /dev/zram0, a disk); cow_bytes
//     its size in bytes.
//   - device: the snapshot, /dev/mapper/NAME; dm_minor its minor number.
//   - table: the snapshot's device-mapper table, "0 SECTORS snapshot ORIGIN
//     COW STORE CHUNK" (STORE N, P or PO; CHUNK in 512-byte sectors).
//   - fstype: the root's file system; root_free_bytes the free space in /
//     at boot, in bytes (the sandbox can take the smaller of it and
//     cow_bytes).
//   - phases: each boot step in order, {name, ms}: its wall time in
//     milliseconds (fractional).
//
// Present only when it applies (omitted otherwise):
//
//   - cd: the CD device the image came from ("/dev/sr0"), or with
//     sandbox.iso "DISK:/path/file.iso"; cd_mount where it is in the new root.
//   - loop: the loop device over the image.
//   - container, container_loop: the compressed container (squashfs) on the
//     CD that holds the image, and the loop device over it.
//   - iso_disk, iso_loop (sandbox.iso): the disk or partition holding the
//     ISO file, and the loop device over the file, mounted as the CD.
//   - image_in_ram, cd_released (sandbox.toram): the image's copy in RAM, and
//     true once the CD was let go of.
//   - grown_base (sandbox.grow): the image with zeros after it, the
//     snapshot's origin then.
//   - verity (sandbox.verity): the dm-verity device and its parameters (see
//     Verity); verity_off: why the image is not verified although the medium
//     has its hash tree.
//   - net (sandbox.url): the network boot's link, address and mirror (see Net).
//   - nbd (sandbox.url=nbd://…): the export the image is read from on
//     demand, and its device (see NBD).
//   - boot_chain: what verified the boot before sandbox-init ran (see
//     BootChain); sandbox-init writes it on every boot (what it could not
//     read, secure_boot says), but a reader must allow for its absence.
//   - watcher_pid: the COW watcher's process id (absent when sandbox.watch
//     turns the watcher off, or it could not start).
//
// verity holds root_hash (hex), hash_tree (the tree's file on the medium),
// device (/dev/mapper/NAME-verity), data_blocks and block_size (bytes),
// on_corrupt (what a corrupted block does), and unverified (only with a
// persistent COW store: what lies over the verified image unchecked).
//
// net holds iface, mac, address (CIDR), url (the mirror), and when known
// gateway (the default route's) and dhcp_server.
//
// nbd holds url (as given), server (ADDRESS:PORT as dialled at boot: the
// watcher reconnects there), export, device (/dev/nbdN), size_bytes (the
// export's), and dead_conn_s (how long reads wait for a reconnect when the
// connection is lost, before they fail).
//
// boot_chain holds uefi (booted by UEFI firmware), secure_boot ("on",
// "off", "setup mode", or "unknown: …why"), lockdown (the kernel's: none,
// integrity or confidentiality, when it has the feature), stub (systemd's
// UEFI stub, "systemd-stub 252…", when the kernel came from a unified kernel
// image), and cmdline_signed (true when the command line, with
// sandbox.verity's root hash, is the signed image's own).
//
// # usage.json (UsagePath): the COW store's use, kept current
//
// Written atomically (a rename) by the watcher on each look, so a reader
// never sees half of it; absent when the watcher is off. All fields are
// always present except the last three:
//
//   - used_sectors, total_sectors, metadata_sectors: the snapshot's status,
//     in 512-byte sectors; percent: used of total, 0–100.
//   - invalid: the snapshot is dead (an N store filled, or a read of the base
//     failed); invalid_cause (when known) why, from the kernel's log.
//   - overflow: a PO store filled: new writes fail, reads work.
//   - uptime_s: the kernel's uptime at the look, in seconds.
//   - verity_corrupted, verity_blocks: dm-verity found corrupted blocks of
//     the image, and which ("data block 12").
package state
