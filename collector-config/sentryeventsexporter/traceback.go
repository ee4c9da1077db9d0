// Copyright prodtel authors
// SPDX-License-Identifier: Apache-2.0

package sentryeventsexporter

import (
	"regexp"
	"strconv"
	"strings"
)

// This file parses the text Python's traceback.format_exception produces (what OTel Python puts
// into exception.stacktrace) back into a tree of exceptions: the chain (__cause__/__context__)
// and ExceptionGroup members, each with its frames.

const (
	causeSentence   = "The above exception was the direct cause of the following exception:"
	contextSentence = "During handling of the above exception, another exception occurred:"
	tracebackHeader = "Traceback (most recent call last):"
	groupHeader     = "Exception Group Traceback (most recent call last):"
	sourceCause     = "__cause__"
	sourceContext   = "__context__"
)

// `Type` or `Type: message`; Type is a dotted qualname that may contain `<locals>`.
var typeLineRE = regexp.MustCompile(`^([\p{L}_][\p{L}\p{N}_]*(?:\.(?:[\p{L}_][\p{L}\p{N}_]*|<locals>))*)(?:: (.*))?$`)

// frameLine parses `  File "<path>", line N, in <func>` and SyntaxError's location line
// `  File "<path>", line N` (hasFunc false). The path may itself contain quotes.
func frameLine(s string) (f pyFrame, hasFunc, ok bool) {
	const prefix = `  File "`
	if !strings.HasPrefix(s, prefix) {
		return f, false, false
	}
	rest := s[len(prefix):]
	i := strings.LastIndex(rest, `", line `)
	if i < 0 {
		return f, false, false
	}
	f.Path = rest[:i]
	rest = rest[i+len(`", line `):]
	num, fn, hasFunc := strings.Cut(rest, ", in ")
	if hasFunc && fn == "" {
		return f, false, false
	}
	if num != "None" {
		n, err := strconv.Atoi(num)
		if err != nil || n < 0 {
			return f, false, false
		}
		f.Line = n
	}
	f.Function = fn
	return f, hasFunc, true
}

// repeatLine parses `  [Previous line repeated N more time(s)]`.
func repeatLine(s string) (int, bool) {
	rest, ok := strings.CutPrefix(s, "  [Previous line repeated ")
	if !ok {
		return 0, false
	}
	num, tail, _ := strings.Cut(rest, " ")
	n, err := strconv.Atoi(num)
	if err != nil || (tail != "more times]" && tail != "more time]") {
		return 0, false
	}
	return n, true
}

// caretLine: 4 spaces, then only spaces, '~' and '^' (3.11+ error location markers).
func caretLine(s string) bool {
	if !strings.HasPrefix(s, "    ") {
		return false
	}
	marks := false
	for i := 4; i < len(s); i++ {
		switch s[i] {
		case '~', '^':
			marks = true
		case ' ':
		default:
			return false
		}
	}
	return marks
}

// pyFrame is one `File ...` entry of a traceback.
type pyFrame struct {
	Path     string
	Line     int    // 0 when Python printed "None"
	Function string // empty for a SyntaxError location
	Source   string // the stripped source line, if printed
}

// pyException is one exception in the printed tree.
type pyException struct {
	Type     string // as printed: "pkg.mod.Err" or "Err"
	Value    string // message plus notes, as printed after "Type: "
	Frames   []pyFrame
	Repeated int // frames folded into "[Previous line repeated N more times]"
	Complete bool
	// Mechanism overrides the event's mechanism type ("faulthandler" for a native crash).
	Mechanism string

	// Prev is the exception printed just before this one at the same level: this one's
	// __cause__ or __context__, as PrevSource says.
	Prev       *pyException
	PrevSource string

	Group   bool
	Members []*pyException // each the newest exception of its own chain
}

type tokKind uint8

const (
	tokText       tokKind = iota // a content line
	tokGroupHead                 // `+ Exception Group Traceback...` (top-level group)
	tokFirstChild                // `+-+---------------- 1 ----------------`
	tokNextChild                 // `+---------------- N ----------------`
	tokClose                     // `+------------------------------------`
)

