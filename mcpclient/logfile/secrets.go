package logfile

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// MinSecretLen is the shortest value a Secrets set takes. Shorter values
// are ignored: a header value such as "json" or "1" would otherwise be
// scrubbed out of every line that happens to contain it, and a secret
// that short is not worth hiding (it can be guessed).
const MinSecretLen = 8

// MaxTokens is how many values added with AddToken a set keeps: access
// and refresh tokens rotate, and a hub running for weeks must not
// collect every one it ever held. Text is scrubbed when it is made (the
// log line, the state event, the error), so a value dropped long after it
// was replaced only stops being scrubbed from text made later.
const MaxTokens = 256

// minPartial is the shortest beginning of a secret that is scrubbed at
// the end of a truncated text ("…"): a message cut mid-secret shows the
// first bytes of it.
const minPartial = 4

// ellipsis ends a text shortened by mcptray.
const ellipsis = "…"

// Secrets is a set of known secret values — header values from the
// config, ${env:…} expansions, OAuth tokens, client secrets — that
// Scrub replaces with Redacted wherever they appear, whatever the text
// around them looks like. It complements Redact, which finds secrets by
// their shape. A nil *Secrets holds nothing. It is safe for concurrent
// use; Scrub takes no lock.
type Secrets struct {
	mu     sync.Mutex
	fixed  map[string][]string // value → its encodings
	tokens []string            // oldest first, at most MaxTokens
	tokEnc map[string][]string // token → its encodings
	cur    atomic.Pointer[matcher]
}

// NewSecrets returns an empty set.
func NewSecrets() *Secrets {
	return &Secrets{fixed: map[string][]string{}, tokEnc: map[string][]string{}}
}

// Add adds values that stay known for the set's lifetime (config values,
// client secrets). Values shorter than MinSecretLen are ignored.
func (s *Secrets) Add(values ...string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, v := range values {
		if len(v) < MinSecretLen {
			continue
		}
		if _, ok := s.fixed[v]; ok {
			continue
		}
		s.fixed[v] = encodings(v)
		changed = true
	}
	if changed {
		s.rebuild()
	}
}

// AddToken adds values that are replaced over time (access and refresh
// tokens): only the newest MaxTokens of them are kept. Values shorter than
// MinSecretLen are ignored.
func (s *Secrets) AddToken(values ...string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, v := range values {
		if len(v) < MinSecretLen {
			continue
		}
		if i := slices.Index(s.tokens, v); i >= 0 {
			if i == len(s.tokens)-1 {
				continue
			}
			s.tokens = slices.Delete(s.tokens, i, i+1) // moves to the newest end
		} else {
			s.tokEnc[v] = encodings(v)
		}
		s.tokens = append(s.tokens, v)
		changed = true
	}
	if n := len(s.tokens) - MaxTokens; n > 0 {
		for _, v := range s.tokens[:n] {
			delete(s.tokEnc, v)
		}
		s.tokens = slices.Delete(s.tokens, 0, n)
	}
	if changed {
		s.rebuild()
	}
}

// Len is the number of values known (not counting their encodings).
func (s *Secrets) Len() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.fixed)
	for _, t := range s.tokens {
		if _, dup := s.fixed[t]; !dup {
			n++
		}
	}
	return n
}

// rebuild makes a new matcher; the caller holds s.mu.
func (s *Secrets) rebuild() {
	seen := map[string]struct{}{}
	var vals []string
	add := func(v string) {
		if len(v) < MinSecretLen {
			return
		}
		if _, ok := seen[v]; ok {
			return
		}
		seen[v] = struct{}{}
		vals = append(vals, v)
	}
	for _, enc := range s.fixed {
		for _, e := range enc {
			add(e)
		}
	}
	for _, enc := range s.tokEnc {
		for _, e := range enc {
			add(e)
		}
	}
	// Longest first: with a truncated text, the longest secret whose
	// beginning ends it is the one cut.
	slices.SortFunc(vals, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	m := &matcher{vals: vals}
	if len(vals) > indexMax {
		m.byPrefix = make(map[uint64][]string, len(vals))
		for _, v := range vals {
			k := prefixKey(v)
			m.byPrefix[k] = append(m.byPrefix[k], v)
		}
	}
	s.cur.Store(m)
}

// encodings are the forms a value takes in the text the hub writes: as
// is, inside a JSON or Go-quoted string, and URL-encoded.
func encodings(v string) []string {
	out := []string{v}
	if b, err := json.Marshal(v); err == nil { // escapes <, > and & too
		out = append(out, string(b[1:len(b)-1]))
	}
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) == nil {
		j := strings.TrimSuffix(sb.String(), "\n")
		out = append(out, j[1:len(j)-1])
	}
	q := strconv.Quote(v)
	out = append(out, q[1:len(q)-1], url.QueryEscape(v), url.PathEscape(v))
	return out
}

