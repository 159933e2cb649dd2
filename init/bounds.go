package main

import (
	"fmt"

	"github.com/sandbox-init/sandbox-init/config"
)

// Every size a user can type is weighed against what the machine has
// before it is used (issue #20): a Go allocation or a kernel one that
// cannot be met is not an error PID 1 can report, it is the end of it.

// snapshotHeaderBytes is what the init writes to a COW disk to start an
// empty persistent store: dm-snapshot reads a zero magic as "new"
// (dm-snap-persistent.c, read_header). One page covers the header on any
// logical block size up to 4 KiB; a larger block is written whole.
func snapshotHeaderBytes(logicalBlock int) int { return max(4096, logicalBlock) }

// chunkMemoryShare is the share of the available RAM the persistent
// store's chunk buffers may take: dm-snap-persistent.c keeps three
// chunk-sized buffers in kernel memory (alloc_area: area, zero_area,
// header_area).
const chunkMemoryShare = 4

// checkChunkMemory refuses a chunk size whose persistent store (PO) would
// take more than a quarter of the available RAM in kernel buffers; the
// transient store (N) keeps none.
func checkChunkMemory(store config.StoreType, chunk uint32, avail uint64) error {
	bytes := uint64(chunk) * 512
	if store == config.StoreN || 3*bytes <= avail/chunkMemoryShare {
		return nil
	}
	largest := uint32(1)
	for 3*uint64(largest)*2*512 <= avail/chunkMemoryShare && largest < config.MaxChunk {
		largest *= 2
	}
	return fmt.Errorf("sandbox.chunk=%d (%s a chunk): the snapshot's store keeps 3 chunks in kernel memory (%s), more than a quarter of the %s of RAM available; the largest chunk this machine takes is sandbox.chunk=%d (the default, 32, is 16 KiB)",
		chunk, config.HumanBytes(bytes), config.HumanBytes(3*bytes), config.HumanBytes(avail), largest)
}

// capCOWSize caps a RAM COW store's size: a brd RAM disk larger than RAM
// cannot be filled (the machine runs out of memory first, and the kernel's
// OOM killer takes the system, where a full store of the right size only
// refuses writes); zram compresses, and its documentation sees "little
// point creating a zram of greater than twice the size of memory" (a 2:1
// ratio is what to expect). why is empty when want stands.
func capCOWSize(kind config.COWStore, want, mem uint64) (size uint64, why string) {
	limit, rule := mem, "the RAM"
	if kind == config.COWZRAM {
		limit, rule = 2*mem, "twice the RAM (zram's 2:1 compression)"
	}
	limit &^= 1<<12 - 1
	if want <= limit {
		return want, ""
	}
	return limit, fmt.Sprintf("sandbox.cowsize asks for a %s store of %s, more than %s (%s): capped to %s",
		kind, config.HumanBytes(want), rule, config.HumanBytes(mem), config.HumanBytes(limit))
}

// growShare is the share of the COW store the metadata of a grown file
// system's new block groups may take: ext4's lazy init writes their inode
// tables (zeros) into the COW store with no user write at all.
const growShare = 4

// capGrowTarget caps sandbox.grow's target size (bytes) for an ext2/3/4
// file system of size bytes whose block groups are group bytes long and
// need meta bytes of metadata each, over a COW store of cow bytes: the new
// groups' metadata may take a quarter of the store. It returns the target
// (size when nothing may grow) and why it was capped, or "".
func capGrowTarget(target, size, group, meta, cow uint64) (uint64, string) {
	if target <= size || group == 0 || meta == 0 {
		return target, ""
	}
	groups := (target - size + group - 1) / group
	allowed := cow / growShare / meta
	if groups <= allowed {
		return target, ""
	}
	capped := size + allowed*group
	return capped, fmt.Sprintf("growing to %s would write %s of new block groups' metadata into the COW store of %s (more than a quarter of it): capped to %s",
		config.HumanBytes(target), config.HumanBytes(groups*meta), config.HumanBytes(cow), config.HumanBytes(capped))
}
