// Copyright prodtel authors
// SPDX-License-Identifier: Apache-2.0

package sentryeventsexporter

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// testLogs is one resource with the prodtel wire-convention attributes and one record per
// corpus case name given (plus, optionally, a record without exception attributes).
func testLogs(t testing.TB, cases ...string) plog.Logs {
	corpus := loadCorpus(t)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	a := rl.Resource().Attributes()
	a.PutStr("service.name", "shop")
	a.PutStr("service.version", "1.4.0")
	a.PutStr("os.type", "linux")
	a.PutStr("os.version", "6.1.0")
	a.PutStr("host.arch", "amd64")
	a.PutStr("process.runtime.name", "cpython")
	a.PutStr("process.runtime.version", "3.11.7")
	a.PutStr("app.installation.id", "5f0c6c1e-1d3b-4bb2-9a51-2f6f0d2d7c11")
	a.PutStr("deployment.environment.name", "staging")
	a.PutStr("telemetry.sdk.language", "python")
	a.PutStr("host.name", "alices-laptop")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("prodtel")
	for i, name := range cases {
		rec := sl.LogRecords().AppendEmpty()
		if name == "" {
			rec.SetEventName("usage_report")
			rec.Attributes().PutInt("iterations", 3)
			continue
		}
		rec.SetEventName("exception")
		rec.SetSeverityNumber(plog.SeverityNumberError)
		rec.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2026, 5, 1, 12, 0, i, 123456789, time.UTC)))
		for k, v := range corpus[name].Attributes {
			rec.Attributes().PutStr(k, v)
		}
	}
	return ld
}

func convertFirst(t *testing.T, conv *converter, ld plog.Logs) (*event, bool) {
	rl := ld.ResourceLogs().At(0)
	sl := rl.ScopeLogs().At(0)
	return conv.convert(conv.resource(rl.Resource()), sl.Scope(), sl.LogRecords().At(0))
}

func TestConvertEventFields(t *testing.T) {
	ld := testLogs(t, "chained_cause")
	ev, unparsed := convertFirst(t, &converter{}, ld)
	require.False(t, unparsed)

	assert.Regexp(t, `^[0-9a-f]{32}$`, ev.EventID)
	assert.Equal(t, "2026-05-01T12:00:00.123456Z", ev.Timestamp)
	assert.Equal(t, "python", ev.Platform)
	assert.Equal(t, "error", ev.Level)
	assert.Equal(t, "prodtel", ev.Logger)
	assert.Equal(t, "1.4.0", ev.Release)
	assert.Equal(t, "staging", ev.Environment)
	assert.Equal(t, map[string]string{"event_name": "exception", "service.name": "shop"}, ev.Tags)
	assert.Equal(t, &user{ID: "5f0c6c1e-1d3b-4bb2-9a51-2f6f0d2d7c11"}, ev.User)
	require.NotNil(t, ev.Contexts)
	assert.Equal(t, &osContext{Name: "Linux", Version: "6.1.0"}, ev.Contexts.OS)
	assert.Equal(t, &runtimeContext{Name: "CPython", Version: "3.11.7"}, ev.Contexts.Runtime)
	assert.Equal(t, &deviceContext{Arch: "amd64"}, ev.Contexts.Device)
	assert.Nil(t, ev.Contexts.Trace)
	assert.Equal(t, sdkName, ev.SDK.Name)

	vals := ev.Exception.Values
	require.Len(t, vals, 2)
	assert.Equal(t, "ZeroDivisionError", vals[0].Type)
	assert.Equal(t, sourceCause, vals[0].Mechanism.Source)
	assert.Equal(t, "chained", vals[0].Mechanism.Type)
	assert.Equal(t, "PaymentError", vals[1].Type)
	assert.Equal(t, "shop.errors", vals[1].Module)
	assert.Equal(t, "opentelemetry", vals[1].Mechanism.Type)
	assert.True(t, vals[1].Mechanism.Handled, "ERROR without exception.handled is a handled error")

	raw, err := json.Marshal(ev)
	require.NoError(t, err)
	for _, never := range []string{"server_name", "alices-laptop", "host.name"} {
		assert.NotContains(t, string(raw), never)
	}
}

