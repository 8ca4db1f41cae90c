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
	case '{':
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
	// A bare value: boolean, number, date-time.
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

func (p *tparser) basicString() (string, error) {
	start := p.pos
	p.pos++
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String(), nil
		case c == '\n':
			return "", p.errf("line break inside a string")
		case c == '\\':
			if err := p.escape(&b); err != nil {
				return "", err
			}
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	p.pos = start
	return "", p.errf("unterminated string")
}

func (p *tparser) escape(b *strings.Builder) error {
	p.pos++ // backslash
	if p.pos >= len(p.src) {
		return p.errf("unterminated escape")
	}
	c := p.src[p.pos]
	p.pos++
	switch c {
	case 'b':
		b.WriteByte('\b')
	case 't':
		b.WriteByte('\t')
	case 'n':
		b.WriteByte('\n')
	case 'f':
		b.WriteByte('\f')
	case 'r':
		b.WriteByte('\r')
	case 'e':
		b.WriteByte(0x1b)
	case '"':
		b.WriteByte('"')
	case '\\':
		b.WriteByte('\\')
	case 'u', 'U':
		n := 4
		if c == 'U' {
			n = 8
		}
		if p.pos+n > len(p.src) {
			return p.errf("short \\%c escape", c)
		}
		r, err := strconv.ParseUint(string(p.src[p.pos:p.pos+n]), 16, 32)
		if err != nil || !utf8.ValidRune(rune(r)) {
			return p.errf("invalid \\%c escape", c)
		}
		b.WriteRune(rune(r))
		p.pos += n
	default:
		p.pos--
		return p.errf("invalid escape \\%c", c)
	}
	return nil
}

func (p *tparser) literalString() (string, error) {
	start := p.pos
	p.pos++
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case '\'':
			p.pos++
			return string(p.src[start+1 : p.pos-1]), nil
		case '\n':
			return "", p.errf("line break inside a string")
		}
		p.pos++
	}
	p.pos = start
	return "", p.errf("unterminated string")
}

func (p *tparser) multiBasic() (string, error) {
	start := p.pos
	p.pos += 3
	if p.pos < len(p.src) && p.src[p.pos] == '\n' {
		p.pos++
	} else if bytes.HasPrefix(p.src[p.pos:], []byte("\r\n")) {
		p.pos += 2
	}
	var b strings.Builder
	for p.pos < len(p.src) {
		if bytes.HasPrefix(p.src[p.pos:], []byte(`"""`)) {
			// Up to two more quotes belong to the content.
			q := p.pos + 3
			for q < len(p.src) && p.src[q] == '"' && q-p.pos < 5 {
				q++
			}
			b.Write(p.src[p.pos : q-3])
			p.pos = q
			return b.String(), nil
		}
		c := p.src[p.pos]
		if c == '\\' {
			// A line-ending backslash trims the newline and following blanks.
			q := p.pos + 1
			for q < len(p.src) && (p.src[q] == ' ' || p.src[q] == '\t') {
				q++
			}
			if q < len(p.src) && (p.src[q] == '\n' || p.src[q] == '\r') {
				p.pos = q
				for p.pos < len(p.src) && isSpace(p.src[p.pos]) {
					p.pos++
				}
				continue
			}
			if err := p.escape(&b); err != nil {
				return "", err
			}
			continue
		}
		b.WriteByte(c)
		p.pos++
	}
	p.pos = start
	return "", p.errf("unterminated multi-line string")
}

func (p *tparser) multiLiteral() (string, error) {
	start := p.pos
	p.pos += 3
	if p.pos < len(p.src) && p.src[p.pos] == '\n' {
		p.pos++
	} else if bytes.HasPrefix(p.src[p.pos:], []byte("\r\n")) {
		p.pos += 2
	}
	end := bytes.Index(p.src[p.pos:], []byte(`'''`))
	if end < 0 {
		p.pos = start
		return "", p.errf("unterminated multi-line string")
	}
	q := p.pos + end + 3
	for q < len(p.src) && p.src[q] == '\'' && q-(p.pos+end) < 5 {
		q++
	}
	s := string(p.src[p.pos : q-3])
	p.pos = q
	return s, nil
}

