// Copyright prodtel authors
// SPDX-License-Identifier: Apache-2.0

package sentryeventsexporter

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// corpusCase is one file written by testdata/gen_tracebacks.py from a real Python run.
type corpusCase struct {
	Name        string            `json:"name"`
	Attributes  map[string]string `json:"attributes"`
	TruncatedAt int               `json:"truncated_at"`
	Expected    []struct {
		Type             string  `json:"type"`
		Module           *string `json:"module"`
		Value            string  `json:"value"`
		Source           *string `json:"source"`
		ExceptionID      int     `json:"exception_id"`
		ParentID         *int    `json:"parent_id"`
		IsExceptionGroup bool    `json:"is_exception_group"`
		Repeated         int     `json:"repeated"`
		Frames           []struct {
			AbsPath     string  `json:"abs_path"`
			Lineno      int     `json:"lineno"`
			Function    *string `json:"function"`
			ContextLine *string `json:"context_line"`
		} `json:"frames"`
	} `json:"expected"`
}

func loadCorpus(t testing.TB) map[string]corpusCase {
	files, err := filepath.Glob("testdata/tracebacks/*.json")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 20, "run testdata/gen_tracebacks.py")
	out := map[string]corpusCase{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		var c corpusCase
		require.NoError(t, json.Unmarshal(raw, &c), f)
		out[c.Name] = c
	}
	return out
}

// corpusRecord builds the log record OTel Python would emit for a case.
func corpusRecord(c corpusCase, service string) (*resourceInfo, plog.LogRecord) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", service)
	rec := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	rec.SetSeverityNumber(plog.SeverityNumberFatal)
	rec.SetEventName("exception")
	for k, v := range c.Attributes {
		rec.Attributes().PutStr(k, v)
	}
	conv := &converter{}
	return conv.resource(rl.Resource()), rec
}

