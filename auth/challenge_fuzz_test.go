package auth

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Seeds for the WWW-Authenticate fuzz targets: headers seen from real
// servers and the RFC examples, then malformed and hostile ones.
var challengeSeeds = []string{
	// RFC 6750 section 3 and RFC 9728 section 5.1.
	`Bearer realm="example"`,
	`Bearer realm="example", error="invalid_token", error_description="The access token expired"`,
	`Bearer resource_metadata="https://resource.example.com/.well-known/oauth-protected-resource"`,
	`Bearer error="insufficient_scope", scope="files:read files:write", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"`,
	`Bearer error="invalid_request", error_description="No access token was provided in this request", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource"`,
	`Bearer realm="OAuth", error="invalid_token", error_description="Missing or invalid access token"`,
	`Bearer error=invalid_token, error_description="Invalid token: \"abc\" is not a JWT"`,
	// RFC 9110 section 11.6.1 example, several challenges in one value.
	`Basic realm="simple", Newauth realm="apps", type=1, title="Login to \"apps\""`,
	`Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"`,
	`Negotiate, Bearer`,
	`Negotiate YIIFyQYJKoZIhvcSAQICAQBuggW4MIIFtKADAgEFoQMCAQ6iBwMFACAAAACjggQ=, Bearer realm="mcp"`,
	`DPoP algs="ES256 PS256", Bearer realm="mcp", scope="openid"`,
	`Basic realm="x", Bearer realm="mcp",error=invalid_token`,
	`Basic realm="x", Bearer`,
	`Negotiate abc=, Bearer`,
	`BEARER Resource_Metadata="https://x.example/prm", SCOPE="A b"`,
	`Bearer error_description="Zugriff verweigert – Token ungültig ✓"`,
	`Bearer scope="a", scope="b"`,
	`Bearer realm="first", Bearer realm="second", resource_metadata="https://second.example/"`,
	// Servers that get the syntax wrong.
	`Bearer resource_metadata=https://mcp.example.com/.well-known/oauth-protected-resource`,
	`Bearer scope=read write`,
	`Bearer realm = "spaced" , error = "invalid_token"`,
	"Bearer\trealm=\"tab\",\terror=\"invalid_token\"",
	`Bearer realm=""`,
	`Bearer scope="unterminated`,
	`Bearer scope="a\`,
	`Bearer ,,,,, =, ==, "`,
	`= , Bearer`,
	`"Bearer" realm="x"`,
	`Bearer realm="x" error="y"`,
	`Bearer abc==, realm="x"`,
	`Bearer realm="\\\"\\"`,
	"Bearer realm=\"nul\x00byte\", error=\"\r\nX-Injected: 1\"",
	"Bearer error_description=\"\xff\xfe invalid utf-8 \xc3\"",
	// An attacker-controlled value trying to smuggle in a parameter or a
	// second challenge.
	`Bearer error_description="\", resource_metadata=\"https://evil.example/\""`,
	`Basic realm="\", Bearer resource_metadata=\"https://evil.example/\"", Bearer realm="good"`,
	`Basic realm="x\", Bearer resource_metadata=https://evil.example/`,
	`Bearer realm="a", error_description="x\\", resource_metadata="https://evil.example/"`,
	`Newauth realm="apps", resource_metadata="https://evil.example/", Bearer`,
	`Bearer realm="` + strings.Repeat(`\"`, 300) + `"`,
	`Bearer error_description="` + strings.Repeat("long ", 100) + `"`,
	strings.Repeat("Bearer, ", 50),
	strings.Repeat(`a=b, `, 50) + `Bearer scope="x"`,
	"",
}

// FuzzParseBearerChallenge feeds arbitrary header values to the parser.
// Invariants: no panic; every scheme, parameter name and value comes out
// of the header (a value is a subsequence of it: unescaping only drops
// backslashes), so nothing appears that was not there and the output is
// no larger than the input; ParseBearerChallenge reports the first Bearer
// challenge of parseChallenges; and writing the parsed challenges back in
// canonical form (every value quoted and escaped) parses to the same
// result.
func FuzzParseBearerChallenge(f *testing.F) {
	for _, s := range challengeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		chs := parseChallenges(header)
		lower := strings.ToLower(header)
		// The per-value searches are quadratic; keep them to header sizes
		// servers send so that the fuzzer does not crawl on huge inputs.
		search := len(header) <= 8<<10
		total := 0
		for _, ch := range chs {
			if ch.scheme == "" || !isToken(ch.scheme) || search && !strings.Contains(header, ch.scheme) {
				t.Fatalf("scheme %q is not a token of the header", ch.scheme)
			}
			total += len(ch.scheme)
			for name, val := range ch.params {
				if !isToken(name) || name != strings.ToLower(name) || search && !strings.Contains(lower, name) {
					t.Fatalf("parameter name %q is not a lowercased token of the header", name)
				}
				if search && !isSubsequence(val, header) {
					t.Fatalf("parameter %s=%q is not taken from the header", name, val)
				}
				total += len(name) + len(val)
			}
		}
		if total > len(header) {
			t.Fatalf("parsed %d bytes of names and values out of a %d-byte header", total, len(header))
		}

		got, ok := ParseBearerChallenge(header)
		want, wantOK := firstBearer(chs)
		if ok != wantOK || !reflect.DeepEqual(got, want) {
			t.Fatalf("ParseBearerChallenge = %+v, %v; first Bearer challenge gives %+v, %v", got, ok, want, wantOK)
		}
		checkBearerChallenge(t, got)

		// Canonical form round trip.
		canon := formatChallenges(chs)
		again := parseChallenges(canon)
		if !challengesEqual(chs, again) {
			t.Fatalf("re-serialised header %q parses to %+v, want %+v", canon, again, chs)
		}
		got2, ok2 := ParseBearerChallenge(canon)
		if ok2 != ok || !reflect.DeepEqual(got2, got) {
			t.Fatalf("re-serialised header %q gives %+v, %v; want %+v, %v", canon, got2, ok2, got, ok)
		}
	})
}

