// Copyright prodtel authors
// SPDX-License-Identifier: Apache-2.0

package sentryeventsexporter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

const maxErrorBody = 512

type sentryExporter struct {
	cfg      *Config
	dsn      *dsn
	conv     *converter
	settings component.TelemetrySettings
	logger   *zap.Logger
	client   *http.Client
	auth     string
	agent    string
	events   metric.Int64Counter
}

var (
	outcomeSent     = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "sent")))
	outcomeRejected = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "rejected")))
	outcomeUnparsed = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "sent_unparsed")))
)

func newExporter(cfg *Config, set exporter.Settings) (*sentryExporter, error) {
	d, err := parseDSN(string(cfg.DSN))
	if err != nil {
		return nil, err
	}
	include, err := compileAll("in_app_include", cfg.InAppInclude)
	if err != nil {
		return nil, err
	}
	exclude, err := compileAll("in_app_exclude", cfg.InAppExclude)
	if err != nil {
		return nil, err
	}
	events, err := set.MeterProvider.Meter("github.com/prodtel/prodtel/collector-config/sentryeventsexporter").
		Int64Counter("otelcol_exporter_sentry_events",
			metric.WithDescription("Sentry events by outcome: sent, sent_unparsed (stack trace not parsed), rejected (4xx, dropped)"),
			metric.WithUnit("{event}"))
	if err != nil {
		return nil, err
	}
	client := "prodtel-sentry-events/" + Version
	return &sentryExporter{
		cfg:      cfg,
		dsn:      d,
		conv:     &converter{environment: cfg.Environment, include: include, exclude: exclude},
		settings: set.TelemetrySettings,
		logger:   set.Logger,
		auth:     d.authHeader(client),
		agent:    client,
		events:   events,
	}, nil
}

func (e *sentryExporter) start(ctx context.Context, host component.Host) error {
	client, err := e.cfg.ClientConfig.ToClient(ctx, host.GetExtensions(), e.settings)
	if err != nil {
		return err
	}
	e.client = client
	return nil
}

func (e *sentryExporter) shutdown(context.Context) error {
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
	return nil
}

// pushLogs sends one envelope per exception record. Records without exception attributes are
// ignored. A rejected event (4xx) is dropped and counted; a retryable failure returns the
// records not yet sent, so a retry does not resend what the server already has (and if it
// does, the deterministic event_id makes the server drop the copy).
func (e *sentryExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	var rejected []error
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		var res *resourceInfo
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			recs := sl.LogRecords()
			for k := 0; k < recs.Len(); k++ {
				rec := recs.At(k)
				if !hasException(rec) {
					continue
				}
				if res == nil {
					res = e.conv.resource(rl.Resource())
				}
				ev, unparsed := e.conv.convert(res, sl.Scope(), rec)
				err := e.send(ctx, ev)
				switch {
				case err == nil:
					if unparsed {
						e.events.Add(ctx, 1, outcomeUnparsed)
					} else {
						e.events.Add(ctx, 1, outcomeSent)
					}
				case consumererror.IsPermanent(err):
					e.events.Add(ctx, 1, outcomeRejected)
					e.logger.Warn("Sentry server rejected event; dropping it",
						zap.String("event_id", ev.EventID), zap.Error(err))
					rejected = append(rejected, err)
				default:
					return withRemaining(err, remainingFrom(ld, i, j, k))
				}
			}
		}
	}
	if len(rejected) > 0 {
		return consumererror.NewPermanent(errors.Join(rejected...))
	}
	return nil
}

// withRemaining attaches the unsent records to a retryable error, keeping a throttle delay.
func withRemaining(err error, remaining plog.Logs) error {
	var t *throttled
	if errors.As(err, &t) {
		return exporterhelper.NewThrottleRetry(consumererror.NewLogs(t.err, remaining), t.delay)
	}
	return consumererror.NewLogs(err, remaining)
}

