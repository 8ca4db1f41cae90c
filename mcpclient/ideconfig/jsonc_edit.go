package ideconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ---- values to insert --------------------------------------------------------

// field is one key of an ordered object to render.
type field struct {
	Key   string
	Value any // string, []string, bool, []field (a nested object)
}

// renderJSON renders v. With multiline, objects put one member per line,
// indented by indent+unit, and close at indent; arrays of strings stay on
// one line.
func renderJSON(v any, indent, unit, nl string, multiline bool) string {
	var b strings.Builder
	writeJSON(&b, v, indent, unit, nl, multiline)
	return b.String()
}

func writeJSON(b *strings.Builder, v any, indent, unit, nl string, multiline bool) {
	switch v := v.(type) {
	case string:
		b.WriteString(jsonString(v))
	case bool:
		fmt.Fprintf(b, "%t", v)
	case []string:
		b.WriteByte('[')
		for i, s := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(jsonString(s))
		}
		b.WriteByte(']')
	case []field:
		if len(v) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteByte('{')
		for i, f := range v {
			if i > 0 {
				b.WriteByte(',')
				if !multiline {
					b.WriteByte(' ')
				}
			}
			if multiline {
				b.WriteString(nl + indent + unit)
			}
			b.WriteString(jsonString(f.Key))
			b.WriteString(": ")
			writeJSON(b, f.Value, indent+unit, unit, nl, multiline)
		}
		if multiline {
			b.WriteString(nl + indent)
		}
		b.WriteByte('}')
	default:
		panic(fmt.Sprintf("ideconfig: cannot render %T", v))
	}
}

// jsonString quotes s without HTML escaping (paths may contain &).
func jsonString(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimRight(buf.String(), "\n")
}

// ---- editing -----------------------------------------------------------------

type edit struct {
	pos, del int
	ins      string
}

// applyEdits applies edits given against src; insertions at the same
// offset come out in the order given.
func applyEdits(src []byte, edits []edit) []byte {
	order := make([]int, len(edits))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		ea, eb := edits[order[a]], edits[order[b]]
		if ea.pos != eb.pos {
			return ea.pos > eb.pos
		}
		return order[a] > order[b]
	})
	out := append([]byte(nil), src...)
	for _, i := range order {
		e := edits[i]
		out = append(out[:e.pos], append([]byte(e.ins), out[e.pos+e.del:]...)...)
	}
	return out
}

// jsonStyle is how a document is laid out, so inserted text matches it.
type jsonStyle struct {
	unit string // one level of indentation
	nl   string // "\n" or "\r\n"
}

func detectStyle(src []byte, root *jnode) jsonStyle {
	st := jsonStyle{unit: "  ", nl: "\n"}
	if bytes.Contains(src, []byte("\r\n")) {
		st.nl = "\r\n"
	}
	if root != nil && root.kind == 'o' {
		for _, m := range root.members {
			if ind, ok := lineIndentOnly(src, m.keyStart); ok && ind != "" {
				st.unit = ind
				break
			}
		}
	}
	return st
}

// lineIndent is the leading whitespace of the line holding pos.
func lineIndent(src []byte, pos int) string {
	ls := lineStart(src, pos)
	i := ls
	for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
		i++
	}
	return string(src[ls:i])
}

// lineIndentOnly is lineIndent when only whitespace precedes pos on its line.
func lineIndentOnly(src []byte, pos int) (string, bool) {
	ls := lineStart(src, pos)
	for i := ls; i < pos; i++ {
		if src[i] != ' ' && src[i] != '\t' {
			return "", false
		}
	}
	return string(src[ls:pos]), true
}

func lineStart(src []byte, pos int) int {
	return bytes.LastIndexByte(src[:pos], '\n') + 1
}

// errNotObject is returned when a path leads to something other than an object.
var errNotObject = errors.New("not an object")

// jsonSetMember sets path.../key to value in src, creating the objects on
// path as needed, and returns the new document. Only the member's text (or
// the inserted text) changes.
func jsonSetMember(src []byte, path []string, key string, value any) ([]byte, error) {
	root, err := parseJSONC(src)
	if err != nil {
		return nil, err
	}
	if root == nil {
		// A new (or blank) document: the whole thing is ours.
		var v any = value
		k := key
		for i := len(path) - 1; i >= 0; i-- {
			v = []field{{k, v}}
			k = path[i]
		}
		doc := []field{{k, v}}
		nl := "\n"
		if bytes.Contains(src, []byte("\r\n")) {
			nl = "\r\n"
		}
		return []byte(renderJSON(doc, "", "  ", nl, true) + nl), nil
	}
	st := detectStyle(src, root)
	obj := root
	for i, p := range path {
		if obj.kind != 'o' {
			return nil, fmt.Errorf("%s: %w", strings.Join(path[:i], "."), errNotObject)
		}
		m := obj.member(p)
		if m == nil {
			// Create the rest of the path as one new member.
			var v any = value
			k := key
			for j := len(path) - 1; j >= i; j-- {
				v = []field{{k, v}}
				k = path[j]
			}
			return applyEdits(src, insertMember(src, obj, k, v, st)), nil
		}
		obj = m.value
	}
	if obj.kind != 'o' {
		where := "the document"
		if len(path) > 0 {
			where = strings.Join(path, ".")
		}
		return nil, fmt.Errorf("%s: %w", where, errNotObject)
	}
	if m := obj.member(key); m != nil {
		ind := lineIndent(src, m.keyStart)
		// Keep the old value's layout: a one-line entry stays on one line.
		multiline := bytes.IndexByte(src[obj.start:obj.end], '\n') >= 0
		if m.value.kind == 'o' || m.value.kind == 'a' {
			multiline = bytes.IndexByte(src[m.value.start:m.value.end], '\n') >= 0
		}
		text := renderJSON(value, ind, st.unit, st.nl, multiline)
		return applyEdits(src, []edit{{pos: m.value.start, del: m.value.end - m.value.start, ins: text}}), nil
	}
	return applyEdits(src, insertMember(src, obj, key, value, st)), nil
}

