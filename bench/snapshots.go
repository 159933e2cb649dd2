package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
)

// snapshots are the -chunks and -stores options of io and work: the
// snapshot configurations to boot, every chunk size with every store.
type snapshots struct {
	chunks, stores string
}

func (s *snapshots) flags(fs *flag.FlagSet, chunks, stores string) {
	fs.StringVar(&s.chunks, "chunks", chunks, "chunk sizes in sectors (sandbox.chunk), comma-separated")
	fs.StringVar(&s.stores, "stores", stores, "snapshot stores (sandbox.store): PO, N or PO,N")
}

// snapConfig is one snapshot configuration.
type snapConfig struct {
	chunk int
	store string // PO or N
}

// configs are the configurations, chunk by chunk, each with every store.
func (s *snapshots) configs() ([]snapConfig, error) {
	var out []snapConfig
	for _, f := range strings.Split(s.chunks, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-chunks %q: want sector counts such as 8,32", s.chunks)
		}
		for _, st := range strings.Split(s.stores, ",") {
			st = strings.ToUpper(strings.TrimSpace(st))
			if st != "PO" && st != "N" {
				return nil, fmt.Errorf("-stores %q: want PO, N or PO,N", s.stores)
			}
			out = append(out, snapConfig{chunk: n, store: st})
		}
	}
	return out, nil
}

func checkMiB(mib int) error {
	if mib < 1 {
		return fmt.Errorf("-mib %d: want 1 or more", mib)
	}
	return nil
}
