package mcpclient

import (
	"bytes"
	"context"
	"os"
	"reflect"
	"time"

	"github.com/mcptray/mcptray/mcpclient/config"
)

// apply starts, rebuilds and stops upstreams to match cfg: only servers
// whose entry changed are touched.
func (h *Hub) apply(cfg *config.Config) {
	defer h.changed() // after the unlock below
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.cfg
	h.cfg = cfg
	h.cfgErr = ""
	if old != nil && old.CredentialStore != cfg.CredentialStore && h.creds != nil {
		if inUse, restart := h.creds.setMode(cfg.CredentialStore); restart {
			h.log.Warn("credentialStore changed in the config; the hub keeps the store it opened until it restarts", "configured", cfg.CredentialStore, "using", inUse)
		} else {
			h.log.Info("credentialStore changed in the config; in effect now", "configured", cfg.CredentialStore)
		}
	}
	g := globalSettings{CAFile: cfg.CAFile, Limits: cfg.Limits, ClientMetadataURL: cfg.ClientMetadataURL}
	globalChanged := old != nil && (old.CAFile != cfg.CAFile || old.Limits != cfg.Limits || old.ClientMetadataURL != cfg.ClientMetadataURL)
	for name, u := range h.servers {
		if _, ok := cfg.Servers[name]; !ok {
			h.log.Info("server removed from config", "server", name)
			h.cancels[name]()
			delete(h.servers, name)
			delete(h.cancels, name)
			_ = u
		}
	}
	for name, sc := range cfg.Servers {
		u := h.servers[name]
		if u == nil {
			u = newSupervisor(name, sc, g, supervisorDeps{
				tuning: h.opts.Tuning, log: h.log, notify: h.changed, creds: h.creds, home: h.opts.Home,
				openBrowser: h.opts.OpenBrowser, noAutoLogin: h.opts.NoAutoLogin,
				clientMetadataURL: h.opts.ClientMetadataURL, secrets: h.secrets,
			})
			uctx, cancel := context.WithCancel(h.runCtx)
			h.servers[name] = u
			h.cancels[name] = cancel
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				u.run(uctx)
				u.closeDownstreams()
			}()
			continue
		}
		oldSC, _ := u.config()
		if globalChanged || !reflect.DeepEqual(oldSC, sc) {
			h.log.Info("server config changed; rebuilding", "server", name)
			u.reconfigure(sc, g)
		}
	}
}

// watchConfig polls the config file and applies edits. An invalid edit is
// reported and the running config kept.
func (h *Hub) watchConfig(ctx context.Context) {
	t := time.NewTicker(h.opts.ReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b, err := os.ReadFile(h.opts.ConfigPath)
		if err != nil {
			continue
		}
		h.mu.Lock()
		same := bytes.Equal(b, h.cfgHash)
		h.mu.Unlock()
		if same {
			continue
		}
		cfg, err := config.Parse(h.opts.ConfigPath, b)
		h.mu.Lock()
		h.cfgHash = b
		h.mu.Unlock()
		if err != nil {
			h.log.Error("config edit rejected; keeping the running config", "err", err)
			h.mu.Lock()
			h.cfgErr = err.Error()
			h.mu.Unlock()
			h.changed()
			continue
		}
		h.log.Info("config reloaded")
		h.apply(cfg)
	}
}

// Reload applies the config file now (the watcher does it within a second).
func (h *Hub) Reload() error {
	b, err := os.ReadFile(h.opts.ConfigPath)
	if err != nil {
		return err
	}
	cfg, err := config.Parse(h.opts.ConfigPath, b)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.cfgHash = b
	h.mu.Unlock()
	h.apply(cfg)
	return nil
}

// ConfigError is the last rejected config edit, if any.
func (h *Hub) ConfigError() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.secrets.Scrub(h.cfgErr)
}