// remainingFrom copies the records from position (i, j, k) on.
func remainingFrom(ld plog.Logs, i, j, k int) plog.Logs {
	out := plog.NewLogs()
	rls := ld.ResourceLogs()
	for ri := i; ri < rls.Len(); ri++ {
		src := rls.At(ri)
		if ri > i {
			src.CopyTo(out.ResourceLogs().AppendEmpty())
			continue
		}
		dst := out.ResourceLogs().AppendEmpty()
		src.Resource().CopyTo(dst.Resource())
		dst.SetSchemaUrl(src.SchemaUrl())
		sls := src.ScopeLogs()
		for si := j; si < sls.Len(); si++ {
			ssrc := sls.At(si)
			if si > j {
				ssrc.CopyTo(dst.ScopeLogs().AppendEmpty())
				continue
			}
			sdst := dst.ScopeLogs().AppendEmpty()
			ssrc.Scope().CopyTo(sdst.Scope())
			sdst.SetSchemaUrl(ssrc.SchemaUrl())
			recs := ssrc.LogRecords()
			for ki := k; ki < recs.Len(); ki++ {
				recs.At(ki).CopyTo(sdst.LogRecords().AppendEmpty())
			}
		}
	}
	return out
}

// envelope serialises one event as a Sentry envelope: envelope header, item header, payload.
func envelope(ev *event, sentAt time.Time) ([]byte, error) {
	payload, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.Grow(len(payload) + 256)
	hdr, _ := json.Marshal(struct {
		EventID string  `json:"event_id"`
		SentAt  string  `json:"sent_at"`
		SDK     sdkInfo `json:"sdk"`
	}{uuidForm(ev.EventID), sentAt.UTC().Format(time.RFC3339Nano), ev.SDK})
	b.Write(hdr)
	b.WriteString("\n{\"type\":\"event\",\"length\":")
	b.WriteString(strconv.Itoa(len(payload)))
	b.WriteString("}\n")
	b.Write(payload)
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// uuidForm formats 32 hex characters as 8-4-4-4-12.
func uuidForm(h string) string {
	if len(h) != 32 {
		return h
	}
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// throttled carries a server-requested delay until withRemaining wraps it for exporterhelper.
type throttled struct {
	err   error
	delay time.Duration
}

func (t *throttled) Error() string { return t.err.Error() }
func (t *throttled) Unwrap() error { return t.err }

func (e *sentryExporter) send(ctx context.Context, ev *event) error {
	body, err := envelope(ev, time.Now())
	if err != nil {
		return consumererror.NewPermanent(fmt.Errorf("encoding event: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.dsn.envelopeURL, bytes.NewReader(body))
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	req.Header.Set("Content-Type", "application/x-sentry-envelope")
	req.Header.Set("X-Sentry-Auth", e.auth)
	req.Header.Set("User-Agent", e.agent)
	resp, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("sending event %s: %w", ev.EventID, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return classify(resp, ev.EventID, msg)
}

// classify maps an HTTP answer to nil, a retryable error (with a throttle delay for 429/503),
// or a permanent error for every other 4xx.
func classify(resp *http.Response, eventID string, body []byte) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	err := fmt.Errorf("event %s: HTTP %d: %s", eventID, code, strings.TrimSpace(string(body)))
	switch {
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		if d, ok := retryAfter(resp.Header, time.Now()); ok {
			return &throttled{err: err, delay: d}
		}
		return err
	case code >= 400 && code < 500:
		return consumererror.NewPermanent(err)
	default:
		return err
	}
}

// retryAfter reads Retry-After (seconds or HTTP date), else the longest delay in
// X-Sentry-Rate-Limits that applies to error events ("60:error;default:key, ...").
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(s * float64(time.Second)), true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0), true
		}
	}
	var best time.Duration
	found := false
	for _, limit := range strings.Split(h.Get("X-Sentry-Rate-Limits"), ",") {
		parts := strings.Split(strings.TrimSpace(limit), ":")
		if len(parts) < 2 {
			continue
		}
		secs, err := strconv.ParseFloat(parts[0], 64)
		if err != nil {
			continue
		}
		if !appliesToErrors(parts[1]) {
			continue
		}
		if d := time.Duration(secs * float64(time.Second)); !found || d > best {
			best, found = d, true
		}
	}
	return best, found
}

func appliesToErrors(categories string) bool {
	if categories == "" {
		return true
	}
	for _, c := range strings.Split(categories, ";") {
		if c == "error" || c == "default" {
			return true
		}
	}
	return false
}
