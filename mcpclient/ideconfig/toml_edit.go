package ideconfig

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

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
