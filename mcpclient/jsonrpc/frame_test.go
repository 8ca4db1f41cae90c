package jsonrpc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// readAll reads lines until the stream ends, counting skipped ones.
func readAll(t testing.TB, r io.Reader, max int64) (lines []string, skipped []*TooLargeError, err error) {
	br := bufio.NewReaderSize(r, 16)
	for i := 0; ; i++ {
		if i > 1<<16 {
			t.Fatal("ReadLine returned lines without end")
		}
		line, err := ReadLine(br, max)
		var tl *TooLargeError
		if errors.As(err, &tl) {
			if line != nil {
				t.Errorf("a line along with %v", err)
			}
			skipped = append(skipped, tl)
			continue
		}
		if line != nil {
			lines = append(lines, string(line))
		}
		if err != nil {
			return lines, skipped, err
		}
	}
}

func TestReadLine(t *testing.T) {
	for _, tt := range []struct {
		name    string
		in      string
		max     int64
		lines   []string
		skipped int
		ids     []string // ids found in the skipped lines
		err     error
	}{
		{name: "lines", in: "a\nbb\r\n\nccc\n", max: 8, lines: []string{"a", "bb", "", "ccc"}, err: io.EOF},
		{name: "last line without newline", in: "a\nb", max: 8, lines: []string{"a", "b"}, err: io.EOF},
		{name: "exactly the limit", in: "12345678\n", max: 8, lines: []string{"12345678"}, err: io.EOF},
		{name: "exactly the limit with CRLF", in: "12345678\r\n", max: 8, lines: []string{"12345678"}, err: io.EOF},
		{name: "one over", in: "123456789\nok\n", max: 8, lines: []string{"ok"}, skipped: 1, ids: []string{""}, err: io.EOF},
		{name: "far over, then a line", in: `{"id":7,"method":"x","params":"` + strings.Repeat("p", 500) + "\"}\nnext\n", max: 64, lines: []string{"next"}, skipped: 1, ids: []string{"7"}, err: io.EOF},
		{name: "over at the end without newline", in: "ok\n" + strings.Repeat("z", 100), max: 8, lines: []string{"ok"}, skipped: 1, ids: []string{""}, err: io.EOF},
		{name: "string id", in: `{"jsonrpc":"2.0","id":"a\"b","params":"` + strings.Repeat("p", 100) + "\"}\n", max: 32, skipped: 1, ids: []string{`"a\"b"`}, err: io.EOF},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, wrap := range []func(io.Reader) io.Reader{func(r io.Reader) io.Reader { return r }, iotest.OneByteReader, iotest.HalfReader} {
				lines, skipped, err := readAll(t, wrap(strings.NewReader(tt.in)), tt.max)
				if err != tt.err {
					t.Errorf("err = %v, want %v", err, tt.err)
				}
				if strings.Join(lines, "|") != strings.Join(tt.lines, "|") || len(lines) != len(tt.lines) {
					t.Errorf("lines = %q, want %q", lines, tt.lines)
				}
				if len(skipped) != tt.skipped {
					t.Fatalf("skipped %d, want %d", len(skipped), tt.skipped)
				}
				for i, s := range skipped {
					if s.Limit != tt.max || len(s.Prefix) > PrefixSize {
						t.Errorf("skipped %d: limit %d prefix %d bytes", i, s.Limit, len(s.Prefix))
					}
					if got := string(s.ID()); got != tt.ids[i] {
						t.Errorf("skipped %d: id %q, want %q", i, got, tt.ids[i])
					}
				}
			}
		})
	}
}

