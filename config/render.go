package config

import (
	"sort"
	"strconv"
	"strings"
)

// Params renders c as the sandbox.* parameters that Parse turns back into
// c: what the state file shows, and a round trip the fuzzer checks. Keys
// that would conflict (sandbox.zalgo without zram, sandbox.cd and
// sandbox.image with sandbox.origin) are left out when unused.
func (c Config) Params() map[string]string {
	p := map[string]string{
		"cdmount": c.CDMount, "cow": c.COW.String(), "cowsize": c.COWSize.String(),
		"chunk": "auto", "persistent": "N", "store": c.Store.String(), "name": c.Name,
		"fstype": c.FSType, "wait": c.Wait.String(), "init": c.Init, "onfail": c.OnFail, "watch": c.Watch.String(),
	}
	if c.Chunk != 0 {
		p["chunk"] = strconv.FormatUint(uint64(c.Chunk), 10)
	}
	if c.Persistent {
		p["persistent"] = "P"
	}
	p["toram"], p["grow"] = c.ToRAM.String(), c.Grow.String()
	if !c.ISO.IsZero() {
		p["iso"] = c.ISO.String()
	}
	switch {
	case !c.Origin.IsZero():
		p["origin"] = c.Origin.String()
	case !c.ISO.IsZero():
		p["image"] = c.Image // the ISO file takes sandbox.cd's place
	default:
		p["cd"], p["image"] = c.CD.String(), c.Image
	}
	if c.COW == COWZRAM {
		p["zalgo"] = c.ZAlgo
	}
	if c.Verity != "" {
		p["verity"], p["oncorrupt"] = c.Verity, c.OnCorrupt
	}
	c.renderNet(p)
	out := make(map[string]string, len(p))
	for k, v := range p {
		out[Prefix+k] = v
	}
	return out
}

// CommandLine renders Params as kernel parameters, sorted, quoting values
// with spaces or quotes the way Fields reads them back.
func (c Config) CommandLine() string {
	p := c.Params()
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		v := p[k]
		if strings.ContainsAny(v, " \t\n\r\v\f\"") { // every byte Fields splits on
			v = `"` + v + `"`
		}
		b.WriteString(k + "=" + v)
	}
	return b.String()
}
