package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// buildVersion returns the version of the main module and the VCS revision that this
// binary was built from, as the go command recorded them in it. The version is a tag, a
// pseudo-version (v0.0.0-TIME-REVISION), either with +dirty when the work tree had
// uncommitted changes, or "(devel)" when the build had no VCS information (go run,
// -buildvcs=false, a source tree without its .git). The revision is the full commit
// hash, or "unknown". erasured version prints them; they are meant for the label values
// of the metric erasured_build_info too.
func buildVersion() (version, revision string) {
	version, revision = "(devel)", "unknown"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version, revision
	}
	if info.Main.Version != "" {
		version = info.Main.Version
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && s.Value != "" {
			revision = s.Value
		}
	}
	return version, revision
}

func version(args []string, stdout io.Writer, getenv func(string) string) error {
	f := newFlags("version", getenv)
	if err := f.parse(args); err != nil {
		return err
	}
	v, rev := buildVersion()
	_, err := fmt.Fprintf(stdout, "erasured %s\nrevision %s\n%s %s/%s\n", v, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}
