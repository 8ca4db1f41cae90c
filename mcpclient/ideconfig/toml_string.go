package ideconfig

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

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
