package ideconfig

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file reads the TOML that Codex keeps in ~/.codex/config.toml well
// enough to find, read, replace and delete one [mcp_servers.NAME] entry by
// splicing text, leaving the rest of the file byte-for-byte alone. It
// understands the whole TOML 1.0 syntax for the purpose of finding where
// things start and end (strings of every kind, multi-line arrays, inline
// tables, comments), and decodes strings, numbers, booleans, arrays and
// inline tables; date-times are kept as their text.

// titem is one top-level line construct: a [table] or [[array]] header, or
// a key = value pair (which may span lines).
type titem struct {
	kind  byte     // 'h' table header, 'a' array-of-tables header, 'k' key/value
	path  []string // header: the table; key/value: table path + dotted key
	start int      // offset of the line start
	end   int      // offset past the item's last line (including its newline)
	value any      // key/value: the decoded value
	array bool     // key/value inside an [[array]] table
}

type tparser struct {
	src []byte
	pos int
}

// TOMLError is a TOML syntax error with its position.
type TOMLError struct {
	Line, Col int
	Msg       string
}

func (e *TOMLError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

func (p *tparser) errf(format string, args ...any) error {
	line, col := 1, 1
	for i := 0; i < p.pos && i < len(p.src); i++ {
		if p.src[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &TOMLError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// parseTOML splits src into items.
func parseTOML(src []byte) ([]titem, error) {
	p := &tparser{src: src}
	if bytes.HasPrefix(src, []byte("\xef\xbb\xbf")) {
		p.pos = 3
	}
	var items []titem
	var table, lastArray []string
	inArray := false
	for p.pos < len(src) {
		lineStart := p.pos
		p.skipWS()
		if p.pos >= len(src) {
			break
		}
		switch c := src[p.pos]; {
		case c == '\n' || c == '\r' || c == '#':
			if err := p.endOfLine(); err != nil {
				return nil, err
			}
			continue
		case c == '[':
			it := titem{kind: 'h', start: lineStart}
			p.pos++
			if p.pos < len(src) && src[p.pos] == '[' {
				it.kind = 'a'
				p.pos++
			}
			p.skipWS()
			key, err := p.key()
			if err != nil {
				return nil, err
			}
			p.skipWS()
			closer := "]"
			if it.kind == 'a' {
				closer = "]]"
			}
			if !bytes.HasPrefix(src[p.pos:], []byte(closer)) {
				return nil, p.errf("expected %q to close the table header", closer)
			}
			p.pos += len(closer)
			if err := p.endOfLine(); err != nil {
				return nil, err
			}
			it.path = key
			it.end = p.pos
			table = key
			if it.kind == 'a' {
				lastArray = key
			}
			// Keys of an [[array]] element, and of its sub-tables, are
			// not plain tables.
			inArray = lastArray != nil && hasPrefix(key, lastArray)
			it.array = inArray
			items = append(items, it)
		default:
			key, err := p.key()
			if err != nil {
				return nil, err
			}
			p.skipWS()
			if p.pos >= len(src) || src[p.pos] != '=' {
				return nil, p.errf("expected '=' after the key")
			}
			p.pos++
			p.skipWS()
			v, err := p.value(0)
			if err != nil {
				return nil, err
			}
			if err := p.endOfLine(); err != nil {
				return nil, err
			}
			path := append(append([]string(nil), table...), key...)
			items = append(items, titem{kind: 'k', path: path, start: lineStart, end: p.pos, value: v, array: inArray})
		}
	}
	return items, nil
}

func (p *tparser) skipWS() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
		p.pos++
	}
}

// endOfLine accepts optional whitespace and a comment, then a newline or
// the end of the document.
func (p *tparser) endOfLine() error {
	p.skipWS()
	if p.pos < len(p.src) && p.src[p.pos] == '#' {
		for p.pos < len(p.src) && p.src[p.pos] != '\n' {
			p.pos++
		}
	}
	if p.pos < len(p.src) && p.src[p.pos] == '\r' {
		p.pos++
	}
	if p.pos >= len(p.src) {
		return nil
	}
	if p.src[p.pos] != '\n' {
		return p.errf("expected the end of the line, found %q", p.src[p.pos])
	}
	p.pos++
	return nil
}

// skipBlank skips whitespace, newlines and comments (inside arrays).
func (p *tparser) skipBlank() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		case '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

func isBareKeyChar(c byte) bool {
	return c == '_' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// key reads a (possibly dotted, possibly quoted) key.
func (p *tparser) key() ([]string, error) {
	var parts []string
	for {
		p.skipWS()
		if p.pos >= len(p.src) {
			return nil, p.errf("expected a key")
		}
		switch c := p.src[p.pos]; {
		case c == '"':
			if bytes.HasPrefix(p.src[p.pos:], []byte(`"""`)) {
				return nil, p.errf("a key cannot be a multi-line string")
			}
			s, err := p.basicString()
			if err != nil {
				return nil, err
			}
			parts = append(parts, s)
		case c == '\'':
			if bytes.HasPrefix(p.src[p.pos:], []byte(`'''`)) {
				return nil, p.errf("a key cannot be a multi-line string")
			}
			s, err := p.literalString()
			if err != nil {
				return nil, err
			}
			parts = append(parts, s)
		case isBareKeyChar(c):
			start := p.pos
			for p.pos < len(p.src) && isBareKeyChar(p.src[p.pos]) {
				p.pos++
			}
			parts = append(parts, string(p.src[start:p.pos]))
		default:
			return nil, p.errf("expected a key, found %q", c)
		}
		p.skipWS()
		if p.pos < len(p.src) && p.src[p.pos] == '.' {
			p.pos++
			continue
		}
		return parts, nil
	}
}

// value parses one value at p.pos: a string, an array, an inline table or a
// bare value.
func (p *tparser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errf("nested too deeply")
	}
	if p.pos >= len(p.src) {
		return nil, p.errf("expected a value")
	}
	switch c := p.src[p.pos]; c {
	case '"':
		if bytes.HasPrefix(p.src[p.pos:], []byte(`"""`)) {
			return p.multiBasic()
		}
		return p.basicString()
	case '\'':
		if bytes.HasPrefix(p.src[p.pos:], []byte(`'''`)) {
			return p.multiLiteral()
		}
		return p.literalString()
	case '[':
		return p.array(depth)
	case '{':
		return p.inlineTable(depth)
	}
	return p.bareValue()
}

// array parses an array, at its '['.
func (p *tparser) array(depth int) (any, error) {
	p.pos++
	arr := []any{}
	for {
		p.skipBlank()
		if p.pos >= len(p.src) {
			return nil, p.errf("unterminated array")
		}
		if p.src[p.pos] == ']' {
			p.pos++
			return arr, nil
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
		p.skipBlank()
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		p.skipBlank()
		if p.pos >= len(p.src) || p.src[p.pos] != ']' {
			return nil, p.errf("expected ',' or ']' in an array")
		}
	}
}

// inlineTable parses an inline table, at its '{'.
func (p *tparser) inlineTable(depth int) (any, error) {
	p.pos++
	tbl := map[string]any{}
	for {
		p.skipBlank()
		if p.pos >= len(p.src) {
			return nil, p.errf("unterminated inline table")
		}
		if p.src[p.pos] == '}' {
			p.pos++
			return tbl, nil
		}
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		p.skipWS()
		if p.pos >= len(p.src) || p.src[p.pos] != '=' {
			return nil, p.errf("expected '=' in an inline table")
		}
		p.pos++
		p.skipWS()
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		setPath(tbl, key, v)
		p.skipBlank()
		if p.pos < len(p.src) && p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		p.skipBlank()
		if p.pos >= len(p.src) || p.src[p.pos] != '}' {
			return nil, p.errf("expected ',' or '}' in an inline table")
		}
	}
}

// bareValue parses a bare value: boolean, number, date-time.
func (p *tparser) bareValue() (any, error) {
	start := p.pos
	for p.pos < len(p.src) && strings.IndexByte("+-_.:0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", p.src[p.pos]) >= 0 {
		p.pos++
	}
	tok := string(p.src[start:p.pos])
	// A date and a time may be separated by one space.
	if len(tok) == 10 && tok[4] == '-' && tok[7] == '-' && p.pos+1 < len(p.src) && p.src[p.pos] == ' ' && p.src[p.pos+1] >= '0' && p.src[p.pos+1] <= '9' {
		p.pos++
		for p.pos < len(p.src) && strings.IndexByte("+-.:0123456789Zz", p.src[p.pos]) >= 0 {
			p.pos++
		}
		tok = string(p.src[start:p.pos])
	}
	switch tok {
	case "":
		r, _ := utf8.DecodeRune(p.src[p.pos:])
		return nil, p.errf("unexpected %q where a value should be", r)
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	clean := strings.ReplaceAll(tok, "_", "")
	if i, err := strconv.ParseInt(clean, 0, 64); err == nil {
		return i, nil
	}
	if f, err := strconv.ParseFloat(clean, 64); err == nil {
		return f, nil
	}
	switch clean {
	case "inf", "+inf", "-inf", "nan", "+nan", "-nan":
		return clean, nil
	}
	if tok[0] >= '0' && tok[0] <= '9' && strings.ContainsAny(tok, "-:") {
		return tok, nil // a date-time, kept as text
	}
	p.pos = start
	return nil, p.errf("invalid value %q", tok)
}
