package ideconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// This file is a small JSONC (JSON with comments and trailing commas, as VS
// Code, Cursor and Windsurf read it) parser that keeps the byte offsets of
// every value; jsonc_edit.go is the editor that changes one object member by
// splicing text. Everything outside the edited member stays byte-for-byte as
// it was: comments, key order, indentation, line endings.

// jnode is one parsed JSON value and where it sits in the source.
type jnode struct {
	kind       byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	start, end int  // the value's bytes are src[start:end]
	members    []jmember
	elems      []*jnode
	str        string // decoded string ('s')
	bval       bool
}

// jmember is one "key": value pair of an object.
type jmember struct {
	key      string
	keyStart int // offset of the key's opening quote
	value    *jnode
	comma    int // offset of the comma after the value, or -1
}

// SyntaxError is a JSONC parse error with its position.
type SyntaxError struct {
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

type jparser struct {
	src []byte
	pos int
}

// parseJSONC parses src. An empty (or whitespace/comment-only) document
// gives a nil node and no error.
func parseJSONC(src []byte) (*jnode, error) {
	p := &jparser{src: src}
	if bytes.HasPrefix(src, []byte("\xef\xbb\xbf")) {
		p.pos = 3
	}
	if err := p.skip(); err != nil {
		return nil, err
	}
	if p.pos >= len(src) {
		return nil, nil
	}
	n, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if err := p.skip(); err != nil {
		return nil, err
	}
	if p.pos < len(src) {
		return nil, p.errf("unexpected %q after the document", p.src[p.pos])
	}
	return n, nil
}

func (p *jparser) errf(format string, args ...any) error {
	line, col := 1, 1
	for i := 0; i < p.pos && i < len(p.src); i++ {
		if p.src[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &SyntaxError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// skip moves past whitespace and comments.
func (p *jparser) skip() error {
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			p.pos++
		case c == '/' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '/':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		case c == '/' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '*':
			end := bytes.Index(p.src[p.pos+2:], []byte("*/"))
			if end < 0 {
				return p.errf("unterminated /* comment")
			}
			p.pos += 2 + end + 2
		default:
			return nil
		}
	}
	return nil
}

const maxDepth = 200

func (p *jparser) value(depth int) (*jnode, error) {
	if depth > maxDepth {
		return nil, p.errf("nested too deeply")
	}
	if p.pos >= len(p.src) {
		return nil, p.errf("unexpected end of the document")
	}
	start := p.pos
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &jnode{kind: 's', start: start, end: p.pos, str: s}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		for p.pos < len(p.src) && strings.IndexByte("+-.eE0123456789", p.src[p.pos]) >= 0 {
			p.pos++
		}
		if !json.Valid(p.src[start:p.pos]) {
			return nil, p.errf("invalid number %q", p.src[start:p.pos])
		}
		return &jnode{kind: 'n', start: start, end: p.pos}, nil
	default:
		for _, lit := range []struct {
			word string
			kind byte
			b    bool
		}{{"true", 'b', true}, {"false", 'b', false}, {"null", 'z', false}} {
			if bytes.HasPrefix(p.src[p.pos:], []byte(lit.word)) {
				p.pos += len(lit.word)
				return &jnode{kind: lit.kind, start: start, end: p.pos, bval: lit.b}, nil
			}
		}
		r, _ := utf8.DecodeRune(p.src[p.pos:])
		return nil, p.errf("unexpected %q", r)
	}
}

func (p *jparser) str() (string, error) {
	start := p.pos
	p.pos++ // opening quote
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == '\\':
			p.pos += 2
		case c == '"':
			p.pos++
			var s string
			if err := json.Unmarshal(p.src[start:p.pos], &s); err != nil {
				p.pos = start
				return "", p.errf("invalid string: %v", err)
			}
			return s, nil
		case c == '\n':
			return "", p.errf("line break inside a string")
		default:
			p.pos++
		}
	}
	p.pos = start
	return "", p.errf("unterminated string")
}

func (p *jparser) object(depth int) (*jnode, error) {
	n := &jnode{kind: 'o', start: p.pos}
	p.pos++ // {
	seen := map[string]bool{}
	for {
		if err := p.skip(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.src) {
			return nil, p.errf("unterminated object")
		}
		if p.src[p.pos] == '}' {
			p.pos++
			n.end = p.pos
			return n, nil
		}
		if len(n.members) > 0 && n.members[len(n.members)-1].comma < 0 {
			return nil, p.errf("expected ',' or '}' after an object member")
		}
		if p.src[p.pos] != '"' {
			return nil, p.errf("expected a quoted member name")
		}
		m := jmember{keyStart: p.pos, comma: -1}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		if seen[k] {
			return nil, p.errf("duplicate member %q", k)
		}
		seen[k] = true
		m.key = k
		if err := p.skip(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return nil, p.errf("expected ':' after member name %q", k)
		}
		p.pos++
		if err := p.skip(); err != nil {
			return nil, err
		}
		if m.value, err = p.value(depth + 1); err != nil {
			return nil, err
		}
		if err := p.skip(); err != nil {
			return nil, err
		}
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			m.comma = p.pos
			p.pos++
		}
		n.members = append(n.members, m)
	}
}

func (p *jparser) array(depth int) (*jnode, error) {
	n := &jnode{kind: 'a', start: p.pos}
	p.pos++ // [
	needComma := false
	for {
		if err := p.skip(); err != nil {
			return nil, err
		}
		if p.pos >= len(p.src) {
			return nil, p.errf("unterminated array")
		}
		if p.src[p.pos] == ']' {
			p.pos++
			n.end = p.pos
			return n, nil
		}
		if needComma {
			return nil, p.errf("expected ',' or ']' in an array")
		}
		e, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		n.elems = append(n.elems, e)
		if err := p.skip(); err != nil {
			return nil, err
		}
		needComma = true
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			needComma = false
		}
	}
}

// member returns the member named key, or nil.
func (n *jnode) member(key string) *jmember {
	if n == nil || n.kind != 'o' {
		return nil
	}
	for i := range n.members {
		if n.members[i].key == key {
			return &n.members[i]
		}
	}
	return nil
}

// decode turns a node into plain Go values: map[string]any, []any, string,
// json.Number, bool, nil.
func (n *jnode) decode(src []byte) any {
	switch n.kind {
	case 'o':
		m := make(map[string]any, len(n.members))
		for _, mem := range n.members {
			m[mem.key] = mem.value.decode(src)
		}
		return m
	case 'a':
		a := make([]any, 0, len(n.elems))
		for _, e := range n.elems {
			a = append(a, e.decode(src))
		}
		return a
	case 's':
		return n.str
	case 'n':
		return json.Number(src[n.start:n.end])
	case 'b':
		return n.bval
	}
	return nil
}