// Scrub replaces every known secret in str with Redacted. Overlapping or
// adjacent secrets become one Redacted; a text that ends with "…" (cut
// short) also loses a beginning of a secret that ends it.
func (s *Secrets) Scrub(str string) string {
	if s == nil {
		return str
	}
	m := s.cur.Load()
	if m == nil || len(str) < minPartial {
		return str
	}
	return m.scrub(str)
}

// ScrubError returns err with its message scrubbed; it still unwraps to
// err, so errors.Is and errors.As keep working. nil stays nil, and an
// error without a known secret is returned as is.
func (s *Secrets) ScrubError(err error) error {
	if err == nil || s == nil {
		return err
	}
	msg := err.Error()
	if r := s.Scrub(msg); r != msg {
		return redactedError{msg: r, err: err}
	}
	return err
}

// indexMax is how many values (with encodings) a matcher searches one by
// one with strings.Index; with more, it looks each position of the text
// up by the 8 bytes starting there, which costs the same however many
// values there are.
const indexMax = 24

// matcher is an immutable snapshot of a set's values (with encodings),
// longest first.
type matcher struct {
	vals []string
	// byPrefix maps the first 8 bytes of each value (MinSecretLen) to the
	// values starting with them, longest first; nil with few values.
	byPrefix map[uint64][]string
}

// prefixKey packs the first 8 bytes of s.
func prefixKey(s string) uint64 {
	var k uint64
	for i := 7; i >= 0; i-- {
		k = k<<8 | uint64(s[i])
	}
	return k
}

type span struct{ from, to int }

func (m *matcher) scrub(str string) string {
	var spans []span
	switch {
	case len(str) < MinSecretLen:
	case m.byPrefix != nil:
		k := prefixKey(str)
		for i := 0; ; i++ {
			for _, v := range m.byPrefix[k] {
				if strings.HasPrefix(str[i:], v) {
					spans = append(spans, span{i, i + len(v)})
					break // the longest; shorter ones end inside it
				}
			}
			if i+MinSecretLen >= len(str) {
				break
			}
			k = k>>8 | uint64(str[i+MinSecretLen])<<56
		}
	default:
		for _, v := range m.vals {
			for off := 0; off+len(v) <= len(str); {
				i := strings.Index(str[off:], v)
				if i < 0 {
					break
				}
				spans = append(spans, span{off + i, off + i + len(v)})
				off += i + 1 // a secret may overlap itself or another one
			}
		}
	}
	if body, ok := strings.CutSuffix(str, ellipsis); ok {
		if sp, ok := m.cutTail(body); ok {
			spans = append(spans, sp)
		}
	}
	if len(spans) == 0 {
		return str
	}
	slices.SortFunc(spans, func(a, b span) int { return a.from - b.from })
	var b strings.Builder
	b.Grow(len(str))
	last := 0
	for i := 0; i < len(spans); {
		from, to := spans[i].from, spans[i].to
		for i++; i < len(spans) && spans[i].from <= to; i++ {
			to = max(to, spans[i].to)
		}
		b.WriteString(str[last:from])
		b.WriteString(Redacted)
		last = to
	}
	b.WriteString(str[last:])
	return b.String()
}

// cutTail finds the longest beginning (minPartial bytes or more, short of
// the whole) of a secret that ends body.
func (m *matcher) cutTail(body string) (span, bool) {
	best := 0
	for _, v := range m.vals {
		for n := min(len(v)-1, len(body)); n >= minPartial && n > best; n-- {
			if strings.HasSuffix(body, v[:n]) {
				best = n
				break
			}
		}
	}
	if best == 0 {
		return span{}, false
	}
	return span{len(body) - best, len(body)}, true
}