func TestHandledAndLevel(t *testing.T) {
	cases := []struct {
		sev     plog.SeverityNumber
		attr    any
		handled bool
		level   string
	}{
		{plog.SeverityNumberFatal, nil, false, "fatal"},
		{plog.SeverityNumberError, nil, true, "error"},
		{plog.SeverityNumberWarn, nil, true, "warning"},
		{plog.SeverityNumberUnspecified, nil, true, "error"},
		{plog.SeverityNumberError, false, false, "error"},
		{plog.SeverityNumberFatal, true, true, "fatal"},
		{plog.SeverityNumberError, "false", false, "error"},
	}
	for _, c := range cases {
		ld := testLogs(t, "simple_caret")
		rec := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
		rec.SetSeverityNumber(c.sev)
		switch v := c.attr.(type) {
		case bool:
			rec.Attributes().PutBool(attrExcHandled, v)
		case string:
			rec.Attributes().PutStr(attrExcHandled, v)
		}
		ev, _ := convertFirst(t, &converter{}, ld)
		for _, v := range ev.Exception.Values {
			assert.Equal(t, c.handled, v.Mechanism.Handled, "%+v", c)
		}
		assert.Equal(t, c.level, ev.Level, "%+v", c)
	}
}

func TestEventIDDeterministic(t *testing.T) {
	a, _ := convertFirst(t, &converter{}, testLogs(t, "notes"))
	b, _ := convertFirst(t, &converter{}, testLogs(t, "notes"))
	assert.Equal(t, a.EventID, b.EventID, "the same record is the same event")
	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{12}8[0-9a-f]{3}[89ab][0-9a-f]{15}$`), a.EventID, "UUIDv8 bits")

	ld := testLogs(t, "notes")
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().PutStr("extra", "x")
	c, _ := convertFirst(t, &converter{}, ld)
	assert.NotEqual(t, a.EventID, c.EventID, "a different record is a different event")

	ld = testLogs(t, "notes")
	ld.ResourceLogs().At(0).Resource().Attributes().PutStr("session.id", "s2")
	d, _ := convertFirst(t, &converter{}, ld)
	assert.NotEqual(t, a.EventID, d.EventID, "resource attributes are part of the identity")

	ld = testLogs(t, "notes")
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().PutStr(attrRecordUID, "0F8FAD5B-D9CB-469F-A165-70867728950E")
	e, _ := convertFirst(t, &converter{}, ld)
	assert.Equal(t, "0f8fad5bd9cb469fa16570867728950e", e.EventID, "log.record.uid is the event id")
}

func TestEnvironmentOverride(t *testing.T) {
	ev, _ := convertFirst(t, &converter{environment: "production"}, testLogs(t, "simple_caret"))
	assert.Equal(t, "production", ev.Environment)
}

func TestTraceContextAndLogentry(t *testing.T) {
	ld := testLogs(t, "simple_caret")
	rec := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	rec.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	rec.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	rec.Body().SetStr("checkout failed for /home/alice/orders.csv")
	ev, _ := convertFirst(t, &converter{}, ld)
	require.NotNil(t, ev.Contexts.Trace)
	assert.Equal(t, "0102030405060708090a0b0c0d0e0f10", ev.Contexts.Trace.TraceID)
	assert.Equal(t, "0102030405060708", ev.Contexts.Trace.SpanID)
	require.NotNil(t, ev.Contexts.OS, "trace context is added next to the resource contexts")
	require.NotNil(t, ev.Logentry)
	assert.Equal(t, "checkout failed for ~/orders.csv", ev.Logentry.Formatted)

	// The resource's shared contexts are not modified for the next record.
	res := (&converter{}).resource(ld.ResourceLogs().At(0).Resource())
	assert.Nil(t, res.contexts.Trace)
}

func TestFallback(t *testing.T) {
	for name, stack := range map[string]string{
		"not a traceback": "something went wrong\nsomewhere",
		"java":            "java.lang.IllegalStateException: boom\n\tat com.shop.Main.main(Main.java:5)\n",
		"other exception": "Traceback (most recent call last):\n  File \"/a.py\", line 1, in <module>\nKeyError: 'x'\n",
	} {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rec := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		rec.Attributes().PutStr(attrExcType, "shop.errors.PaymentError")
		rec.Attributes().PutStr(attrExcMessage, "card declined for /Users/bob")
		rec.Attributes().PutStr(attrExcStacktrace, stack)
		ev, unparsed := convertFirst(t, &converter{}, ld)
		assert.True(t, unparsed, name)
		require.Len(t, ev.Exception.Values, 1, name)
		v := ev.Exception.Values[0]
		assert.Equal(t, "PaymentError", v.Type, name)
		assert.Equal(t, "shop.errors", v.Module, name)
		assert.Equal(t, "card declined for ~", v.Value, name)
		assert.Nil(t, v.Stacktrace, name)
		assert.Equal(t, stack, ev.Extra[attrExcStacktrace], name)
	}

	// No stack trace at all is not a parse failure.
	ld := plog.NewLogs()
	rec := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	rec.Attributes().PutStr(attrExcMessage, "only a message")
	ev, unparsed := convertFirst(t, &converter{}, ld)
	assert.False(t, unparsed)
	assert.Equal(t, "Error", ev.Exception.Values[0].Type)
	assert.Equal(t, "only a message", ev.Exception.Values[0].Value)

	// A non-Python SDK's trace is never parsed as Python.
	ld = testLogs(t, "simple_caret")
	ld.ResourceLogs().At(0).Resource().Attributes().PutStr("telemetry.sdk.language", "java")
	ev, unparsed = convertFirst(t, &converter{}, ld)
	assert.True(t, unparsed)
	assert.Equal(t, "other", ev.Platform)
}

func TestLoggingHandlerShortType(t *testing.T) {
	// OTel's logging handler sets exception.type to the bare class name.
	ld := testLogs(t, "chained_cause")
	rec := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	rec.Attributes().PutStr(attrExcType, "PaymentError")
	ev, unparsed := convertFirst(t, &converter{}, ld)
	assert.False(t, unparsed)
	last := ev.Exception.Values[len(ev.Exception.Values)-1]
	assert.Equal(t, "PaymentError", last.Type)
	assert.Equal(t, "shop.errors", last.Module)
}

func TestMainModuleType(t *testing.T) {
	// A class from __main__ prints bare; exception.type has "__main__." in front.
	ld := testLogs(t, "simple_caret")
	rec := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	rec.Attributes().PutStr(attrExcType, "__main__.ZeroDivisionError")
	ev, _ := convertFirst(t, &converter{}, ld)
	assert.Equal(t, "__main__", ev.Exception.Values[0].Module)
}

func TestFrameCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("Traceback (most recent call last):\n")
	for i := 1; i <= 400; i++ {
		b.WriteString("  File \"/srv/app/m.py\", line ")
		b.WriteString(strings.Repeat("1", 1))
		b.WriteString(", in f")
		b.WriteString(strings.Repeat("x", i%2+1)) // alternate names: not folded by Python
		b.WriteString("\n")
	}
	b.WriteString("RecursionError: maximum recursion depth exceeded\n")
	ld := plog.NewLogs()
	rec := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	rec.Attributes().PutStr(attrExcType, "RecursionError")
	rec.Attributes().PutStr(attrExcStacktrace, b.String())
	ev, _ := convertFirst(t, &converter{}, ld)
	v := ev.Exception.Values[0]
	assert.Len(t, v.Stacktrace.Frames, maxFramesHead+maxFramesTail)
	assert.Equal(t, 400-maxFramesHead-maxFramesTail, v.Mechanism.Data["frames_omitted"])
}

func TestScrubHome(t *testing.T) {
	for in, want := range map[string]string{
		"/home/alice/src/app.py":                       "~/src/app.py",
		"/root/.pyenv/versions/3.11.7/lib/x.py":        "~/.pyenv/versions/3.11.7/lib/x.py",
		"/Users/bob/dev/x.py":                          "~/dev/x.py",
		`C:\Users\alice\src\x.py`:                      `~\src\x.py`,
		`open 'C:\\Users\\alice\\x.txt' failed`:        `open '~\\x.txt' failed`,
		"C:/Users/alice/x.py":                          "~/x.py",
		"No such file: '/home/alice'":                  "No such file: '~'",
		"/srv/rootfs/x and /data/home/x":               "/srv/rootfs/x and /data/home/x",
		"cwd=/home/carol, other=/home/dave/x":          "cwd=~, other=~/x",
		"/rooted/x.py":                                 "/rooted/x.py",
		"site-packages under /home/alice/.venv/lib/py": "site-packages under ~/.venv/lib/py",
	} {
		assert.Equal(t, want, scrubHome(in), in)
	}
}

func TestHasException(t *testing.T) {
	ld := testLogs(t, "", "simple_caret")
	recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	assert.False(t, hasException(recs.At(0)))
	assert.True(t, hasException(recs.At(1)))
}
