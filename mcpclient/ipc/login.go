package ipc

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
)

// DeviceCode is the code of a device sign-in and the page to enter it on.
type DeviceCode struct {
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string // "" when the server gives none
}

// LoginUI is how `mcptray login` talks to the user during a sign-in.
// Every field may be nil or zero.
type LoginUI struct {
	// NoBrowser asks the hub to open no browser: the device grant when the
	// server offers it, else paste-back.
	NoBrowser bool
	// OnURL receives the sign-in URL (for when no browser opens, or to
	// open elsewhere).
	OnURL func(url string)
	// OnDeviceCode receives the code of a device sign-in.
	OnDeviceCode func(DeviceCode)
	// ReadPasted is called when the hub waits for the redirect URL to be
	// pasted back; it returns the next pasted line (an error ends the
	// sign-in). lastErr is why the previous paste was refused ("" for the
	// first). It runs on its own goroutine.
	ReadPasted func(ctx context.Context, lastErr string) (string, error)
}

// LoginWith runs a sign-in for server in the hub, as Login, with the
// device and paste-back steps of ui.
func (c *Client) LoginWith(ctx context.Context, server string, ui LoginUI) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn, r, rep, err := Open(ctx, c.Socket, Hello{Op: OpLogin, Server: server, Client: c.Name, NoBrowser: ui.NoBrowser})
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var wmu sync.Mutex
	readErr := make(chan error, 1)
	pasting := false
	paste := func(lastErr string) {
		go func() {
			line, err := ui.ReadPasted(ctx, lastErr)
			if err != nil {
				readErr <- err
				return
			}
			b, _ := json.Marshal(Pasted{RedirectURL: line})
			wmu.Lock()
			_, err = conn.Write(append(b, '\n'))
			wmu.Unlock()
			if err != nil {
				readErr <- err
			}
		}()
	}
	lines := make(chan *Reply)
	lineErr := make(chan error, 1)
	go func() {
		for {
			b, err := r.ReadBytes('\n')
			if err != nil {
				lineErr <- err
				return
			}
			var next Reply
			if err := json.Unmarshal(b, &next); err != nil {
				lineErr <- fmt.Errorf("the hub sent a malformed reply: %w", err)
				return
			}
			select {
			case lines <- &next:
			case <-ctx.Done():
				return
			}
		}
	}()
	for rep.Progress {
		switch {
		case rep.UserCode != "" && ui.OnDeviceCode != nil:
			ui.OnDeviceCode(DeviceCode{UserCode: rep.UserCode, VerificationURI: rep.VerificationURI, VerificationURIComplete: rep.VerificationURIComplete})
		case rep.URL != "" && ui.OnURL != nil:
			ui.OnURL(rep.URL)
		}
		if rep.Paste && ui.ReadPasted != nil && (!pasting || rep.PasteError != "") {
			pasting = true
			paste(rep.PasteError)
		}
		select {
		case rep = <-lines:
		case err := <-lineErr:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("the hub closed the connection: %w", err)
		case err := <-readErr:
			return fmt.Errorf("reading the pasted URL: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if !rep.OK {
		return rep.err()
	}
	return nil
}