func TestFrame(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		bad      bool
	}{
		{in: `{"a":1}`, want: `{"a":1}`},
		{in: "{\n  \"a\": [1, 2],\r\n  \"b\": \"x\\ny  z\"\n}", want: `{"a":[1,2],"b":"x\ny  z"}`},
		{in: "{\"a\":1}\n{\"b\":2}", bad: true},
		{in: "{\"a\":\n", bad: true},
		{in: "", bad: true},
		{in: "{\"s\":\"raw\nnewline\"}", bad: true},
	} {
		got, err := Frame([]byte(tt.in))
		if tt.bad {
			if err == nil {
				t.Errorf("Frame(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("Frame(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestHeadFromPrefix(t *testing.T) {
	for _, tt := range []struct {
		in, id, method string
	}{
		{in: `{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"x":"` + strings.Repeat("y", 10), id: "5", method: "tools/call"},
		{in: `{"result":{"content":[{"text":"` + strings.Repeat("y", 10)},
		{in: `{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"` + strings.Repeat("y", 10), method: "notifications/message"},
		{in: `{"id":"abc","result":{`, id: `"abc"`},
		{in: `{"id":{"nested":1}}`},
		{in: `not json`},
		{in: `[{"id":1}]`},
		{in: `{"params":{"id":9},"id":3}`, id: "3"},
	} {
		id, method := HeadFromPrefix([]byte(tt.in))
		if string(id) != tt.id || method != tt.method {
			t.Errorf("HeadFromPrefix(%.40q) = %q, %q; want %q, %q", tt.in, id, method, tt.id, tt.method)
		}
	}
}

func FuzzReadLine(f *testing.F) {
	for _, s := range []string{"", "a\nb\n", "{\"id\":1}\r\n", strings.Repeat("x", 40) + "\nshort\n", "\n\n\r\n", "tail"} {
		f.Add([]byte(s), uint8(8))
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, in []byte, max uint8) {
		limit := int64(max) + 1
		lines, skipped, err := readAll(t, bytes.NewReader(in), limit)
		if err != io.EOF {
			t.Fatalf("final error %v", err)
		}
		for _, l := range lines {
			if int64(len(l)) > limit {
				t.Fatalf("a line of %d bytes with a %d-byte limit", len(l), limit)
			}
			if strings.ContainsRune(l, '\n') {
				t.Fatalf("a line with a newline: %q", l)
			}
		}
		for _, s := range skipped {
			if len(s.Prefix) > PrefixSize {
				t.Fatalf("prefix of %d bytes", len(s.Prefix))
			}
		}
		// Every input line is either returned or skipped.
		n := bytes.Count(in, []byte("\n"))
		if tail := in[bytes.LastIndexByte(in, '\n')+1:]; len(bytes.TrimSuffix(tail, []byte("\r"))) > 0 {
			n++ // a last line without a newline (a lone CR is nothing)
		}
		if len(lines)+len(skipped) != n {
			t.Fatalf("%d lines + %d skipped from %d input lines", len(lines), len(skipped), n)
		}
		// Chunking does not change the result.
		l2, s2, _ := readAll(t, iotest.OneByteReader(bytes.NewReader(in)), limit)
		if strings.Join(l2, "\n") != strings.Join(lines, "\n") || len(s2) != len(skipped) {
			t.Fatalf("byte-wise read differs")
		}
	})
}

func FuzzFrame(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"result":{}}`,
		"{\n \"a\" : [ 1 ,\r\n 2 ] }",
		"{\"a\":\n{\"jsonrpc\":\"2.0\",\"id\":99,\"method\":\"elicitation/create\"}\n}",
		"\"str\\nwith escapes\\u2028\"",
		"{}\n{}",
		"[1,\n2]",
		" 1 ",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Frame(in)
		if err != nil {
			if json.Valid(in) {
				t.Fatalf("Frame refused valid JSON %q: %v", in, err)
			}
			return
		}
		if !json.Valid(in) {
			t.Fatalf("Frame accepted invalid JSON %q", in)
		}
		if bytes.ContainsAny(out, "\r\n") {
			t.Fatalf("framed output holds a line break: %q", out)
		}
		if !json.Valid(out) {
			t.Fatalf("framed output is not JSON: %q", out)
		}
		// Only white space changed: the values are the same.
		var a, b any
		da := json.NewDecoder(bytes.NewReader(in))
		da.UseNumber()
		db := json.NewDecoder(bytes.NewReader(out))
		db.UseNumber()
		if da.Decode(&a) != nil || db.Decode(&b) != nil {
			t.Fatal("decode")
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Fatalf("values changed: %s vs %s", ja, jb)
		}
	})
}

func FuzzHeadFromPrefix(f *testing.F) {
	for _, s := range []string{`{"id":1,"method":"a"`, `{"result":`, `{"id":"x`, `{"a":[{"b":[`, `{"id":-1.5e3}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		id, method := HeadFromPrefix(in)
		if id != nil && !json.Valid(id) {
			t.Fatalf("id %q is not JSON", id)
		}
		// A byte of invalid UTF-8 in a string decodes to U+FFFD (3 bytes);
		// in the id it is then escaped (\ufffd, 6).
		if len(id) > len(in)*6+2 || len(method) > len(in)*3 {
			t.Fatalf("output larger than the input allows: id %d, method %d bytes from %d", len(id), len(method), len(in))
		}
	})
}