// FuzzBearerChallengeRoundTrip builds a well-formed header from arbitrary
// parameter values (quoted with backslash escapes), surrounded by other
// challenges whose values are also attacker-chosen, and checks that the
// Bearer challenge's values come back exactly (unescaped), that a
// parameter that was not in the Bearer challenge never appears, and that
// parameters of the other challenges never leak into it.
func FuzzBearerChallengeRoundTrip(f *testing.F) {
	f.Add("mcp", "mcp:read mcp:write", "insufficient_scope", `need "write"`, "https://mcp.example.com/.well-known/oauth-protected-resource/mcp", "simple", uint16(0x1f))
	f.Add("", "", "invalid_token", "The access token expired", "", "", uint16(0x0c))
	f.Add("", "openid profile", "", "", "https://x.example/prm", `", Bearer resource_metadata="https://evil.example/"`, uint16(0x1f|0x20|0x100))
	f.Add("", "", "invalid_token", `", resource_metadata="https://evil.example/", x="`, "", `\`, uint16(0x0c|0x40))
	f.Add(`a\b"c`, `\"`, `invalid_token`, `\\\"`, `https://x.example/a"b\c`, `\\`, uint16(0xffff))
	f.Add("r", "  lots   of\tspace  ", "e", "ctl\x00\x01\x7f\r\n", "rm", "other", uint16(0x3ff))
	f.Add("", "", "", strings.Repeat("é", 150), "", "", uint16(0x08))
	f.Add("x", "", "", "", "", "YWxhZGRpbjpvcGVuc2VzYW1l==", uint16(0x81))
	f.Fuzz(func(t *testing.T, realm, scope, errCode, errDesc, rm, other string, flags uint16) {
		type param struct{ name, val string }
		var params []param
		if flags&0x01 != 0 {
			params = append(params, param{"realm", realm})
		}
		if flags&0x02 != 0 {
			params = append(params, param{"scope", scope})
		}
		if flags&0x04 != 0 {
			params = append(params, param{"error", errCode})
		}
		if flags&0x08 != 0 {
			params = append(params, param{"error_description", errDesc})
		}
		if flags&0x10 != 0 {
			params = append(params, param{"resource_metadata", rm})
		}
		// Rotate the order.
		if n := len(params); n > 0 {
			r := int(flags>>12) % n
			params = append(params[r:], params[:r]...)
		}
		scheme := []string{"Bearer", "bearer", "BEARER", "BeArEr"}[flags>>10&3]
		sep := []string{", ", ",", " , ", ",\t"}[flags>>8&3]

		var b strings.Builder
		switch {
		case flags&0x20 != 0: // an attacker-valued challenge before
			b.WriteString(`Basic realm="` + escapeQuoted(other) + `", `)
		case flags&0x80 != 0 && isToken68(other):
			b.WriteString("Negotiate " + other + ", ")
		}
		b.WriteString(scheme)
		for i, p := range params {
			if i == 0 {
				b.WriteByte(' ')
			} else {
				b.WriteString(sep)
			}
			name := p.name
			if flags&0x200 != 0 {
				name = strings.ToUpper(name)
			}
			if flags&0x4000 != 0 && isToken(p.val) {
				b.WriteString(name + "=" + p.val) // token form
			} else {
				b.WriteString(name + `="` + escapeQuoted(p.val) + `"`)
			}
		}
		if flags&0x40 != 0 { // an attacker-valued challenge after
			b.WriteString(`, Newauth realm="` + escapeQuoted(other) + `", resource_metadata="https://evil.example/", scope="evil"`)
		}
		header := b.String()

		got, ok := ParseBearerChallenge(header)
		if !ok {
			t.Fatalf("no Bearer challenge found in %q", header)
		}
		want := BearerChallenge{}
		for _, p := range params {
			switch p.name {
			case "realm":
				want.Realm = p.val
			case "scope":
				want.Scope = strings.Fields(p.val)
			case "error":
				want.Error = p.val
			case "error_description":
				want.ErrorDescription = shorten(p.val)
			case "resource_metadata":
				want.ResourceMetadata = p.val
			}
		}
		if got.Realm != want.Realm || got.Error != want.Error || got.ErrorDescription != want.ErrorDescription ||
			!slices.Equal(got.Scope, want.Scope) || got.ResourceMetadata != want.ResourceMetadata {
			t.Fatalf("header %q\nparsed  %#v\nwant    %#v", header, got, want)
		}
		checkBearerChallenge(t, got)
	})
}

// checkBearerChallenge checks the shape of a parsed challenge: scopes are
// non-empty and free of white space, the description is shortened and
// free of control characters.
func checkBearerChallenge(t *testing.T, c BearerChallenge) {
	t.Helper()
	for _, s := range c.Scope {
		if s == "" || strings.ContainsAny(s, " \t\r\n\v\f") {
			t.Fatalf("scope %q is empty or holds white space", s)
		}
	}
	if len(c.ErrorDescription) > 200+len("…") {
		t.Fatalf("error_description of %d bytes was not shortened", len(c.ErrorDescription))
	}
	if strings.ContainsFunc(c.ErrorDescription, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		t.Fatalf("error_description %q holds control characters", c.ErrorDescription)
	}
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTokenChar(s[i]) {
			return false
		}
	}
	return true
}

// isToken68 reports a token68 of RFC 9110 section 11.2.
func isToken68(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("-._~+/", c) >= 0) {
			return false
		}
	}
	return true
}

// isSubsequence reports whether the bytes of sub appear in s in order.
func isSubsequence(sub, s string) bool {
	j := 0
	for i := 0; i < len(s) && j < len(sub); i++ {
		if s[i] == sub[j] {
			j++
		}
	}
	return j == len(sub)
}

func escapeQuoted(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// formatChallenges writes challenges in canonical form: parameters sorted
// by name, every value quoted.
func formatChallenges(chs []challenge) string {
	var parts []string
	for _, ch := range chs {
		names := make([]string, 0, len(ch.params))
		for n := range ch.params {
			names = append(names, n)
		}
		slices.Sort(names)
		var ps []string
		for _, n := range names {
			ps = append(ps, fmt.Sprintf(`%s="%s"`, n, escapeQuoted(ch.params[n])))
		}
		s := ch.scheme
		if len(ps) > 0 {
			s += " " + strings.Join(ps, ", ")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func challengesEqual(a, b []challenge) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].scheme != b[i].scheme || !reflect.DeepEqual(a[i].params, b[i].params) {
			return false
		}
	}
	return true
}

// firstBearer is the specification of ParseBearerChallenge in terms of
// parseChallenges.
func firstBearer(chs []challenge) (BearerChallenge, bool) {
	for _, ch := range chs {
		if strings.EqualFold(ch.scheme, "bearer") {
			return BearerChallenge{
				Realm:            ch.params["realm"],
				Error:            ch.params["error"],
				ErrorDescription: shorten(ch.params["error_description"]),
				Scope:            strings.Fields(ch.params["scope"]),
				ResourceMetadata: ch.params["resource_metadata"],
			}, true
		}
	}
	return BearerChallenge{}, false
}

// TestParseChallengesToken68OnlyAfterScheme: a bare token after a
// challenge's auth-params is the next challenge, not a token68 of the
// previous one (RFC 9110 section 11.2: token68 directly follows the
// scheme). FuzzParseBearerChallenge's canonical round trip found this.
func TestParseChallengesToken68OnlyAfterScheme(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header  string
		schemes []string
		bearer  bool
	}{
		{`Basic realm="x", Bearer`, []string{"Basic", "Bearer"}, true},
		{`Basic realm="x", Bearer, Negotiate`, []string{"Basic", "Bearer", "Negotiate"}, true},
		{`Bearer scope=read write`, []string{"Bearer", "write"}, true},
		{`Negotiate abc=, Bearer`, []string{"Negotiate", "Bearer"}, true},
		{`Negotiate YWxhZGRpbjpvcGVuc2VzYW1l==, Bearer`, []string{"Negotiate", "Bearer"}, true},
		{`Negotiate YWxhZGRpbjpvcGVuc2VzYW1l, Basic`, []string{"Negotiate", "Basic"}, false},
		{`Basic realm="x"`, []string{"Basic"}, false},
	}
	for _, tt := range tests {
		var schemes []string
		for _, ch := range parseChallenges(tt.header) {
			schemes = append(schemes, ch.scheme)
		}
		_, ok := ParseBearerChallenge(tt.header)
		if !slices.Equal(schemes, tt.schemes) || ok != tt.bearer {
			t.Errorf("%q: schemes %q, Bearer %v; want %q, %v", tt.header, schemes, ok, tt.schemes, tt.bearer)
		}
	}
}
