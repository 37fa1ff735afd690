package main

import "runtime/debug"

// version is set at build time (-ldflags "-X main.version=v1.2.3"); when
// it is not, the module's version and VCS revision say what was built.
var version = ""

// buildVersion is what `lagoon --version` prints.
func buildVersion() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 12:
			v += " " + s.Value[:12]
		case s.Key == "vcs.modified" && s.Value == "true":
			v += "+dirty"
		}
	}
	return v
}
