package transport

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// sseResult is what reading a whole stream produced.
type sseResult struct {
	events   []sseEvent
	tooLarge int // events dropped for their size
	err      error
	lastID   string
	retry    time.Duration
}

// readAllSSE calls Next until it fails with anything but an event too
// large (after which the reader carries on); the loop is bounded so that a
// reader that never stops cannot hang the test.
func readAllSSE(t testing.TB, r io.Reader, max int) sseResult {
	s := newSSEReader(r, int64(max))
	var res sseResult
	for i := 0; ; i++ {
		if i > 1<<16 {
			t.Fatalf("Next returned events without end")
		}
		ev, err := s.Next()
		if _, ok := IsTooLarge(err); ok {
			if ev != nil {
				t.Errorf("Next returned event %+v along with error %v", ev, err)
			}
			res.tooLarge++
			continue
		}
		if err != nil {
			if ev != nil {
				t.Errorf("Next returned event %+v along with error %v", ev, err)
			}
			res.err = err
			break
		}
		if ev == nil {
			t.Fatalf("Next returned neither an event nor an error")
		}
		e := *ev
		e.Data = bytes.Clone(e.Data)
		res.events = append(res.events, e)
	}
	res.lastID, res.retry = s.lastID, s.retry
	return res
}

func TestSSEReader(t *testing.T) {
	type ev = sseEvent
	tests := []struct {
		name     string
		in       string
		maxLine  int // the event size limit
		want     []ev
		tooLarge int
		err      error
		lastID   string
		retry    time.Duration
		// anyLastID: lastID is not checked (an id line that was never
		// dispatched; WHATWG would not count it, the reader does).
		anyLastID bool
	}{
		{name: "empty stream", in: "", err: io.EOF},
		{name: "one event", in: "data: hello\n\n", want: []ev{{Data: []byte("hello")}}, err: io.EOF},
		{name: "no space after colon", in: "data:hello\n\n", want: []ev{{Data: []byte("hello")}}, err: io.EOF},
		{name: "only one space stripped", in: "data:  two spaces\n\n", want: []ev{{Data: []byte(" two spaces")}}, err: io.EOF},
		{name: "colon in value kept", in: "data: {\"a\":\"b:c\"}\n\n", want: []ev{{Data: []byte(`{"a":"b:c"}`)}}, err: io.EOF},
		{name: "multi-line data", in: "data: {\"a\":\ndata: 1}\ndata:\ndata: end\n\n", want: []ev{{Data: []byte("{\"a\":\n1}\n\nend")}}, err: io.EOF},
		{name: "trailing empty data line keeps one newline", in: "data: a\ndata:\n\n", want: []ev{{Data: []byte("a\n")}}, err: io.EOF},
		{name: "CRLF", in: "event: message\r\nid: 7\r\ndata: {}\r\ndata: x\r\n\r\n", want: []ev{{ID: "7", Event: "message", Data: []byte("{}\nx")}}, err: io.EOF, lastID: "7"},
		{name: "mixed CRLF and LF", in: "data: a\r\n\ndata: b\n\r\n", want: []ev{{Data: []byte("a")}, {Data: []byte("b")}}, err: io.EOF},
		{name: "comment alone dispatches nothing", in: ": keep-alive\n\n:\n\ndata: x\n\n", want: []ev{{Data: []byte("x")}}, err: io.EOF},
		{name: "comment inside an event", in: "data: a\n: ping\ndata: b\n\n", want: []ev{{Data: []byte("a\nb")}}, err: io.EOF},
		{name: "comment looking like a field", in: ":data: no\ndata: yes\n\n", want: []ev{{Data: []byte("yes")}}, err: io.EOF},
		{name: "event name", in: "event: endpoint\ndata: /messages?session=1\n\n", want: []ev{{Event: "endpoint", Data: []byte("/messages?session=1")}}, err: io.EOF},
		{name: "event name does not carry over", in: "event: endpoint\ndata: /m\n\ndata: {}\n\n", want: []ev{{Event: "endpoint", Data: []byte("/m")}, {Data: []byte("{}")}}, err: io.EOF},
		{name: "event name without data is dropped", in: "event: ping\n\ndata: x\n\n", want: []ev{{Data: []byte("x")}}, err: io.EOF},
		{name: "last event name wins", in: "event: a\nevent: b\ndata: x\n\n", want: []ev{{Event: "b", Data: []byte("x")}}, err: io.EOF},
		{name: "id", in: "id: 42\ndata: x\n\n", want: []ev{{ID: "42", Data: []byte("x")}}, err: io.EOF, lastID: "42"},
		{name: "id after data in the same event", in: "data: x\nid: abc-1\n\n", want: []ev{{ID: "abc-1", Data: []byte("x")}}, err: io.EOF, lastID: "abc-1"},
		{name: "lastID persists over events without id", in: "id: 1\ndata: a\n\ndata: b\n\n", want: []ev{{ID: "1", Data: []byte("a")}, {Data: []byte("b")}}, err: io.EOF, lastID: "1"},
		{name: "id with NUL ignored", in: "id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n", want: []ev{{ID: "1", Data: []byte("a")}, {Data: []byte("b")}}, err: io.EOF, lastID: "1"},
		{name: "empty id resets lastID", in: "id: 1\ndata: a\n\nid\ndata: b\n\n", want: []ev{{ID: "1", Data: []byte("a")}, {Data: []byte("b")}}, err: io.EOF, lastID: ""},
		{name: "id without data updates lastID", in: "id: 9\n\n", err: io.EOF, lastID: "9"},
		{name: "retry", in: "retry: 1500\ndata: x\n\n", want: []ev{{Data: []byte("x"), Retry: 1500 * time.Millisecond}}, err: io.EOF, retry: 1500 * time.Millisecond},
		{name: "retry persists", in: "retry: 10\n\ndata: a\n\nretry: 20\ndata: b\n\ndata: c\n\n", want: []ev{
			{Data: []byte("a"), Retry: 10 * time.Millisecond},
			{Data: []byte("b"), Retry: 20 * time.Millisecond},
			{Data: []byte("c"), Retry: 20 * time.Millisecond},
		}, err: io.EOF, retry: 20 * time.Millisecond},
		{name: "bad retry ignored", in: "retry: 100\n\nretry: soon\nretry: -5\nretry: 1.5\ndata: x\n\n", want: []ev{{Data: []byte("x"), Retry: 100 * time.Millisecond}}, err: io.EOF, retry: 100 * time.Millisecond},
		{name: "priming event with empty data", in: "id: prime-1\ndata:\n\n", want: []ev{{ID: "prime-1", Data: []byte{}}}, err: io.EOF, lastID: "prime-1"},
		{name: "priming event with space-only data", in: "id: prime-1\nretry: 3000\ndata: \n\ndata: {}\n\n", want: []ev{
			{ID: "prime-1", Data: []byte{}, Retry: 3 * time.Second},
			{Data: []byte("{}"), Retry: 3 * time.Second},
		}, err: io.EOF, lastID: "prime-1", retry: 3 * time.Second},
		{name: "field name alone is empty data", in: "data\n\n", want: []ev{{Data: []byte{}}}, err: io.EOF},
		{name: "unknown fields ignored", in: "foo: bar\nDATA: no\ndata: yes\n\n", want: []ev{{Data: []byte("yes")}}, err: io.EOF},
		{name: "several blank lines between events", in: "\n\n\ndata: a\n\n\n\ndata: b\n\n\n", want: []ev{{Data: []byte("a")}, {Data: []byte("b")}}, err: io.EOF},
		{name: "non-ASCII data", in: "data: héllo ✓\n\n", want: []ev{{Data: []byte("héllo ✓")}}, err: io.EOF},

		// End of stream.
		{name: "final event without blank line", in: "data: {\"jsonrpc\":\"2.0\"}\n", err: io.ErrUnexpectedEOF},
		{name: "final event without newline", in: "data: {\"jsonrpc\":\"2.0\"}", err: io.ErrUnexpectedEOF},
		{name: "final event after a good one", in: "data: a\n\ndata: b\n", want: []ev{{Data: []byte("a")}}, err: io.ErrUnexpectedEOF},
		{name: "final event with CRLF without blank line", in: "data: a\r\n", err: io.ErrUnexpectedEOF},
		{name: "final event name without blank line", in: "event: message\n", err: io.ErrUnexpectedEOF},
		{name: "clean EOF after comment", in: "data: a\n\n: bye\n", want: []ev{{Data: []byte("a")}}, err: io.EOF},
		{name: "clean EOF after id-only block", in: "data: a\n\nid: 5\n\n", want: []ev{{Data: []byte("a")}}, err: io.EOF, lastID: "5"},
		{name: "clean EOF after an unterminated id line", in: "data: a\n\nid: 5\n", want: []ev{{Data: []byte("a")}}, err: io.EOF, anyLastID: true},

		// Line limit.
		{name: "line within limit", in: "data: 0123456789\n\n", maxLine: 64, want: []ev{{Data: []byte("0123456789")}}, err: io.EOF},
		{name: "line over limit", in: "data: " + strings.Repeat("x", 100) + "\n\n", maxLine: 32, tooLarge: 1, err: io.EOF},
		{name: "line over limit without newline", in: "data: " + strings.Repeat("x", 100), maxLine: 32, err: io.ErrUnexpectedEOF},
		{name: "line over limit after good events", in: "data: ok\n\ndata: " + strings.Repeat("x", 100) + "\n\n", maxLine: 32, want: []ev{{Data: []byte("ok")}}, tooLarge: 1, err: io.EOF},
		{name: "event over limit, then a good one", in: "data: " + strings.Repeat("x", 100) + "\nid: 7\n\ndata: ok\n\n", maxLine: 32, want: []ev{{Data: []byte("ok")}}, tooLarge: 1, err: io.EOF, lastID: "7"},
		{name: "many short lines add up beyond the event limit", in: strings.Repeat("data: 0123456789\n", 20) + "\ndata: next\n\n", maxLine: 32, want: []ev{{Data: []byte("next")}}, tooLarge: 1, err: io.EOF},
		{name: "many short lines within the event limit", in: strings.Repeat("data: 0123456789\n", 20) + "\n", maxLine: 1024, want: []ev{{Data: []byte(strings.TrimSuffix(strings.Repeat("0123456789\n", 20), "\n"))}}, err: io.EOF},
		{name: "line longer than the read buffer within limit", in: "data: " + strings.Repeat("y", 100<<10) + "\n\n", maxLine: 200 << 10, want: []ev{{Data: []byte(strings.Repeat("y", 100<<10))}}, err: io.EOF},
		{name: "line longer than the read buffer over limit", in: "data: " + strings.Repeat("y", 100<<10) + "\n\n", maxLine: 40 << 10, tooLarge: 1, err: io.EOF},
	}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"byte by byte", iotest.OneByteReader},
		{"half reads", iotest.HalfReader},
		{"EOF with data", iotest.DataErrReader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, rd := range readers {
				got := readAllSSE(t, rd.wrap(strings.NewReader(tt.in)), tt.maxLine)
				if got.err != tt.err {
					t.Errorf("%s: final error = %v, want %v", rd.name, got.err, tt.err)
				}
				if got.tooLarge != tt.tooLarge {
					t.Errorf("%s: %d events dropped for size, want %d", rd.name, got.tooLarge, tt.tooLarge)
				}
				if len(got.events) != len(tt.want) {
					t.Errorf("%s: got %d events %+v, want %d %+v", rd.name, len(got.events), got.events, len(tt.want), tt.want)
					continue
				}
				for i, w := range tt.want {
					g := got.events[i]
					if g.ID != w.ID || g.Event != w.Event || g.Retry != w.Retry || !bytes.Equal(g.Data, w.Data) {
						t.Errorf("%s: event %d = {ID:%q Event:%q Data:%q Retry:%v}, want {ID:%q Event:%q Data:%q Retry:%v}",
							rd.name, i, g.ID, g.Event, g.Data, g.Retry, w.ID, w.Event, w.Data, w.Retry)
					}
				}
				if !tt.anyLastID && got.lastID != tt.lastID {
					t.Errorf("%s: lastID = %q, want %q", rd.name, got.lastID, tt.lastID)
				}
				if got.retry != tt.retry {
					t.Errorf("%s: retry = %v, want %v", rd.name, got.retry, tt.retry)
				}
			}
		})
	}
}

