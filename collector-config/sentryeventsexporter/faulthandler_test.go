// Copyright prodtel authors
// SPDX-License-Identifier: Apache-2.0

package sentryeventsexporter

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// nativeCrash builds the record prodtel's next run sends for a crash file
// (testdata/faulthandler, written by testdata/gen_faulthandler.py from real crashes).
func nativeCrash(t *testing.T, name, signal string) (*event, bool) {
	t.Helper()
	text, err := os.ReadFile("testdata/faulthandler/" + name + ".txt")
	require.NoError(t, err, "run testdata/gen_faulthandler.py")
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "crasher")
	rl.Resource().Attributes().PutStr("telemetry.sdk.language", "python")
	rec := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	rec.SetSeverityNumber(plog.SeverityNumberFatal)
	rec.SetEventName("exception")
	a := rec.Attributes()
	a.PutStr(attrExcType, signal)
	a.PutStr(attrExcMessage, "native crash: (the Python frames are from faulthandler)")
	a.PutStr(attrExcStacktrace, string(text))
	a.PutBool(attrExcHandled, false)
	c := &converter{}
	return c.convert(c.resource(rl.Resource()), pcommon.NewInstrumentationScope(), rec)
}

func functions(fs []frame) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Function
	}
	return out
}

func TestFaulthandlerCrashedThreadOldestFirst(t *testing.T) {
	ev, unparsed := nativeCrash(t, "segv_main", "SIGSEGV")
	require.False(t, unparsed)
	require.Len(t, ev.Exception.Values, 1)
	v := ev.Exception.Values[0]
	assert.Equal(t, "SIGSEGV", v.Type)
	assert.Contains(t, v.Value, "native crash")
	assert.Equal(t, "faulthandler", v.Mechanism.Type)
	assert.False(t, v.Mechanism.Handled)
	assert.Equal(t, "fatal", ev.Level)
	require.NotNil(t, v.Stacktrace)
	// The current thread only (the sleeping thread's frames are not the crash), oldest first.
	assert.Equal(t, []string{"<module>", "outer", "inner", "string_at"}, functions(v.Stacktrace.Frames))
	f := v.Stacktrace.Frames[2]
	assert.Equal(t, "/app/segv_main.py", f.AbsPath)
	assert.Equal(t, 8, f.Lineno)
	assert.True(t, f.InApp)
	assert.False(t, v.Stacktrace.Frames[3].InApp) // the stdlib's ctypes
}

func TestFaulthandlerCrashInAThread(t *testing.T) {
	ev, _ := nativeCrash(t, "segv_thread", "SIGSEGV")
	v := ev.Exception.Values[0]
	require.NotNil(t, v.Stacktrace)
	fns := functions(v.Stacktrace.Frames)
	assert.Equal(t, "_bootstrap", fns[0])
	assert.Equal(t, []string{"crash_in_thread", "string_at"}, fns[len(fns)-2:])
}

func TestFaulthandlerFrameLimit(t *testing.T) {
	// faulthandler prints 100 frames and "  ..."; they are the newest ones.
	ev, _ := nativeCrash(t, "abort_deep", "SIGABRT")
	v := ev.Exception.Values[0]
	assert.Equal(t, "SIGABRT", v.Type)
	require.NotNil(t, v.Stacktrace)
	assert.Len(t, v.Stacktrace.Frames, 100)
	last := v.Stacktrace.Frames[99]
	assert.Equal(t, "down", last.Function)
	assert.Equal(t, 7, last.Lineno)
}

func TestFaulthandlerNotRecognised(t *testing.T) {
	assert.Nil(t, parseFaulthandler("Traceback (most recent call last):\n  File \"x.py\", line 1, in <module>\nValueError: x\n"))
	assert.Nil(t, parseFaulthandler("Fatal Python error: Aborted\n\nno thread block\n"))
	f, ok := faultFrameLine(`  File "/a/b.py", line 12 in run`)
	assert.True(t, ok)
	assert.Equal(t, pyFrame{Path: "/a/b.py", Line: 12, Function: "run"}, f)
	_, ok = faultFrameLine(`  File "/a/b.py", line 12, in run`) // a Python traceback's frame
	assert.False(t, ok)
}
