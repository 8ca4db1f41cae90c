package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"

	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// sockSession is a session on the hub's socket from this process: the
// bridge's path without the bridge process. It is a diagnostic target of
// BenchmarkCallInterleaved that splits the bridge's added latency into the
// hub's share and the bridge process's. One call at a time.
type sockSession struct {
	mu   sync.Mutex
	c    net.Conn
	r    *bufio.Reader
	next int
}

func newSockSession(ctx context.Context, home string) (*sockSession, error) {
	c, r, rep, err := ipc.Open(ctx, paths.Socket(home), ipc.Hello{Op: ipc.OpAttach, Server: serverName, Client: "bench-socket"})
	if err != nil {
		return nil, err
	}
	if !rep.OK {
		c.Close()
		return nil, fmt.Errorf("attach refused: %s", rep.Error)
	}
	s := &sockSession{c: c, r: r}
	if _, err := s.roundTrip(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":` + string(initializeParams) + `}`); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := io.WriteString(c, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n"); err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

func (s *sockSession) roundTrip(line string) ([]byte, error) {
	if _, err := io.WriteString(s.c, line+"\n"); err != nil {
		return nil, err
	}
	return s.r.ReadBytes('\n')
}

func (s *sockSession) callEcho(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	res, err := s.roundTrip(`{"jsonrpc":"2.0","id":` + strconv.Itoa(s.next) + `,"method":"tools/call","params":` + string(echoParams) + `}`)
	if err != nil {
		return err
	}
	if !bytes.Contains(res, echoWant) || bytes.Contains(res, []byte(`"isError":true`)) {
		return fmt.Errorf("unexpected echo answer %.300s", res)
	}
	return nil
}

func (s *sockSession) close() { s.c.Close() }