func TestSSEReaderReadError(t *testing.T) {
	boom := errors.New("connection reset by peer")
	r := io.MultiReader(strings.NewReader("data: a\n\ndata: b\n"), iotest.ErrReader(boom))
	got := readAllSSE(t, r, 0)
	if got.err != boom {
		t.Errorf("final error = %v, want %v", got.err, boom)
	}
	if len(got.events) != 1 || string(got.events[0].Data) != "a" {
		t.Errorf("events = %+v, want only a", got.events)
	}
}

// TestSSEReaderStateAcrossEvents checks that lastID and retry, which the
// transport copies into a new reader when it resumes a stream, survive
// events and the final EOF.
func TestSSEReaderStateAcrossEvents(t *testing.T) {
	s := newSSEReader(strings.NewReader("retry: 250\nid: a\ndata: 1\n\nid: b\ndata: 2\n\n"), 0)
	ev, err := s.Next()
	if err != nil || ev.ID != "a" || s.lastID != "a" || s.retry != 250*time.Millisecond {
		t.Fatalf("first = %+v, %v; lastID %q retry %v", ev, err, s.lastID, s.retry)
	}
	ev, err = s.Next()
	if err != nil || ev.ID != "b" || s.lastID != "b" {
		t.Fatalf("second = %+v, %v; lastID %q", ev, err, s.lastID)
	}
	if _, err := s.Next(); err != io.EOF {
		t.Fatalf("third: %v, want io.EOF", err)
	}
	if s.lastID != "b" || s.retry != 250*time.Millisecond {
		t.Errorf("after EOF lastID %q retry %v", s.lastID, s.retry)
	}
}

