package config

import "strings"

// ModuleParams collects the module.param=value words of a command line,
// joined per module (kmod normalizes - to _ in module names), the way
// modprobe passes them to a module it loads. sandbox.* words are ours.
func ModuleParams(cmdline string) map[string]string {
	out := map[string]string{}
	for _, w := range Fields(cmdline) {
		if w == "--" {
			break
		}
		key, _, _ := strings.Cut(w, "=")
		mod, param, ok := strings.Cut(key, ".")
		if !ok || mod == "" || param == "" || mod == "sandbox" || strings.ContainsAny(mod, "/") {
			continue
		}
		mod = strings.ReplaceAll(mod, "-", "_")
		if out[mod] != "" {
			out[mod] += " "
		}
		out[mod] += w[len(mod)+1:]
	}
	return out
}
