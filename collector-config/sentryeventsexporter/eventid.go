// Copyright prodtel authors
// SPDX-License-Identifier: Apache-2.0

package sentryeventsexporter

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math"
	"slices"
	"strings"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// eventID derives the Sentry event_id from the record, so a record delivered twice (collector
// retry, SDK retry, at-least-once outbox) becomes the same event and the server drops the copy.
// A record's log.record.uid (prodtel sets one) is the id when it is a UUID; otherwise the id
// is a hash over everything that identifies the record. Either way it is 32 lowercase hex
// characters with the RFC 9562 version/variant bits of a UUID, as Bugsink requires.
func eventID(res *resourceInfo, scope pcommon.InstrumentationScope, rec plog.LogRecord) string {
	if uid := normalizeUUID(str(rec.Attributes(), attrRecordUID)); uid != "" {
		return uid
	}
	h := sha256.New()
	h.Write(res.hash[:])
	writeStr(h, scope.Name())
	writeStr(h, scope.Version())
	var buf [8]byte
	for _, n := range []uint64{uint64(rec.Timestamp()), uint64(rec.ObservedTimestamp()), uint64(rec.SeverityNumber()), uint64(rec.Flags())} {
		binary.LittleEndian.PutUint64(buf[:], n)
		h.Write(buf[:])
	}
	tid, sid := rec.TraceID(), rec.SpanID()
	h.Write(tid[:])
	h.Write(sid[:])
	writeStr(h, rec.SeverityText())
	writeStr(h, rec.EventName())
	writeValue(h, rec.Body())
	writeMap(h, rec.Attributes())
	var sum [32]byte
	id := h.Sum(sum[:0])[:16]
	id[6] = id[6]&0x0f | 0x80 // version 8: custom
	id[8] = id[8]&0x3f | 0x80 // RFC 9562 variant
	return hex.EncodeToString(id)
}

// normalizeUUID returns a UUID (with or without dashes) as 32 lowercase hex, else "".
func normalizeUUID(s string) string {
	if len(s) == 36 {
		s = strings.ReplaceAll(s, "-", "")
	}
	if len(s) != 32 {
		return ""
	}
	s = strings.ToLower(s)
	if _, err := hex.DecodeString(s); err != nil {
		return ""
	}
	return s
}

// hashMap hashes a map independent of key order.
func hashMap(m pcommon.Map) [32]byte {
	h := sha256.New()
	writeMap(h, m)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

func writeStr(h hash.Hash, s string) {
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], uint64(len(s)))
	h.Write(buf[:])
	// Write does not keep the slice, so viewing the string's bytes avoids a copy.
	h.Write(unsafe.Slice(unsafe.StringData(s), len(s)))
}

func writeMap(h hash.Hash, m pcommon.Map) {
	keys := make([]string, 0, m.Len())
	for k := range m.All() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h.Write([]byte{'m'})
	for _, k := range keys {
		v, _ := m.Get(k)
		writeStr(h, k)
		writeValue(h, v)
	}
	h.Write([]byte{'e'})
}

func writeValue(h hash.Hash, v pcommon.Value) {
	var buf [8]byte
	h.Write([]byte{byte(v.Type())})
	switch v.Type() {
	case pcommon.ValueTypeStr:
		writeStr(h, v.Str())
	case pcommon.ValueTypeInt:
		binary.LittleEndian.PutUint64(buf[:], uint64(v.Int()))
		h.Write(buf[:])
	case pcommon.ValueTypeDouble:
		binary.LittleEndian.PutUint64(buf[:], math.Float64bits(v.Double()))
		h.Write(buf[:])
	case pcommon.ValueTypeBool:
		if v.Bool() {
			h.Write([]byte{1})
		} else {
			h.Write([]byte{0})
		}
	case pcommon.ValueTypeBytes:
		writeStr(h, string(v.Bytes().AsRaw()))
	case pcommon.ValueTypeMap:
		writeMap(h, v.Map())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		binary.LittleEndian.PutUint64(buf[:], uint64(s.Len()))
		h.Write(buf[:])
		for i := 0; i < s.Len(); i++ {
			writeValue(h, s.At(i))
		}
	}
}
