package main

import (
	"fmt"

	"github.com/sandbox-init/sandbox-init/config"
)

// toramSlack is the RAM left for the system besides the image and the COW
// store when sandbox.toram decides whether the image fits.
const toramSlack = 512 << 20

// toramDecision applies sandbox.toram's rule: copy the image (image
// bytes, and its hash tree's tree bytes: the copy holds both) into RAM
// when the available RAM holds it, the RAM COW store (cow bytes, 0 for a
// disk) and toramSlack. When it does not fit, "auto" boots from the
// medium, "yes" fails; why says so with the numbers.
func toramDecision(mode config.Tristate, image, tree, cow, avail uint64) (copy, fail bool, why string) {
	if mode == config.No {
		return false, false, ""
	}
	need := image + tree + cow + toramSlack
	if need <= avail {
		return true, false, ""
	}
	what := fmt.Sprintf("the image (%s)", config.HumanBytes(image))
	if tree > 0 {
		what += fmt.Sprintf(", its hash tree (%s)", config.HumanBytes(tree))
	}
	why = fmt.Sprintf("%s, the COW store (%s) and %s for the system need %s, more than the %s of RAM available",
		what, config.HumanBytes(cow), config.HumanBytes(toramSlack), config.HumanBytes(need), config.HumanBytes(avail))
	return false, mode == config.Yes, why
}
