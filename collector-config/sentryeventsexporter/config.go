// Copyright prodtel authors
// SPDX-License-Identifier: Apache-2.0

package sentryeventsexporter

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configcompression"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Config is the sentry_events exporter configuration.
type Config struct {
	// HTTP client settings (timeout, TLS, proxy, headers, compression). The endpoint comes
	// from the DSN, so `endpoint` must stay empty.
	ClientConfig confighttp.ClientConfig                                  `mapstructure:",squash"`
	QueueConfig  configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	RetryConfig  configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`

	// DSN of the Sentry, GlitchTip or Bugsink project, e.g. https://<key>@host/<project>.
	DSN configopaque.String `mapstructure:"dsn"`
	// Environment overrides the event environment (default: the resource's
	// deployment.environment.name, else none).
	Environment string `mapstructure:"environment"`
	// InAppInclude and InAppExclude are regular expressions (RE2) matched against a frame's
	// path as sent (home directories already replaced by "~"). Exclude wins over include;
	// both win over the defaults (third-party and stdlib code is not in-app).
	InAppInclude []string `mapstructure:"in_app_include"`
	InAppExclude []string `mapstructure:"in_app_exclude"`

	// prevent unkeyed literal initialization
	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration when the collector loads it.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.DSN == "" {
		errs = append(errs, errors.New("dsn must be set"))
	} else if _, err := parseDSN(string(cfg.DSN)); err != nil {
		errs = append(errs, err)
	}
	if cfg.ClientConfig.Endpoint != "" {
		errs = append(errs, errors.New("endpoint must not be set: the dsn defines where events go"))
	}
	switch cfg.ClientConfig.Compression {
	case "", configcompression.TypeGzip, "none":
	default:
		errs = append(errs, fmt.Errorf("compression %q is not supported: use gzip or none (Sentry-compatible servers do not all accept others)", cfg.ClientConfig.Compression))
	}
	if _, err := compileAll("in_app_include", cfg.InAppInclude); err != nil {
		errs = append(errs, err)
	}
	if _, err := compileAll("in_app_exclude", cfg.InAppExclude); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func compileAll(field string, patterns []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(patterns))
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("%s: invalid pattern %q: %w", field, p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// dsn is a parsed Sentry DSN: {scheme}://{public_key}[:{secret}]@{host}[/{path}]/{project_id}.
type dsn struct {
	publicKey   string
	secretKey   string
	projectID   string
	envelopeURL string
}

func parseDSN(raw string) (*dsn, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("dsn is not a valid URL") // no %w: the error would echo the key
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("dsn scheme must be http or https, not %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("dsn has no host")
	}
	if u.User == nil || u.User.Username() == "" {
		return nil, errors.New("dsn has no public key (https://<key>@host/<project>)")
	}
	path := strings.TrimSuffix(u.Path, "/")
	idx := strings.LastIndex(path, "/")
	project := path[idx+1:]
	if idx < 0 || project == "" {
		return nil, errors.New("dsn has no project id (https://<key>@host/<project>)")
	}
	secret, _ := u.User.Password()
	return &dsn{
		publicKey:   u.User.Username(),
		secretKey:   secret,
		projectID:   project,
		envelopeURL: fmt.Sprintf("%s://%s%s/api/%s/envelope/", u.Scheme, u.Host, path[:idx], project),
	}, nil
}

// authHeader is the X-Sentry-Auth value for this DSN.
func (d *dsn) authHeader(client string) string {
	h := "Sentry sentry_version=7, sentry_client=" + client + ", sentry_key=" + d.publicKey
	if d.secretKey != "" {
		h += ", sentry_secret=" + d.secretKey
	}
	return h
}