// setPath sets m[path...] = v, creating tables.
func setPath(m map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		sub, ok := m[k].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[k] = sub
		}
		m = sub
	}
	m[path[len(path)-1]] = v
}

// tomlTable decodes the table at prefix (e.g. ["mcp_servers"]) into a map,
// ignoring arrays of tables.
func tomlTable(items []titem, prefix []string) map[string]any {
	out := map[string]any{}
	for _, it := range items {
		if it.array || !hasPrefix(it.path, prefix) || len(it.path) == len(prefix) {
			continue
		}
		rel := it.path[len(prefix):]
		switch it.kind {
		case 'k':
			setPath(out, rel, it.value)
		case 'h':
			ensureTable(out, rel)
		}
	}
	return out
}

// ensureTable creates the tables on path that do not exist yet.
func ensureTable(m map[string]any, path []string) {
	for _, k := range path {
		sub, ok := m[k].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[k] = sub
		}
		m = sub
	}
}

func hasPrefix(path, prefix []string) bool {
	if len(path) < len(prefix) {
		return false
	}
	for i := range prefix {
		if path[i] != prefix[i] {
			return false
		}
	}
	return true
}

// ---- editing -----------------------------------------------------------------

// tomlKey renders one key part, quoting it unless it is bare.
func tomlKey(k string) string {
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		if !isBareKeyChar(k[i]) {
			return tomlString(k)
		}
	}
	return k
}