// insertMember returns the edits that add "key": value at the end of obj.
func insertMember(src []byte, obj *jnode, key string, value any, st jsonStyle) []edit {
	inner := src[obj.start+1 : obj.end-1]
	multiline := bytes.IndexByte(src[obj.start:obj.end], '\n') >= 0
	ownIndent := lineIndent(src, obj.start)
	if len(obj.members) == 0 {
		childIndent := ownIndent + st.unit
		member := jsonString(key) + ": " + renderJSON(value, childIndent, st.unit, st.nl, true)
		if len(bytes.TrimSpace(inner)) == 0 {
			// {} or { } or {\n}: lay it out afresh.
			return []edit{{pos: obj.start + 1, del: len(inner), ins: st.nl + childIndent + member + st.nl + ownIndent}}
		}
		// Only comments inside: add after them.
		p := obj.end - 1
		for p > obj.start+1 && isSpace(src[p-1]) {
			p--
		}
		tail := ""
		if bytes.IndexByte(src[p:obj.end-1], '\n') < 0 {
			tail = st.nl + ownIndent
		}
		return []edit{{pos: p, ins: st.nl + childIndent + member + tail}}
	}
	last := obj.members[len(obj.members)-1]
	trailing := last.comma >= 0
	if !multiline {
		member := jsonString(key) + ": " + renderJSON(value, "", "", "", false)
		if trailing {
			return []edit{{pos: last.comma + 1, ins: " " + member + ","}}
		}
		return []edit{{pos: last.value.end, ins: ", " + member}}
	}
	childIndent, ok := lineIndentOnly(src, obj.members[0].keyStart)
	if !ok {
		childIndent = ownIndent + st.unit
	}
	member := jsonString(key) + ": " + renderJSON(value, childIndent, st.unit, st.nl, true)
	// Insert after the last member's line, past a trailing // comment.
	p := last.value.end
	if trailing {
		p = last.comma + 1
	}
	q := p
	for q < len(src) && (src[q] == ' ' || src[q] == '\t') {
		q++
	}
	switch {
	case bytes.HasPrefix(src[q:], []byte("//")):
		for q < len(src) && src[q] != '\n' && src[q] != '\r' {
			q++
		}
		p = q
	case q < len(src) && (src[q] == '\n' || src[q] == '\r'):
		p = q
	}
	var edits []edit
	ins := st.nl + childIndent + member
	if trailing {
		ins += ","
	} else {
		edits = append(edits, edit{pos: last.value.end, ins: ","})
	}
	return append(edits, edit{pos: p, ins: ins})
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// jsonRemoveMember deletes path.../key from src. found is false (and src
// is returned unchanged) when there is no such member.
func jsonRemoveMember(src []byte, path []string, key string) (out []byte, found bool, err error) {
	root, err := parseJSONC(src)
	if err != nil {
		return nil, false, err
	}
	obj := root
	for _, p := range path {
		m := obj.member(p)
		if m == nil {
			return src, false, nil
		}
		obj = m.value
	}
	if obj == nil || obj.kind != 'o' {
		return src, false, nil
	}
	idx := -1
	for i := range obj.members {
		if obj.members[i].key == key {
			idx = i
		}
	}
	if idx < 0 {
		return src, false, nil
	}
	return applyEdits(src, removeMember(src, obj, idx)), true, nil
}

func removeMember(src []byte, obj *jnode, idx int) []edit {
	m := obj.members[idx]
	isLast := idx == len(obj.members)-1
	end := m.value.end
	if m.comma >= 0 {
		end = m.comma + 1
	}
	if len(obj.members) == 1 && len(bytes.TrimSpace(src[obj.start+1:m.keyStart])) == 0 && len(bytes.TrimSpace(src[end:obj.end-1])) == 0 {
		// The only member, nothing else inside: leave {}.
		return []edit{{pos: obj.start + 1, del: obj.end - 1 - (obj.start + 1)}}
	}
	if _, atLineStart := lineIndentOnly(src, m.keyStart); atLineStart {
		// The member starts its line: remove whole lines when nothing but
		// whitespace follows it on its last line.
		q := end
		for q < len(src) && (src[q] == ' ' || src[q] == '\t') {
			q++
		}
		if q == len(src) || src[q] == '\n' || src[q] == '\r' {
			if q < len(src) && src[q] == '\r' {
				q++
			}
			if q < len(src) && src[q] == '\n' {
				q++
			}
			edits := []edit{{pos: lineStart(src, m.keyStart), del: q - lineStart(src, m.keyStart)}}
			if isLast && m.comma < 0 && idx > 0 {
				// The previous member's comma would now trail.
				edits = append(edits, edit{pos: obj.members[idx-1].comma, del: 1})
			}
			return edits
		}
	}
	// Compact layout ({"a": 1, "b": 2}) or something shares the line.
	switch {
	case !isLast:
		return []edit{{pos: m.keyStart, del: obj.members[idx+1].keyStart - m.keyStart}}
	case idx > 0 && m.comma < 0:
		prev := obj.members[idx-1]
		return []edit{{pos: prev.comma, del: m.value.end - prev.comma}}
	case idx > 0:
		prev := obj.members[idx-1]
		return []edit{{pos: prev.comma + 1, del: end - prev.comma - 1}}
	default:
		return []edit{{pos: m.keyStart, del: end - m.keyStart}}
	}
}
