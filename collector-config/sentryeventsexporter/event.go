// Copyright prodtel authors
// SPDX-License-Identifier: Apache-2.0

package sentryeventsexporter

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// The Sentry event subset we send. Field names follow the Sentry event payload.
type event struct {
	EventID     string            `json:"event_id"`
	Timestamp   string            `json:"timestamp"`
	Platform    string            `json:"platform"`
	Level       string            `json:"level"`
	Logger      string            `json:"logger,omitempty"`
	Release     string            `json:"release,omitempty"`
	Environment string            `json:"environment,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Contexts    *contexts         `json:"contexts,omitempty"`
	User        *user             `json:"user,omitempty"`
	Logentry    *logentry         `json:"logentry,omitempty"`
	Exception   exceptionList     `json:"exception"`
	Extra       map[string]any    `json:"extra,omitempty"`
	SDK         sdkInfo           `json:"sdk"`
}

type exceptionList struct {
	Values []exceptionValue `json:"values"`
}

type exceptionValue struct {
	Type       string      `json:"type"`
	Module     string      `json:"module,omitempty"`
	Value      string      `json:"value,omitempty"`
	Mechanism  mechanism   `json:"mechanism"`
	Stacktrace *stacktrace `json:"stacktrace,omitempty"`
}

type mechanism struct {
	Type             string         `json:"type"`
	Handled          bool           `json:"handled"`
	Source           string         `json:"source,omitempty"`
	ExceptionID      int            `json:"exception_id"`
	ParentID         *int           `json:"parent_id,omitempty"`
	IsExceptionGroup bool           `json:"is_exception_group,omitempty"`
	Data             map[string]any `json:"data,omitempty"`
}

type stacktrace struct {
	Frames []frame `json:"frames"`
}

type frame struct {
	Filename    string `json:"filename"`
	AbsPath     string `json:"abs_path"`
	Function    string `json:"function,omitempty"`
	Module      string `json:"module,omitempty"`
	Lineno      int    `json:"lineno,omitempty"`
	ContextLine string `json:"context_line,omitempty"`
	InApp       bool   `json:"in_app"`
}

type contexts struct {
	OS      *osContext      `json:"os,omitempty"`
	Runtime *runtimeContext `json:"runtime,omitempty"`
	Device  *deviceContext  `json:"device,omitempty"`
	Trace   *traceContext   `json:"trace,omitempty"`
}

type osContext struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

type runtimeContext struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

type deviceContext struct {
	Arch string `json:"arch"`
}

type traceContext struct {
	TraceID string `json:"trace_id"`
	SpanID  string `json:"span_id"`
}

type user struct {
	ID string `json:"id"`
}

type logentry struct {
	Formatted string `json:"formatted"`
}

type sdkInfo struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

const (
	sdkName = "prodtel.otelcol.sentry_events"
	// Frames kept per exception: Python rarely prints more, but mutual recursion is not
	// folded. The oldest frames (entry point) and the newest (the raise) are kept.
	maxFramesHead = 25
	maxFramesTail = 225
)

// Attribute keys (OTel semantic conventions and prodtel's wire conventions).
const (
	attrExcType       = "exception.type"
	attrExcMessage    = "exception.message"
	attrExcStacktrace = "exception.stacktrace"
	attrExcHandled    = "exception.handled"
	attrRecordUID     = "log.record.uid"
)

// converter builds Sentry events from log records.
type converter struct {
	environment string
	include     []*regexp.Regexp
	exclude     []*regexp.Regexp
}

// resourceInfo is what an event takes from the resource, read once per ResourceLogs.
type resourceInfo struct {
	service, release, environment, installation string
	platform                                    string
	appPackage                                  string
	contexts                                    *contexts
	hash                                        [32]byte // canonical hash of all attributes
}

func (c *converter) resource(res pcommon.Resource) *resourceInfo {
	a := res.Attributes()
	info := &resourceInfo{
		service:      str(a, "service.name"),
		release:      str(a, "service.version"),
		environment:  firstNonEmpty(str(a, "deployment.environment.name"), str(a, "deployment.environment")),
		installation: str(a, "app.installation.id"),
		platform:     "python",
		hash:         hashMap(a),
	}
	if c.environment != "" {
		info.environment = c.environment
	}
	if lang := str(a, "telemetry.sdk.language"); lang != "" && lang != "python" {
		info.platform = "other"
	}
	info.appPackage = appPackageName(info.service)
	ctx := &contexts{}
	if t, v := str(a, "os.type"), str(a, "os.version"); t != "" || v != "" {
		ctx.OS = &osContext{Name: osName(t), Version: v}
	}
	if n, v := str(a, "process.runtime.name"), str(a, "process.runtime.version"); n != "" || v != "" {
		ctx.Runtime = &runtimeContext{Name: runtimeName(n), Version: v}
	}
	if arch := str(a, "host.arch"); arch != "" {
		ctx.Device = &deviceContext{Arch: arch}
	}
	if ctx.OS != nil || ctx.Runtime != nil || ctx.Device != nil {
		info.contexts = ctx
	}
	return info
}

// hasException reports whether a record carries the exception attributes.
func hasException(rec plog.LogRecord) bool {
	a := rec.Attributes()
	_, t := a.Get(attrExcType)
	_, m := a.Get(attrExcMessage)
	return t || m
}

// convert builds the event for one exception record. unparsed is true when the stack trace
// could not be parsed and the event carries the fallback exception.
func (c *converter) convert(res *resourceInfo, scope pcommon.InstrumentationScope, rec plog.LogRecord) (ev *event, unparsed bool) {
	a := rec.Attributes()
	excType, excMsg, stack := str(a, attrExcType), str(a, attrExcMessage), str(a, attrExcStacktrace)
	handled := isHandled(rec)
	ev = &event{
		EventID:     eventID(res, scope, rec),
		Timestamp:   timestamp(rec),
		Platform:    res.platform,
		Level:       level(rec.SeverityNumber()),
		Logger:      scope.Name(),
		Release:     res.release,
		Environment: res.environment,
		Contexts:    res.contexts,
		SDK:         sdkInfo{Name: sdkName, Version: Version},
	}
	tags := map[string]string{}
	if n := rec.EventName(); n != "" {
		tags["event_name"] = n
	}
	if res.service != "" {
		tags["service.name"] = res.service
	}
	if len(tags) > 0 {
		ev.Tags = tags
	}
	if res.installation != "" {
		ev.User = &user{ID: res.installation}
	}
	if tid, sid := rec.TraceID(), rec.SpanID(); !tid.IsEmpty() && !sid.IsEmpty() {
		ctx := contexts{}
		if res.contexts != nil {
			ctx = *res.contexts
		}
		ctx.Trace = &traceContext{TraceID: tid.String(), SpanID: sid.String()}
		ev.Contexts = &ctx
	}
	if body := rec.Body(); body.Type() == pcommon.ValueTypeStr && body.Str() != "" && body.Str() != excMsg {
		ev.Logentry = &logentry{Formatted: scrubHome(body.Str())}
	}

	var top *pyException
	if res.platform == "python" && stack != "" {
		if top = parseFaulthandler(stack); top != nil {
			top.Type, top.Value = excType, excMsg // a native crash: the signal, from the SDK
		} else {
			top = parseTraceback(stack)
		}
		if top != nil && top.Complete && !sameType(top.Type, excType) {
			top = nil // the text is not this exception's traceback (or not Python's)
		}
	}
	switch {
	case top != nil && top.Complete:
		c.reconcileTop(top, excType)
	case top != nil && top.Prev == nil && len(top.Members) == 0:
		// Cut short inside the only block: those frames are the raised exception's.
		top.Type, top.Value, top.Complete = excType, excMsg, true
		ev.Extra = map[string]any{"traceback_truncated": true}
	case top != nil:
		// Cut short after complete blocks: keep them, the raised exception has no frames.
		top.Type, top.Value, top.Frames, top.Repeated, top.Complete = excType, excMsg, nil, 0, true
		ev.Extra = map[string]any{"traceback_truncated": true}
	default:
		top = &pyException{Type: excType, Value: excMsg, Complete: true}
		unparsed = stack != ""
		if unparsed {
			ev.Extra = map[string]any{attrExcStacktrace: scrubHome(stack)}
		}
	}
	if top.Type == "" {
		top.Type = "Error"
	}
	ev.Exception.Values = c.values(res, top, handled)
	return ev, unparsed
}

// sameType tells whether the printed type and exception.type name the same class; one may
// be qualified ("pkg.Err") and the other not (logging's exc_info gives only the name).
func sameType(printed, attr string) bool {
	return attr == "" || printed == attr || strings.HasSuffix(printed, "."+attr) ||
		strings.HasSuffix(attr, "."+printed)
}

// reconcileTop fills the raised exception's module from exception.type when the traceback
// printed the bare name (classes defined in __main__).
func (c *converter) reconcileTop(top *pyException, excType string) {
	if !strings.Contains(top.Type, ".") && strings.HasSuffix(excType, "."+top.Type) {
		top.Type = excType
	}
}

// values flattens the tree the way sentry-python does: depth first from the raised exception
// (itself, then its cause or context, then group members), reversed so the raised one is last.
func (c *converter) values(res *resourceInfo, top *pyException, handled bool) []exceptionValue {
	var out []exceptionValue
	var walk func(e *pyException, source string, parent int)
	walk = func(e *pyException, source string, parent int) {
		id := len(out)
		module, typ := splitType(e.Type)
		v := exceptionValue{
			Type:   typ,
			Module: module,
			Value:  scrubHome(e.Value),
			Mechanism: mechanism{
				Type:             firstNonEmpty(e.Mechanism, "opentelemetry"),
				Handled:          handled,
				Source:           source,
				ExceptionID:      id,
				IsExceptionGroup: e.Group,
			},
		}
		if parent >= 0 {
			p := parent
			v.Mechanism.ParentID = &p
			v.Mechanism.Type = "chained"
		}
		if e.Repeated > 0 {
			v.Mechanism.Data = map[string]any{"frames_repeated": e.Repeated}
		}
		if len(e.Frames) > 0 {
			v.Stacktrace = &stacktrace{Frames: c.frames(res, e.Frames, &v.Mechanism)}
		}
		out = append(out, v)
		if e.Prev != nil {
			walk(e.Prev, e.PrevSource, id)
		}
		for i, m := range e.Members {
			walk(m, "exceptions["+strconv.Itoa(i)+"]", id)
		}
	}
	walk(top, "", -1)
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func (c *converter) frames(res *resourceInfo, in []pyFrame, mech *mechanism) []frame {
	if len(in) > maxFramesHead+maxFramesTail {
		omitted := len(in) - maxFramesHead - maxFramesTail
		in = append(append(make([]pyFrame, 0, maxFramesHead+maxFramesTail), in[:maxFramesHead]...), in[len(in)-maxFramesTail:]...)
		if mech.Data == nil {
			mech.Data = map[string]any{}
		}
		mech.Data["frames_omitted"] = omitted
	}
	out := make([]frame, len(in))
	for i, f := range in {
		path := scrubHome(f.Path)
		info := classifyPath(path, res.appPackage)
		out[i] = frame{
			Filename:    info.Filename,
			AbsPath:     path,
			Function:    f.Function,
			Module:      info.Module,
			Lineno:      f.Line,
			ContextLine: scrubHome(f.Source),
			InApp:       c.inApp(path, info),
		}
	}
	return out
}

func (c *converter) inApp(path string, info pathInfo) bool {
	for _, re := range c.exclude {
		if re.MatchString(path) {
			return false
		}
	}
	for _, re := range c.include {
		if re.MatchString(path) {
			return true
		}
	}
	return !info.Library
}

// splitType splits "pkg.mod.Err" at the last dot into module and type.
func splitType(t string) (module, typ string) {
	if i := strings.LastIndexByte(t, '.'); i > 0 && i < len(t)-1 {
		return t[:i], t[i+1:]
	}
	return "", t
}

// isHandled: the exception.handled attribute when present, else FATAL severity means an
// unhandled crash and anything lower a handled error.
func isHandled(rec plog.LogRecord) bool {
	if v, ok := rec.Attributes().Get(attrExcHandled); ok {
		switch v.Type() {
		case pcommon.ValueTypeBool:
			return v.Bool()
		case pcommon.ValueTypeStr:
			if b, err := strconv.ParseBool(v.Str()); err == nil {
				return b
			}
		}
	}
	return rec.SeverityNumber() < plog.SeverityNumberFatal
}

func level(s plog.SeverityNumber) string {
	switch {
	case s == plog.SeverityNumberUnspecified:
		return "error"
	case s < plog.SeverityNumberInfo:
		return "debug"
	case s < plog.SeverityNumberWarn:
		return "info"
	case s < plog.SeverityNumberError:
		return "warning"
	case s < plog.SeverityNumberFatal:
		return "error"
	default:
		return "fatal"
	}
}

func timestamp(rec plog.LogRecord) string {
	ts := rec.Timestamp()
	if ts == 0 {
		ts = rec.ObservedTimestamp()
	}
	t := ts.AsTime()
	if ts == 0 {
		t = time.Now()
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

func osName(t string) string {
	switch strings.ToLower(t) {
	case "linux":
		return "Linux"
	case "darwin":
		return "macOS"
	case "windows":
		return "Windows"
	case "freebsd":
		return "FreeBSD"
	}
	return t
}

func runtimeName(n string) string {
	switch strings.ToLower(n) {
	case "cpython":
		return "CPython"
	case "pypy":
		return "PyPy"
	}
	return n
}

func str(a pcommon.Map, key string) string {
	if v, ok := a.Get(key); ok {
		return v.AsString()
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