func convertCase(t *testing.T, c corpusCase, service string) *event {
	res, rec := corpusRecord(c, service)
	ev, unparsed := (&converter{}).convert(res, pcommon.NewInstrumentationScope(), rec)
	require.False(t, unparsed, "fell back to the unparsed event")
	return ev
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// TestCorpus checks every real-Python traceback against the values computed from the live
// exception objects: order, types, modules, messages with notes, chain sources, group
// structure, frames with line numbers and source lines.
func TestCorpus(t *testing.T) {
	for name, c := range loadCorpus(t) {
		if c.TruncatedAt > 0 {
			continue // TestTruncated
		}
		t.Run(name, func(t *testing.T) {
			ev := convertCase(t, c, "shop")
			got := ev.Exception.Values
			require.Len(t, got, len(c.Expected))
			n := len(got)
			for i, want := range c.Expected {
				g := got[i]
				assert.Equal(t, want.Type, g.Type, "value %d type", i)
				assert.Equal(t, deref(want.Module), g.Module, "value %d module", i)
				assert.Equal(t, scrubHome(want.Value), g.Value, "value %d value", i)
				assert.Equal(t, deref(want.Source), g.Mechanism.Source, "value %d source", i)
				assert.Equal(t, want.ExceptionID, g.Mechanism.ExceptionID, "value %d id", i)
				assert.Equal(t, want.ParentID, g.Mechanism.ParentID, "value %d parent", i)
				assert.Equal(t, want.IsExceptionGroup, g.Mechanism.IsExceptionGroup, "value %d group", i)
				assert.False(t, g.Mechanism.Handled, "FATAL means unhandled")
				if want.Repeated > 0 {
					assert.Equal(t, want.Repeated, g.Mechanism.Data["frames_repeated"])
				}
				if len(want.Frames) == 0 {
					assert.Nil(t, g.Stacktrace, "value %d", i)
					continue
				}
				require.NotNil(t, g.Stacktrace, "value %d", i)
				require.Len(t, g.Stacktrace.Frames, len(want.Frames), "value %d frames", i)
				for j, wf := range want.Frames {
					gf := g.Stacktrace.Frames[j]
					assert.Equal(t, scrubHome(wf.AbsPath), gf.AbsPath, "value %d frame %d", i, j)
					assert.Equal(t, wf.Lineno, gf.Lineno, "value %d frame %d", i, j)
					assert.Equal(t, deref(wf.Function), gf.Function, "value %d frame %d", i, j)
					assert.Equal(t, deref(wf.ContextLine), gf.ContextLine, "value %d frame %d", i, j)
				}
			}
			// The raised exception is last and matches the record's exception.type.
			assert.True(t, strings.HasSuffix(c.Attributes[attrExcType], got[n-1].Type))
		})
	}
}

// TestTruncated: a stack trace cut by an attribute length limit keeps its complete blocks and
// still names the raised exception from exception.type/exception.message.
func TestTruncated(t *testing.T) {
	corpus := loadCorpus(t)

	single := convertCase(t, corpus["truncated_single"], "shop")
	require.Len(t, single.Exception.Values, 1)
	v := single.Exception.Values[0]
	assert.Equal(t, "RecursionError", v.Type)
	assert.Equal(t, "maximum recursion depth exceeded", v.Value)
	require.NotNil(t, v.Stacktrace, "frames of the only block are the raised exception's")
	full := corpus["recursion"].Expected[0].Frames
	for i, f := range v.Stacktrace.Frames {
		assert.Equal(t, full[i].Lineno, f.Lineno)
	}
	assert.Equal(t, true, single.Extra["traceback_truncated"])

	chain := convertCase(t, corpus["truncated_chain"], "shop")
	want := corpus["chained_context"].Expected
	got := chain.Exception.Values
	require.Len(t, got, 3)
	for i := range 2 {
		assert.Equal(t, want[i].Type, got[i].Type)
		assert.Equal(t, want[i].Value, got[i].Value)
		assert.Len(t, got[i].Stacktrace.Frames, len(want[i].Frames))
	}
	assert.Equal(t, "ConnectionError", got[2].Type)
	assert.Equal(t, "cannot reach http://payments.invalid/retry", got[2].Value)
	assert.Nil(t, got[2].Stacktrace, "frames of a cut block are not guessed")
	assert.Equal(t, sourceContext, got[1].Mechanism.Source)
	assert.Equal(t, true, chain.Extra["traceback_truncated"])
}

func TestInApp(t *testing.T) {
	corpus := loadCorpus(t)
	inApp := func(ev *event) map[string]bool {
		out := map[string]bool{}
		for _, v := range ev.Exception.Values {
			if v.Stacktrace == nil {
				continue
			}
			for _, f := range v.Stacktrace.Frames {
				out[f.AbsPath] = f.InApp
			}
		}
		return out
	}

	// A pipx-installed app lives in site-packages; its own package is still in-app.
	got := inApp(convertCase(t, corpus["site_packages_app"], "shop"))
	assert.True(t, got["~/.local/share/pipx/venvs/shop/lib/python3.11/site-packages/shop/cli.py"])
	assert.True(t, got["/srv/shop/app/checkout.py"])
	got = inApp(convertCase(t, corpus["site_packages_app"], "other-app"))
	assert.False(t, got["~/.local/share/pipx/venvs/shop/lib/python3.11/site-packages/shop/cli.py"])

	got = inApp(convertCase(t, corpus["chained_context"], "shop"))
	assert.False(t, got["/usr/lib/python3/dist-packages/requests/api.py"])
	assert.True(t, got["/srv/shop/app/pricing.py"])

	for path, app := range inApp(convertCase(t, corpus["frozen_import"], "shop")) {
		if strings.HasPrefix(path, "<frozen") || strings.Contains(path, "/lib/python3.11/") {
			assert.False(t, app, path)
		}
	}
	got = inApp(convertCase(t, corpus["windows_paths"], "shop"))
	assert.True(t, got[`~\src\shop\main.py`])
	assert.False(t, got[`~\AppData\Local\Programs\Python\Python311\Lib\site-packages\winshop\lib.py`])

	// Operator patterns: exclude beats include beats the defaults.
	res, rec := corpusRecord(corpus["chained_context"], "shop")
	conv := &converter{}
	conv.include, _ = compileAll("", []string{`dist-packages/requests/`})
	conv.exclude, _ = compileAll("", []string{`/pricing\.py$`})
	ev, _ := conv.convert(res, pcommon.NewInstrumentationScope(), rec)
	got = inApp(ev)
	assert.True(t, got["/usr/lib/python3/dist-packages/requests/api.py"])
	assert.False(t, got["/srv/shop/app/pricing.py"])
	assert.True(t, got["/srv/shop/app/checkout.py"])
}

func TestFrameFilenameAndModule(t *testing.T) {
	ev := convertCase(t, loadCorpus(t)["chained_context"], "shop")
	var f frame
	for _, v := range ev.Exception.Values {
		if v.Stacktrace != nil {
			for _, fr := range v.Stacktrace.Frames {
				if strings.HasSuffix(fr.AbsPath, "requests/api.py") && fr.Function == "request" {
					f = fr
				}
			}
		}
	}
	assert.Equal(t, "requests/api.py", f.Filename)
	assert.Equal(t, "requests.api", f.Module)
	assert.Equal(t, 2, f.Lineno)
	assert.Equal(t, "return send(method, url)", f.ContextLine)
}

// TestNoHomePaths: user names in home directories never reach the event, in paths, source
// lines or messages, on Linux (/home, /root), macOS (/Users) and Windows (C:\Users).
func TestNoHomePaths(t *testing.T) {
	for name, c := range loadCorpus(t) {
		ev := convertCase(t, c, "shop")
		raw, err := json.Marshal(ev)
		require.NoError(t, err)
		for _, leak := range []string{"alice", "bob", "/root/", `"/root`} {
			assert.NotContains(t, string(raw), leak, name)
		}
	}
}

func TestParseGarbage(t *testing.T) {
	for _, text := range []string{
		"",
		"just some text\nwithout a traceback",
		"Exception in thread \"main\" java.lang.IllegalStateException: boom\n\tat com.x.Main.main(Main.java:5)\n",
	} {
		top := parseTraceback(text)
		if top != nil {
			assert.Empty(t, top.Frames, "%q", text)
		}
	}
	// A frame line alone (cut right after the header) is an incomplete exception.
	top := parseTraceback("Traceback (most recent call last):\n  File \"/a.py\", line 3, in f\n")
	require.NotNil(t, top)
	assert.False(t, top.Complete)
	assert.Len(t, top.Frames, 1)
}
