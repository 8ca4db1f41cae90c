package auth

import (
	"strings"
)

// BearerChallenge is the Bearer challenge of a WWW-Authenticate header
// (RFC 6750 section 3, RFC 9728 section 5.1).
type BearerChallenge struct {
	Realm            string
	Error            string   // e.g. "invalid_token", "insufficient_scope"
	ErrorDescription string   // text from the server
	Scope            []string // the scopes the server asks for
	ResourceMetadata string   // RFC 9728 resource_metadata URL
}

// InsufficientScope reports a step-up challenge (error="insufficient_scope").
func (c BearerChallenge) InsufficientScope() bool { return c.Error == "insufficient_scope" }

// ParseBearerChallenge finds the Bearer challenge in a WWW-Authenticate
// header value (several values may be joined with ", "). It reports false
// when there is none.
func ParseBearerChallenge(header string) (BearerChallenge, bool) {
	for _, ch := range parseChallenges(header) {
		if !strings.EqualFold(ch.scheme, "bearer") {
			continue
		}
		c := BearerChallenge{
			Realm:            ch.params["realm"],
			Error:            ch.params["error"],
			ErrorDescription: shorten(ch.params["error_description"]),
			Scope:            strings.Fields(ch.params["scope"]),
			ResourceMetadata: ch.params["resource_metadata"],
		}
		return c, true
	}
	return BearerChallenge{}, false
}

type challenge struct {
	scheme string
	params map[string]string // names lowercased
}

// parseChallenges parses the challenge list of RFC 9110 section 11.6.1:
// scheme [ token68 | auth-param *( "," auth-param ) ] separated by commas.
// It is lenient: malformed parts are skipped.
func parseChallenges(h string) []challenge {
	var out []challenge
	p := &headerParser{s: h}
	for {
		p.skipSpaceAndCommas()
		if p.done() {
			return out
		}
		scheme := p.token()
		if scheme == "" {
			p.i++ // skip a junk byte
			continue
		}
		ch := challenge{scheme: scheme, params: map[string]string{}}
		for first := true; ; first = false {
			p.skipSpace()
			save := p.i
			name := p.token()
			p.skipSpace()
			if name == "" || p.done() || p.s[p.i] != '=' {
				// Not an auth-param: a token68 (only directly after the
				// scheme) or the next scheme.
				p.i = save
				if first && name != "" && !p.done() && p.peekToken68End() {
					p.token68()
					continue
				}
				break
			}
			p.i++ // '='
			p.skipSpace()
			var val string
			if !p.done() && p.s[p.i] == '"' {
				val = p.quoted()
			} else {
				val = p.token()
			}
			ch.params[strings.ToLower(name)] = val
			p.skipSpace()
			if !p.done() && p.s[p.i] == ',' {
				p.i++
				continue
			}
			break
		}
		out = append(out, ch)
	}
}

type headerParser struct {
	s string
	i int
}

func (p *headerParser) done() bool { return p.i >= len(p.s) }

func (p *headerParser) skipSpace() {
	for !p.done() && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *headerParser) skipSpaceAndCommas() {
	for !p.done() && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == ',') {
		p.i++
	}
}

func isTokenChar(c byte) bool {
	if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func (p *headerParser) token() string {
	start := p.i
	for !p.done() && isTokenChar(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i]
}

// peekToken68End reports whether a token68 (letters, digits, -._~+/ then
// '=' padding) starts here and ends at a comma or the end.
func (p *headerParser) peekToken68End() bool {
	j := p.i
	for j < len(p.s) && (isTokenChar(p.s[j]) || p.s[j] == '/') {
		j++
	}
	for j < len(p.s) && p.s[j] == '=' {
		j++
	}
	for j < len(p.s) && (p.s[j] == ' ' || p.s[j] == '\t') {
		j++
	}
	return j == len(p.s) || p.s[j] == ','
}

func (p *headerParser) token68() {
	for !p.done() && p.s[p.i] != ',' {
		p.i++
	}
}

func (p *headerParser) quoted() string {
	p.i++ // opening quote
	var b strings.Builder
	for !p.done() {
		c := p.s[p.i]
		p.i++
		switch c {
		case '\\':
			if !p.done() {
				b.WriteByte(p.s[p.i])
				p.i++
			}
		case '"':
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