// token is a traceback line with the exception-group margin removed. depth is the group
// nesting level: 0 outside any group, content of a top-level group is at 1.
type token struct {
	kind  tokKind
	depth int
	text  string
	title string // member separator title: "1".."15" or "..."
}

// tokenize strips the `| ` / `+` margins ExceptionGroup output puts in front of its lines.
// Margins are only recognised inside a group region, so a depth-0 message line that happens to
// start with "  | " is left alone unless it opens an exception block.
func tokenize(text string) []token {
	text = strings.TrimSuffix(text, "\n")
	if text == "" {
		return nil
	}
	lines := strings.Split(text, "\n")
	toks := make([]token, 0, len(lines))
	inGroup := false
	atStart := true // at the start of a chain element (text start or after a separator)
	for i, line := range lines {
		line = strings.TrimSuffix(line, "\r")
		if !inGroup && (strings.HasPrefix(line, "  + Exception Group Traceback") ||
			(atStart && strings.HasPrefix(line, "  | "))) {
			inGroup = true
		}
		if inGroup {
			if tok, ok := marginToken(line); ok {
				toks = append(toks, tok)
				continue
			}
			inGroup = false
		}
		toks = append(toks, token{kind: tokText, text: line})
		atStart = line == "" && i >= 2 && lines[i-2] == "" && isSeparator(lines[i-1])
	}
	return toks
}

func isSeparator(s string) bool { return s == causeSentence || s == contextSentence }

// marginToken decodes one line of a group region: 2*depth spaces, then '|' or '+'.
func marginToken(line string) (token, bool) {
	n := 0
	for n < len(line) && line[n] == ' ' {
		n++
	}
	if n < 2 || n%2 != 0 || n >= len(line) {
		return token{}, false
	}
	depth := n / 2
	rest := line[n+1:]
	switch line[n] {
	case '|':
		return token{kind: tokText, depth: depth, text: strings.TrimPrefix(rest, " ")}, true
	case '+':
		switch {
		case strings.HasPrefix(rest, " Exception Group Traceback"):
			return token{kind: tokGroupHead, depth: depth, text: strings.TrimPrefix(rest, " ")}, true
		case strings.HasPrefix(rest, "-+-"):
			return token{kind: tokFirstChild, depth: depth + 1, title: memberTitle(rest[2:])}, true
		case strings.Trim(rest, "-") == "":
			return token{kind: tokClose, depth: depth}, true
		case strings.HasPrefix(rest, "-"):
			return token{kind: tokNextChild, depth: depth, title: memberTitle(rest)}, true
		}
	}
	return token{}, false
}

func memberTitle(s string) string { return strings.TrimSpace(strings.Trim(s, "+- ")) }

type tbParser struct {
	toks []token
	pos  int
}

// parseTraceback returns the newest (raised) exception of the printed tree, or nil when the
// text holds no recognisable exception.
func parseTraceback(text string) *pyException {
	p := &tbParser{toks: tokenize(text)}
	return p.chain(0)
}

func (p *tbParser) peek() (token, bool) {
	if p.pos >= len(p.toks) {
		return token{}, false
	}
	return p.toks[p.pos], true
}

// chain parses the exceptions printed at one level, oldest first, linked through Prev; it
// returns the newest. It stops at a member separator or at the end of its group region.
func (p *tbParser) chain(depth int) *pyException {
	var last *pyException
	source := ""
	for {
		t, ok := p.peek()
		if !ok || t.depth < depth {
			break
		}
		if (t.kind == tokNextChild || t.kind == tokClose) && t.depth == depth {
			break // belongs to the enclosing group
		}
		var e *pyException
		switch {
		case t.kind == tokText && t.depth == depth && t.text == "":
			p.pos++
			continue
		case t.kind == tokText && t.depth == depth && isSeparator(t.text):
			source = sourceContext
			if t.text == causeSentence {
				source = sourceCause
			}
			p.pos++
			continue
		case depth == 0 && t.depth > 0:
			e = p.element(t.depth) // a top-level group region
		case t.depth == depth && (t.kind == tokText || t.kind == tokGroupHead):
			e = p.element(depth)
		}
		if e == nil {
			p.pos++ // a line we do not understand: skip it
			continue
		}
		if last != nil {
			e.Prev, e.PrevSource = last, source
			if source == "" {
				e.PrevSource = sourceContext
			}
		}
		last, source = e, ""
	}
	return last
}

