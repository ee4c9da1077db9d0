// Copyright prodtel authors
// SPDX-License-Identifier: Apache-2.0

package sentryeventsexporter

import (
	"regexp"
	"strings"
)

var (
	// Home directories, wherever they appear in a path or message: /home/<user>, /Users/<user>,
	// /root, C:\Users\<user> (also with doubled backslashes, as repr() prints them, or slashes).
	// The first group keeps the character before the path.
	homeRE = regexp.MustCompile(`(^|[\s'"(\[=:,;])(?:/home/[^/\s'",;:)\]]+|/Users/[^/\s'",;:)\]]+|/root|[A-Za-z]:(?:\\\\|\\|/)Users(?:\\\\|\\|/)[^\\/\s'",;:)\]]+)((?:\\\\|[\\/\s'")\],;:])|$)`)
	// CPython's standard library: .../lib/python3.11/..., ...\Python311\Lib\..., python311.zip.
	stdlibRE = regexp.MustCompile(`(?i)(?:[\\/]lib[\\/]python\d+(?:\.\d+)?t?[\\/]|[\\/]python\d+[^\\/]*[\\/]lib[\\/]|python\d+\.zip[\\/])`)
)

// scrubHome replaces home directories with "~" so user names never leave the collector.
func scrubHome(s string) string {
	if !strings.Contains(s, "/home/") && !strings.Contains(s, "/Users/") &&
		!strings.Contains(s, "/root") && !strings.Contains(s, "Users") {
		return s // fast path: nothing that can match
	}
	return homeRE.ReplaceAllString(s, "${1}~${2}")
}

// pathInfo is what a frame's file path tells about it.
type pathInfo struct {
	Filename string // path relative to site-packages or the stdlib root, else the path
	Module   string // dotted module name when the path is under one of those roots
	Library  bool   // third-party (site-/dist-packages), stdlib or frozen/<string> code
}

// classifyPath derives filename, module and library-ness from a (scrubbed) path.
// appPackage is the service's own top-level package: a pip/pipx-installed app lives in
// site-packages, and its frames are still the app's own.
func classifyPath(path, appPackage string) pathInfo {
	if strings.HasPrefix(path, "<") {
		return pathInfo{Filename: path, Library: true}
	}
	if end := thirdPartyRoot(path); end >= 0 {
		rel := path[end:]
		mod := moduleFromRel(rel)
		top, _, _ := strings.Cut(mod, ".")
		return pathInfo{Filename: rel, Module: mod, Library: appPackage == "" || top != appPackage}
	}
	if strings.Contains(path, "ython") && stdlibRE.MatchString(path) {
		rel := lastRoot(path, stdlibRE)
		return pathInfo{Filename: rel, Module: moduleFromRel(rel), Library: true}
	}
	return pathInfo{Filename: path}
}

// thirdPartyRoot returns the index just after the last "/site-packages/" or
// "/dist-packages/" (either slash), or -1.
func thirdPartyRoot(path string) int {
	best := -1
	for _, dir := range [...]string{"site-packages", "dist-packages"} {
		i := strings.LastIndex(path, dir)
		for i > 0 {
			end := i + len(dir)
			if isSep(path[i-1]) && end < len(path) && isSep(path[end]) {
				best = max(best, end+1)
				break
			}
			i = strings.LastIndex(path[:i], dir)
		}
	}
	return best
}

func isSep(c byte) bool { return c == '/' || c == '\\' }

// lastRoot returns the part of path after the last match of re.
func lastRoot(path string, re *regexp.Regexp) string {
	all := re.FindAllStringIndex(path, -1)
	return path[all[len(all)-1][1]:]
}

// moduleFromRel turns "pkg/sub/mod.py" into "pkg.sub.mod" ("pkg/__init__.py" into "pkg").
func moduleFromRel(rel string) string {
	rel = strings.ReplaceAll(rel, "\\", "/")
	if !strings.HasSuffix(rel, ".py") {
		return ""
	}
	rel = strings.TrimSuffix(strings.TrimSuffix(rel, ".py"), "/__init__")
	return strings.ReplaceAll(rel, "/", ".")
}

// appPackageName normalises a service name to the import name its package would have.
func appPackageName(service string) string {
	return strings.NewReplacer("-", "_", ".", "_", " ", "_").Replace(strings.ToLower(service))
}
