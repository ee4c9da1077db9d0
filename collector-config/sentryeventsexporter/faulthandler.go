// Copyright prodtel authors
// SPDX-License-Identifier: Apache-2.0

package sentryeventsexporter

import (
	"strconv"
	"strings"
)

// This file parses what Python's faulthandler writes when a fatal signal kills the process
// (prodtel reports it from the next run as exception.stacktrace of a native crash):
//
//	Fatal Python error: Segmentation fault
//
//	Thread 0x00007f25777c06c0 (most recent call first):
//	  File "/app/worker.py", line 6 in work
//	  ...
//
//	Current thread 0x00007f2578632b80 (most recent call first):
//	  File "/usr/lib/python3.11/ctypes/__init__.py", line 519 in string_at
//	  File "/app/main.py", line 9 in inner
//
// Frames are newest first and have no comma before "in"; a thread that has more than 100
// frames ends with "  ...". The crashed thread is "Current thread" (or the only "Stack").

const (
	fatalPrefix   = "Fatal Python error: "
	windowsPrefix = "Windows fatal exception: "
	callsFirst    = "(most recent call first):"
)

// parseFaulthandler returns the crashed thread as one exception (type and value left empty
// for the caller, frames oldest first), or nil when text is not faulthandler output.
func parseFaulthandler(text string) *pyException {
	text = strings.ReplaceAll(strings.TrimLeft(text, "\n"), "\r\n", "\n")
	if !strings.HasPrefix(text, fatalPrefix) && !strings.HasPrefix(text, windowsPrefix) {
		return nil
	}
	var current, last []pyFrame
	seen, inCurrent, inBlock := false, false, false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasSuffix(line, callsFirst) && !strings.HasPrefix(line, " ") {
			seen, inBlock = true, true
			inCurrent = strings.HasPrefix(line, "Current thread ") || strings.HasPrefix(line, "Stack ")
			last = nil
			continue
		}
		if !inBlock {
			continue
		}
		f, ok := faultFrameLine(line)
		if !ok {
			if line != "  ..." && line != "  <no Python frame>" && !strings.HasPrefix(line, "  [... ") {
				inBlock = false
			}
			continue
		}
		last = append(last, f)
		if inCurrent {
			current = append(current, f)
		}
	}
	if !seen {
		return nil
	}
	frames := current
	if frames == nil {
		frames = last
	}
	for i, j := 0, len(frames)-1; i < j; i, j = i+1, j-1 {
		frames[i], frames[j] = frames[j], frames[i]
	}
	return &pyException{Frames: frames, Complete: true, Mechanism: "faulthandler"}
}

// faultFrameLine parses `  File "<path>", line N in <func>`.
func faultFrameLine(s string) (f pyFrame, ok bool) {
	rest, ok := strings.CutPrefix(s, `  File "`)
	if !ok {
		return f, false
	}
	i := strings.LastIndex(rest, `", line `)
	if i < 0 {
		return f, false
	}
	f.Path = rest[:i]
	num, fn, ok := strings.Cut(rest[i+len(`", line `):], " in ")
	if !ok {
		return f, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return f, false
	}
	f.Line, f.Function = n, fn
	return f, true
}