// element parses one exception: optional header and frames, the type line, message lines,
// and for a group its members. It returns nil (consuming nothing) when the line at pos is
// neither a header, a frame nor a type line.
func (p *tbParser) element(depth int) *pyException {
	start := p.pos
	e := &pyException{}
	if t, _ := p.peek(); t.kind == tokGroupHead || t.text == groupHeader {
		e.Group = true
		p.pos++
	} else if t.text == tracebackHeader {
		p.pos++
	}
	p.frames(depth, e)
	t, ok := p.peek()
	if !ok || t.kind != tokText || t.depth != depth {
		if p.pos == start {
			return nil
		}
		return e // frames but no type line: the text was cut short
	}
	m := typeLineRE.FindStringSubmatch(t.text)
	if m == nil {
		if p.pos == start {
			return nil
		}
		return e
	}
	p.pos++
	e.Type, e.Value, e.Complete = m[1], m[2], true
	p.message(depth, e)
	if t, ok := p.peek(); ok && t.kind == tokFirstChild && t.depth == depth+1 {
		e.Group = true
		p.members(depth+1, e)
	}
	return e
}

func (p *tbParser) frames(depth int, e *pyException) {
	for {
		t, ok := p.peek()
		if !ok || t.kind != tokText || t.depth != depth {
			return
		}
		if f, _, ok := frameLine(t.text); ok {
			p.pos++
			f.Source = p.source(depth)
			e.Frames = append(e.Frames, f)
			continue
		}
		if n, ok := repeatLine(t.text); ok {
			p.pos++
			e.Repeated += n
			continue
		}
		return
	}
}

// source consumes the indented source line after a frame and its caret/tilde lines.
func (p *tbParser) source(depth int) string {
	src := ""
	if t, ok := p.peek(); ok && t.kind == tokText && t.depth == depth &&
		strings.HasPrefix(t.text, "    ") && !caretLine(t.text) {
		src = strings.TrimSpace(t.text)
		p.pos++
	}
	for {
		t, ok := p.peek()
		if !ok || t.kind != tokText || t.depth != depth || !caretLine(t.text) {
			return src
		}
		p.pos++
	}
}

// message appends the lines after the type line (multi-line messages, add_note notes) up to
// a chain separator (blank, sentence, blank) or the end of this level.
func (p *tbParser) message(depth int, e *pyException) {
	var b strings.Builder
	b.WriteString(e.Value)
	for {
		t, ok := p.peek()
		if !ok || t.kind != tokText || t.depth != depth {
			break
		}
		if t.text == "" && p.pos+1 < len(p.toks) {
			if n := p.toks[p.pos+1]; n.kind == tokText && n.depth == depth && isSeparator(n.text) {
				break
			}
		}
		if isSeparator(t.text) && p.pos > 0 && p.toks[p.pos-1].text == "" {
			break
		}
		b.WriteByte('\n')
		b.WriteString(t.text)
		p.pos++
	}
	e.Value = b.String()
	// A message ending in a newline prints an extra blank line before the next separator;
	// that line is part of the message, which is what the loop above keeps.
}

// members parses the group members printed at depth, each introduced by a separator line.
func (p *tbParser) members(depth int, e *pyException) {
	p.pos++ // the first-member separator
	skip := false
	for {
		if skip {
			for t, ok := p.peek(); ok && t.kind == tokText && t.depth >= depth; t, ok = p.peek() {
				p.pos++ // "and N more exceptions"
			}
		} else if m := p.chain(depth); m != nil {
			e.Members = append(e.Members, m)
		}
		t, ok := p.peek()
		if !ok || t.depth != depth {
			return
		}
		switch t.kind {
		case tokNextChild:
			p.pos++
			skip = t.title == "..."
		case tokClose:
			p.pos++
			return
		default:
			return
		}
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}
