// Copyright prodtel authors
// SPDX-License-Identifier: Apache-2.0

package sentryeventsexporter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"
)

func loadConfig(t *testing.T, raw map[string]any) (*Config, error) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
	return cfg, xconfmap.Validate(cfg)
}

func TestConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(NewFactory().CreateDefaultConfig()))
}

func TestConfigDefaults(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	assert.Equal(t, configcompression.TypeGzip, cfg.ClientConfig.Compression)
	assert.Equal(t, 10*time.Second, cfg.ClientConfig.Timeout)
	assert.True(t, cfg.QueueConfig.HasValue(), "sending_queue on by default")
	assert.True(t, cfg.RetryConfig.Enabled)
	assert.EqualError(t, xconfmap.Validate(cfg), "dsn must be set")
}

func TestConfigLoad(t *testing.T) {
	cfg, err := loadConfig(t, map[string]any{
		"dsn":              "https://abc123@o1.ingest.sentry.io/42",
		"environment":      "production",
		"in_app_include":   []any{"site-packages/shop/"},
		"in_app_exclude":   []any{`/vendor/`},
		"timeout":          "3s",
		"retry_on_failure": map[string]any{"max_elapsed_time": "10m"},
		"sending_queue":    map[string]any{"queue_size": 500},
		"headers":          map[string]any{"X-Tenant": "shop"},
	})
	require.NoError(t, err)
	assert.Equal(t, "https://abc123@o1.ingest.sentry.io/42", string(cfg.DSN))
	assert.Equal(t, "production", cfg.Environment)
	assert.Equal(t, []string{"site-packages/shop/"}, cfg.InAppInclude)
	assert.Equal(t, 3*time.Second, cfg.ClientConfig.Timeout)
	assert.Equal(t, 10*time.Minute, cfg.RetryConfig.MaxElapsedTime)
	assert.Equal(t, int64(500), cfg.QueueConfig.Get().QueueSize)
}

func TestConfigInvalid(t *testing.T) {
	for want, raw := range map[string]map[string]any{
		"dsn must be set":                         {},
		"dsn scheme must be http or https":        {"dsn": "ftp://k@host/1"},
		"dsn has no public key":                   {"dsn": "https://host/1"},
		"dsn has no project id":                   {"dsn": "https://k@host/"},
		"dsn has no host":                         {"dsn": "https://"},
		"endpoint must not be set":                {"dsn": "https://k@host/1", "endpoint": "https://host"},
		`compression "zstd" is not supported`:     {"dsn": "https://k@host/1", "compression": "zstd"},
		`in_app_include: invalid pattern "(("`:    {"dsn": "https://k@host/1", "in_app_include": []any{"(("}},
		`in_app_exclude: invalid pattern "[a-"`:   {"dsn": "https://k@host/1", "in_app_exclude": []any{"[a-"}},
		"dsn is not a valid URL":                  {"dsn": "https://k@host:port/1"},
		"retry_on_failure: 'randomization_factor": {"dsn": "https://k@host/1", "retry_on_failure": map[string]any{"randomization_factor": 2}},
	} {
		_, err := loadConfig(t, raw)
		require.Error(t, err, want)
		assert.Contains(t, err.Error(), want)
	}
	// The key never appears in an error message.
	_, err := loadConfig(t, map[string]any{"dsn": "https://secretkey@host:port/1"})
	assert.NotContains(t, err.Error(), "secretkey")
}

func TestParseDSN(t *testing.T) {
	for raw, want := range map[string]dsn{
		"https://abc@o1.ingest.sentry.io/42": {publicKey: "abc", projectID: "42",
			envelopeURL: "https://o1.ingest.sentry.io/api/42/envelope/"},
		"http://abc:legacy@127.0.0.1:8000/3": {publicKey: "abc", secretKey: "legacy", projectID: "3",
			envelopeURL: "http://127.0.0.1:8000/api/3/envelope/"},
		"https://abc@example.com/glitchtip/sub/7/": {publicKey: "abc", projectID: "7",
			envelopeURL: "https://example.com/glitchtip/sub/api/7/envelope/"},
	} {
		got, err := parseDSN(raw)
		require.NoError(t, err, raw)
		assert.Equal(t, want, *got, raw)
	}
	d, _ := parseDSN("http://abc:legacy@host/3")
	assert.Equal(t, "Sentry sentry_version=7, sentry_client=c/1, sentry_key=abc, sentry_secret=legacy", d.authHeader("c/1"))
}
