// Copyright prodtel authors
// SPDX-License-Identifier: Apache-2.0

package sentryeventsexporter

import (
	"testing"
	"time"
)

// BenchmarkConvert measures the per-event cost in the collector: parse the traceback, build
// the event, derive its id and serialise the envelope (no network). Run with
// `go test -bench . -benchmem` in this directory.
func BenchmarkConvert(b *testing.B) {
	for _, name := range []string{"simple_caret", "chained_context", "exception_group"} {
		b.Run(name, func(b *testing.B) {
			ld := testLogs(b, name)
			rl := ld.ResourceLogs().At(0)
			sl := rl.ScopeLogs().At(0)
			rec := sl.LogRecords().At(0)
			conv := &converter{}
			now := time.Now()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				res := conv.resource(rl.Resource())
				ev, _ := conv.convert(res, sl.Scope(), rec)
				if _, err := envelope(ev, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParse is the traceback parser alone.
func BenchmarkParse(b *testing.B) {
	text := loadCorpus(b)["chained_context"].Attributes[attrExcStacktrace]
	b.ReportAllocs()
	for b.Loop() {
		if parseTraceback(text) == nil {
			b.Fatal("no parse")
		}
	}
}
