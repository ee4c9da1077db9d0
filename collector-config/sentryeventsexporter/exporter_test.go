// Copyright prodtel authors
// SPDX-License-Identifier: Apache-2.0

package sentryeventsexporter

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// received is one envelope as the fake server decoded it.
type received struct {
	header     map[string]any
	itemHeader map[string]any
	event      map[string]any
	payloadLen int
	auth       string
	encoding   string
	ctype      string
	path       string
}

// sentryServer is a fake Sentry endpoint answering with the statuses in `answers` (then 200).
type sentryServer struct {
	*httptest.Server
	mu      sync.Mutex
	answers []func(http.ResponseWriter)
	got     []received
	t       *testing.T
}

func newSentryServer(t *testing.T, answers ...func(http.ResponseWriter)) *sentryServer {
	s := &sentryServer{answers: answers, t: t}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

func status(code int, headers ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(`{"detail":"answer ` + strconv.Itoa(code) + `"}`))
	}
}

func (s *sentryServer) handle(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if !assert.NoError(s.t, err) {
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	require.NoError(s.t, err)
	rcv := received{
		auth: r.Header.Get("X-Sentry-Auth"), encoding: r.Header.Get("Content-Encoding"),
		ctype: r.Header.Get("Content-Type"), path: r.URL.Path,
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 4<<20)
	lines := []string{}
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if assert.Len(s.t, lines, 3, "envelope: header, item header, payload") {
		require.NoError(s.t, json.Unmarshal([]byte(lines[0]), &rcv.header))
		require.NoError(s.t, json.Unmarshal([]byte(lines[1]), &rcv.itemHeader))
		require.NoError(s.t, json.Unmarshal([]byte(lines[2]), &rcv.event))
		rcv.payloadLen = len(lines[2])
	}
	s.mu.Lock()
	s.got = append(s.got, rcv)
	var answer func(http.ResponseWriter)
	if len(s.answers) > 0 {
		answer, s.answers = s.answers[0], s.answers[1:]
	}
	s.mu.Unlock()
	if answer != nil {
		answer(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"id":"` + rcv.event["event_id"].(string) + `"}`))
}

func (s *sentryServer) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

func (s *sentryServer) dsn() string {
	return strings.Replace(s.URL, "http://", "http://pubkey@", 1) + "/7"
}

// startExporter builds the bare exporter (no exporterhelper) for push-level tests.
func startExporter(t *testing.T, srv *sentryServer, tt *componenttest.Telemetry) *sentryExporter {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.DSN = configopaque.String(srv.dsn())
	set := exportertest.NewNopSettings(componentType)
	if tt != nil {
		set.TelemetrySettings = tt.NewTelemetrySettings()
	}
	exp, err := newExporter(cfg, set)
	require.NoError(t, err)
	require.NoError(t, exp.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { _ = exp.shutdown(context.Background()) })
	return exp
}

func TestSendEnvelope(t *testing.T) {
	srv := newSentryServer(t)
	exp := startExporter(t, srv, nil)
	require.NoError(t, exp.pushLogs(context.Background(), testLogs(t, "", "chained_cause", "", "notes")))

	got := srv.received()
	require.Len(t, got, 2, "one envelope per exception record; other records are ignored")
	for _, r := range got {
		assert.Equal(t, "/api/7/envelope/", r.path)
		assert.Equal(t, "gzip", r.encoding)
		assert.Equal(t, "application/x-sentry-envelope", r.ctype)
		assert.Equal(t, "Sentry sentry_version=7, sentry_client=prodtel-sentry-events/"+Version+", sentry_key=pubkey", r.auth)
		id := r.event["event_id"].(string)
		assert.Equal(t, uuidForm(id), r.header["event_id"], "envelope header carries the id as a UUID")
		assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, r.header["event_id"])
		assert.Equal(t, "event", r.itemHeader["type"])
		assert.EqualValues(t, r.payloadLen, r.itemHeader["length"])
		assert.NotContains(t, r.event, "server_name")
		assert.NotContains(t, r.header, "dsn", "the key travels in X-Sentry-Auth only")
	}
	vals := got[0].event["exception"].(map[string]any)["values"].([]any)
	assert.Equal(t, "PaymentError", vals[len(vals)-1].(map[string]any)["type"])
}

func TestStatusHandling(t *testing.T) {
	cases := []struct {
		name      string
		answer    func(http.ResponseWriter)
		permanent bool
		throttle  string // substring of the error when a delay must be honoured
	}{
		{"429 retry-after", status(429, "Retry-After", "7"), false, "Throttle (7s)"},
		{"503 retry-after", status(503, "Retry-After", "2"), false, "Throttle (2s)"},
		{"429 sentry rate limits", status(429, "X-Sentry-Rate-Limits", "60::key, 86400:transaction;span:organization"), false, "Throttle (1m0s)"},
		{"429 bare", status(429), false, ""},
		{"500", status(500), false, ""},
		{"502", status(502), false, ""},
		{"400", status(400), true, ""},
		{"401", status(401), true, ""},
		{"403", status(403), true, ""},
		{"413", status(413), true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newSentryServer(t, c.answer)
			tt := componenttest.NewTelemetry()
			t.Cleanup(func() { _ = tt.Shutdown(context.Background()) })
			exp := startExporter(t, srv, tt)
			err := exp.pushLogs(context.Background(), testLogs(t, "simple_caret"))
			require.Error(t, err)
			assert.Equal(t, c.permanent, consumererror.IsPermanent(err), err.Error())
			if c.throttle != "" {
				assert.Contains(t, err.Error(), c.throttle)
			} else {
				assert.NotContains(t, err.Error(), "Throttle")
			}
			if !c.permanent {
				var logsErr consumererror.Logs
				require.ErrorAs(t, err, &logsErr)
				assert.Equal(t, 1, logsErr.Data().LogRecordCount(), "the unsent record is retried")
			} else {
				assert.Equal(t, int64(1), counter(t, tt, "rejected"))
			}
		})
	}
}

func TestNetworkErrorIsRetryable(t *testing.T) {
	srv := newSentryServer(t)
	exp := startExporter(t, srv, nil)
	srv.Close()
	err := exp.pushLogs(context.Background(), testLogs(t, "simple_caret"))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
}

// TestPartialBatch: a retryable failure mid-batch hands back only the records not yet sent; a
// rejected record is dropped and the rest of the batch still goes out.
func TestPartialBatch(t *testing.T) {
	srv := newSentryServer(t, status(200), status(500))
	exp := startExporter(t, srv, nil)
	err := exp.pushLogs(context.Background(), testLogs(t, "simple_caret", "notes", "", "recursion"))
	var logsErr consumererror.Logs
	require.ErrorAs(t, err, &logsErr)
	rest := logsErr.Data()
	require.Equal(t, 3, rest.LogRecordCount(), "the failed record and everything after it")
	first := rest.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	typ, _ := first.Attributes().Get(attrExcType)
	assert.Equal(t, "KeyError", typ.Str())
	svc, _ := rest.ResourceLogs().At(0).Resource().Attributes().Get("service.name")
	assert.Equal(t, "shop", svc.Str(), "resource travels with the remaining records")

	srv = newSentryServer(t, status(400))
	tt := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tt.Shutdown(context.Background()) })
	exp = startExporter(t, srv, tt)
	err = exp.pushLogs(context.Background(), testLogs(t, "simple_caret", "notes", "recursion"))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.Len(t, srv.received(), 3, "records after a rejected one are still sent")
	assert.Equal(t, int64(1), counter(t, tt, "rejected"))
	assert.Equal(t, int64(2), counter(t, tt, "sent"))
}

// TestRetryThroughExporterHelper runs the factory-built exporter: a 503 with Retry-After is
// retried by exporterhelper and the same event (same event_id) arrives again.
func TestRetryThroughExporterHelper(t *testing.T) {
	srv := newSentryServer(t, status(503, "Retry-After", "0"))
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.DSN = configopaque.String(srv.dsn())
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.InitialInterval = 10 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 20 * time.Millisecond
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(componentType), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, exp.Shutdown(context.Background())) }()

	require.NoError(t, exp.ConsumeLogs(context.Background(), testLogs(t, "chained_cause")))
	got := srv.received()
	require.Len(t, got, 2)
	assert.Equal(t, got[0].event["event_id"], got[1].event["event_id"])
}

func TestLifecycle(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	cfg.DSN = "https://k@127.0.0.1:1/1"
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(componentType), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, exp.Shutdown(context.Background()))

	cfg.DSN = "not a dsn"
	_, err = NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(componentType), cfg)
	require.Error(t, err)
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		h    http.Header
		want time.Duration
		ok   bool
	}{
		{http.Header{"Retry-After": {"30"}}, 30 * time.Second, true},
		{http.Header{"Retry-After": {"Fri, 01 May 2026 12:00:10 GMT"}}, 10 * time.Second, true},
		{http.Header{"X-Sentry-Rate-Limits": {"60:error;default:key"}}, time.Minute, true},
		{http.Header{"X-Sentry-Rate-Limits": {"120:transaction:key, 30::organization"}}, 30 * time.Second, true},
		{http.Header{"X-Sentry-Rate-Limits": {"120:transaction:key"}}, 0, false},
		{http.Header{}, 0, false},
	} {
		got, ok := retryAfter(c.h, now)
		assert.Equal(t, c.ok, ok, c.h)
		assert.Equal(t, c.want, got, c.h)
	}
}

func TestClassify2xx(t *testing.T) {
	for _, code := range []int{200, 202} {
		assert.NoError(t, classify(&http.Response{StatusCode: code, Header: http.Header{}}, "x", nil))
	}
	err := classify(&http.Response{StatusCode: 404, Header: http.Header{}}, "abc", []byte("no such project"))
	assert.True(t, consumererror.IsPermanent(err))
	assert.Contains(t, err.Error(), "no such project")
	assert.False(t, errors.Is(err, context.Canceled))
}

func counter(t *testing.T, tt *componenttest.Telemetry, outcome string) int64 {
	m, err := tt.GetMetric("otelcol_exporter_sentry_events")
	require.NoError(t, err)
	sum := m.Data.(metricdata.Sum[int64])
	for _, dp := range sum.DataPoints {
		if v, ok := dp.Attributes.Value("outcome"); ok && v.AsString() == outcome {
			return dp.Value
		}
	}
	return 0
}