func FuzzSSEReader(f *testing.F) {
	seeds := []string{
		"",
		"data: hello\n\n",
		"event: message\r\nid: 1\r\ndata: {\"jsonrpc\":\"2.0\"}\r\n\r\n",
		": comment\n\nretry: 100\nid: x\ndata:\n\n",
		"data: a\ndata: b\n\ndata: c",
		"id: \x00\ndata\n\n",
		"retry: 99999999999999999999\ndata: x\n\n",
		"event: endpoint\ndata: /messages\n\n",
		"\r\n\r\n\n\n:\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s), uint16(0))
		f.Add([]byte(s), uint16(8))
	}
	f.Fuzz(func(t *testing.T, in []byte, limit uint16) {
		maxLine := int(limit)
		whole := readAllSSE(t, bytes.NewReader(in), maxLine)
		switch whole.err {
		case io.EOF, io.ErrUnexpectedEOF:
		default:
			t.Fatalf("unexpected final error %v", whole.err)
		}
		// Every event takes at least "data\n\n"-like input: no event
		// comes from nothing.
		if len(whole.events) > len(in)/2 {
			t.Fatalf("%d events from %d bytes", len(whole.events), len(in))
		}
		if whole.retry < 0 {
			t.Fatalf("negative retry %v", whole.retry)
		}
		for _, ev := range whole.events {
			if bytes.ContainsRune([]byte(ev.ID), 0) {
				t.Fatalf("event id %q contains NUL", ev.ID)
			}
			if maxLine > 0 && (len(ev.Data) > maxLine || len(ev.Event) > maxLine+16) {
				t.Fatalf("event of %d data bytes (name %d) with a %d-byte limit", len(ev.Data), len(ev.Event), maxLine)
			}
		}
		// How the body is chunked must not change what is parsed.
		bytewise := readAllSSE(t, iotest.OneByteReader(bytes.NewReader(in)), maxLine)
		if bytewise.err != whole.err || len(bytewise.events) != len(whole.events) || bytewise.tooLarge != whole.tooLarge ||
			bytewise.lastID != whole.lastID || bytewise.retry != whole.retry {
			t.Fatalf("byte-wise read differs: %+v vs %+v", bytewise, whole)
		}
		for i := range whole.events {
			a, b := whole.events[i], bytewise.events[i]
			if a.ID != b.ID || a.Event != b.Event || a.Retry != b.Retry || !bytes.Equal(a.Data, b.Data) {
				t.Fatalf("event %d differs: %+v vs %+v", i, a, b)
			}
		}
	})
}