// tomlString renders a basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func tomlValue(v any) string {
	switch v := v.(type) {
	case string:
		return tomlString(v)
	case bool:
		return strconv.FormatBool(v)
	case []string:
		parts := make([]string, len(v))
		for i, s := range v {
			parts[i] = tomlString(s)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case []field:
		parts := make([]string, len(v))
		for i, f := range v {
			parts[i] = tomlKey(f.Key) + " = " + tomlValue(f.Value)
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	panic(fmt.Sprintf("ideconfig: cannot render %T as TOML", v))
}

// renderTOMLTable renders [path] with the fields as key = value lines.
func renderTOMLTable(path []string, fields []field, nl string) string {
	keys := make([]string, len(path))
	for i, k := range path {
		keys[i] = tomlKey(k)
	}
	var b strings.Builder
	b.WriteString("[" + strings.Join(keys, ".") + "]" + nl)
	for _, f := range fields {
		b.WriteString(tomlKey(f.Key) + " = " + tomlValue(f.Value) + nl)
	}
	return b.String()
}

// tomlEntrySpans finds the text of the entry at prefix (e.g. mcp_servers,
// NAME): its table blocks (header with its keys, and sub-tables) and any
// key/value lines elsewhere that define it (dotted keys, inline tables).
// firstBlock is the offset of its first table header, or -1.
func tomlEntrySpans(src []byte, items []titem, prefix []string) (spans [][2]int, firstBlock int) {
	firstBlock = -1
	for i, it := range items {
		switch it.kind {
		case 'h', 'a':
			if !hasPrefix(it.path, prefix) {
				continue
			}
			end := len(src)
			for j := i + 1; j < len(items); j++ {
				if items[j].kind == 'h' || items[j].kind == 'a' {
					end = items[j].start
					break
				}
			}
			end = trimAttached(src, it.end, end)
			spans = append(spans, [2]int{it.start, end})
			if firstBlock < 0 {
				firstBlock = it.start
			}
		case 'k':
			if !hasPrefix(it.path, prefix) || insideSpans(it.start, spans) {
				continue
			}
			spans = append(spans, [2]int{it.start, it.end})
		}
	}
	return spans, firstBlock
}

func insideSpans(pos int, spans [][2]int) bool {
	for _, s := range spans {
		if pos >= s[0] && pos < s[1] {
			return true
		}
	}
	return false
}

// trimAttached moves end back over the blank lines and the comment lines
// that precede the next header: those belong to what follows. min is the
// end of the block's own header.
func trimAttached(src []byte, min, end int) int {
	for end > min {
		// The line before end.
		ls := bytes.LastIndexByte(src[:end-1], '\n') + 1
		if ls < min {
			break
		}
		line := bytes.TrimSpace(src[ls:end])
		if len(line) == 0 || line[0] == '#' {
			end = ls
			continue
		}
		break
	}
	return end
}

// tomlSetEntry replaces (or adds) the table at prefix with fields.
func tomlSetEntry(src []byte, prefix []string, fields []field) ([]byte, error) {
	items, err := parseTOML(src)
	if err != nil {
		return nil, err
	}
	nl := "\n"
	if bytes.Contains(src, []byte("\r\n")) {
		nl = "\r\n"
	}
	block := renderTOMLTable(prefix, fields, nl)
	spans, first := tomlEntrySpans(src, items, prefix)
	var edits []edit
	for _, s := range spans {
		if s[0] == first {
			edits = append(edits, edit{pos: s[0], del: s[1] - s[0], ins: block})
			continue
		}
		edits = append(edits, edit{pos: s[0], del: s[1] - s[0]})
	}
	if first < 0 {
		// Append at the end after one blank line, which tomlRemoveEntry
		// takes away again.
		if len(bytes.TrimSpace(src)) == 0 {
			// A blank document: the table is all there is.
			return []byte(block), nil
		}
		pre := nl
		if !bytes.HasSuffix(src, []byte("\n")) {
			pre = nl + nl
		}
		edits = append(edits, edit{pos: len(src), ins: pre + block})
	}
	return applyEdits(src, edits), nil
}

// tomlRemoveEntry deletes the entry at prefix; found is false when absent.
func tomlRemoveEntry(src []byte, prefix []string) ([]byte, bool, error) {
	items, err := parseTOML(src)
	if err != nil {
		return nil, false, err
	}
	spans, _ := tomlEntrySpans(src, items, prefix)
	if len(spans) == 0 {
		return src, false, nil
	}
	var edits []edit
	for _, s := range spans {
		start, end := s[0], s[1]
		// Drop one blank line before a removed block when a blank line (or
		// the end of the file) follows it, so no double gap is left.
		if start > 0 && isBlankLineBefore(src, start) && (end == len(src) || isBlankLineAt(src, end)) {
			start = bytes.LastIndexByte(src[:start-1], '\n') + 1
		}
		edits = append(edits, edit{pos: start, del: end - start})
	}
	return applyEdits(src, edits), true, nil
}

// isBlankLineBefore reports whether the line ending just before pos (a
// line start) is blank.
func isBlankLineBefore(src []byte, pos int) bool {
	if pos == 0 {
		return false
	}
	ls := bytes.LastIndexByte(src[:pos-1], '\n') + 1
	return len(bytes.TrimSpace(src[ls:pos])) == 0
}

// isBlankLineAt reports whether the line starting at pos is blank.
func isBlankLineAt(src []byte, pos int) bool {
	le := bytes.IndexByte(src[pos:], '\n')
	if le < 0 {
		return len(bytes.TrimSpace(src[pos:])) == 0
	}
	return len(bytes.TrimSpace(src[pos:pos+le])) == 0
}

// tomlSetKey replaces the value of prefix.key where it is written as a
// key = value line of the entry's own table, keeping the line's
// indentation. ok is false when the entry has no such line (the caller
// then rewrites the whole entry).
func tomlSetKey(src []byte, prefix []string, key string, value any) (out []byte, ok bool, err error) {
	items, err := parseTOML(src)
	if err != nil {
		return nil, false, err
	}
	want := append(append([]string(nil), prefix...), key)
	nl := "\n"
	if bytes.Contains(src, []byte("\r\n")) {
		nl = "\r\n"
	}
	for i, it := range items {
		if it.kind != 'k' || it.array || !equalPath(it.path, want) {
			continue
		}
		// Only a line directly under [prefix] (not a dotted or inline form).
		hdr := -1
		for j := i - 1; j >= 0; j-- {
			if items[j].kind != 'k' {
				hdr = j
				break
			}
		}
		if hdr < 0 || items[hdr].kind != 'h' || !equalPath(items[hdr].path, prefix) {
			return src, false, nil
		}
		line := lineIndent(src, it.start) + tomlKey(key) + " = " + tomlValue(value) + nl
		return applyEdits(src, []edit{{pos: it.start, del: it.end - it.start, ins: line}}), true, nil
	}
	return src, false, nil
}

func equalPath(a, b []string) bool {
	return len(a) == len(b) && hasPrefix(a, b)
}
