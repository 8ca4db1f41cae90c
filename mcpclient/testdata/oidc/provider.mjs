// A real OAuth 2.1 authorization server for mcptray's end-to-end tests:
// oidc-provider (npm, pinned in .ci/npm) configured the way an MCP
// deployment would be:
//
//   - open dynamic client registration (RFC 7591), loopback redirect URIs
//     for native clients;
//   - PKCE required for every client;
//   - resource indicators (RFC 8707): the MCP server's URL is the only
//     resource; its access tokens are opaque, audience-restricted to it,
//     carry the scope mcp:tools and live ACCESS_TOKEN_TTL seconds;
//   - refresh tokens for every client allowed the refresh_token grant,
//     rotated on every use (reuse of a rotated one revokes the grant);
//   - revocation (RFC 7009) and introspection (RFC 7662; the resource
//     server authenticates as RS_CLIENT_ID / RS_CLIENT_SECRET);
//   - a login page (username/password form: alice / PASSWORD) and a
//     consent page, for a real browser to fill in;
//   - with DEVICE_FLOW=1, the device authorization grant (RFC 8628), with
//     its code input, confirmation and success pages marked for a browser
//     (data-page device-input, device-confirm, device-success).
//
// A few /admin/* endpoints let the test look at and steer the server:
//
//   GET  /admin/stats               grants by type, errors by type, …
//   GET  /admin/secrets             every token, code and verifier seen
//                                   (the test checks that none of them
//                                   leaks into logs; it never prints them)
//   POST /admin/revoke-grants       revoke every grant (and all its tokens)
//   POST /admin/drop-access-tokens  delete the access tokens only
//   POST /admin/hold-refresh?on=1   hold refresh_token grants until ?on=0
//
// Usage: node provider.mjs PORT, with OIDC_PROVIDER_MODULE (the path of
// oidc-provider's lib/index.js), MCP_RESOURCE, ACCESS_TOKEN_TTL,
// RS_CLIENT_ID, RS_CLIENT_SECRET and PASSWORD in the environment. It
// listens on 127.0.0.1 only and prints "listening URL" when ready. Logs
// name methods and paths, never query strings or bodies.

import http from 'node:http';
import { pathToFileURL } from 'node:url';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined || v === '') {
    console.error(`provider.mjs: ${name} is not set`);
    process.exit(2);
  }
  return v;
};

const port = Number(process.argv[2] ?? env('PORT'));
const resource = env('MCP_RESOURCE');
const ttl = Number(env('ACCESS_TOKEN_TTL', '15'));
const rsClientID = env('RS_CLIENT_ID');
const rsClientSecret = env('RS_CLIENT_SECRET');
const password = env('PASSWORD');
const username = 'alice';
const scope = 'mcp:tools';

const { default: Provider, errors } = await import(pathToFileURL(env('OIDC_PROVIDER_MODULE')).href);

const issuer = `http://127.0.0.1:${port}`;

// ---- test hooks --------------------------------------------------------

const stats = {
  grants: {}, // grant_type → successful token responses
  errors: {}, // "grant_type:error" → failed token requests
  registrations: 0,
  logins: 0, // login form accepted
  badPasswords: 0,
  consents: 0,
  heldRefreshes: 0, // refresh grants currently held
  revokedGrants: 0,
  droppedAccessTokens: 0,
};
const secrets = new Set();
const grantIds = new Set();
const accessTokenIds = new Set();
let hold = null; // { promise, release } while refreshes are held

const remember = (...vals) => {
  for (const v of vals) if (typeof v === 'string' && v.length >= 8) secrets.add(v);
};

// ---- the provider ------------------------------------------------------

const configuration = {
  clients: [{
    client_id: rsClientID,
    client_secret: rsClientSecret,
    grant_types: [],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  async findAccount(ctx, id) {
    return { accountId: id, async claims() { return { sub: id }; } };
  },
  interactions: {
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  cookies: { keys: ['mcptray-e2e-cookie-key-not-a-secret'] },
  pkce: { required: () => true },
  scopes: ['openid', 'offline_access'],
  responseTypes: ['code'],
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true }, // open: no initial access token
    revocation: { enabled: true },
    introspection: { enabled: true },
    deviceFlow: {
      enabled: process.env.DEVICE_FLOW === '1',
      async userCodeInputSource(ctx, form, out, err) {
        ctx.body = layout('device-input', 'Enter the code', `${err ? '<p id="error">The code was not accepted.</p>' : ''}${form}
<button id="continue" type="submit" form="op.deviceInputForm">Continue</button>`);
      },
      async userCodeConfirmSource(ctx, form, client, deviceInfo, userCode) {
        ctx.body = layout('device-confirm', 'Confirm the code', `<p>Code <code id="user-code">${esc(userCode)}</code></p>${form}
<button id="confirm" type="submit" form="op.deviceConfirmForm">Continue</button>`);
      },
      async successSource(ctx) {
        ctx.body = layout('device-success', 'Device signed in', '<p>You can close this page.</p>');
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo(ctx, indicator) {
        if (indicator !== resource) {
          throw new errors.InvalidTarget('unknown resource indicator');
        }
        return { scope, audience: resource, accessTokenTTL: ttl, accessTokenFormat: 'opaque' };
      },
    },
  },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  expiresWithSession: async () => false,
  ttl: {
    AccessToken: ttl,
    AuthorizationCode: 60,
    Grant: 24 * 3600,
    Interaction: 600,
    RefreshToken: 24 * 3600,
    Session: 24 * 3600,
  },
  async extraTokenClaims(ctx) {
    if (hold && ctx?.oidc?.params?.grant_type === 'refresh_token') {
      stats.heldRefreshes++;
      try {
        await hold.promise;
      } finally {
        stats.heldRefreshes--;
      }
    }
    return undefined;
  },
};

const provider = new Provider(issuer, configuration);

provider.on('grant.success', (ctx) => {
  const gt = ctx.oidc.params.grant_type;
  stats.grants[gt] = (stats.grants[gt] ?? 0) + 1;
  const b = ctx.body ?? {};
  remember(b.access_token, b.refresh_token, ctx.oidc.params.code, ctx.oidc.params.code_verifier, ctx.oidc.params.refresh_token);
  console.log(`grant ${gt}: ok`);
});
provider.on('grant.error', (ctx, err) => {
  const key = `${ctx.oidc?.params?.grant_type ?? '?'}:${err.error ?? err.message}`;
  stats.errors[key] = (stats.errors[key] ?? 0) + 1;
  remember(ctx.oidc?.params?.code, ctx.oidc?.params?.code_verifier, ctx.oidc?.params?.refresh_token);
  console.log(`grant error ${key}: ${err.error_description ?? ''}`);
});
provider.on('registration_create.success', (ctx) => {
  stats.registrations++;
  remember(ctx.body?.registration_access_token, ctx.body?.client_secret);
});
provider.on('grant.saved', (grant) => { grantIds.add(grant.jti); });
provider.on('access_token.saved', (token) => { accessTokenIds.add(token.jti); remember(token.jti); });
provider.on('refresh_token.saved', (token) => { remember(token.jti); });
provider.on('authorization_code.saved', (code) => { remember(code.jti); });
provider.on('server_error', (ctx, err) => { console.log(`server error: ${err.stack}`); });

provider.use(async (ctx, next) => {
  await next();
  console.log(`${ctx.method} ${ctx.path} ${ctx.status}`);
});

// ---- login and consent pages ------------------------------------------

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const layout = (page, title, body) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)} · Test IdP</title>
<style>body{font-family:sans-serif;max-width:30em;margin:3em auto}label{display:block;margin:.5em 0}</style>
</head><body data-page="${page}"><h1>${esc(title)}</h1>${body}</body></html>`;

const loginPage = (uid, clientName, error) => layout('login', 'Sign in', `
<p>to continue to ${esc(clientName)}</p>
${error ? `<p id="error" role="alert">${esc(error)}</p>` : ''}
<form id="login-form" method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
<label>Username <input id="username" name="username" required></label>
<label>Password <input id="password" name="password" type="password" required></label>
<button id="sign-in" type="submit">Sign in</button>
</form>`);

const consentPage = (uid, clientName, details) => {
  const scopes = [
    ...(details.missingOIDCScope ?? []),
    ...Object.entries(details.missingResourceScopes ?? {}).flatMap(([r, s]) => s.map((x) => `${x} on ${r}`)),
  ];
  return layout('consent', 'Authorize', `
<p>${esc(clientName)} asks for access to your account:</p>
<ul>${scopes.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>
<form id="consent-form" method="post" action="/interaction/${esc(uid)}/confirm">
<button id="allow" type="submit">Allow</button>
</form>
<form id="deny-form" method="post" action="/interaction/${esc(uid)}/abort">
<button id="deny" type="submit">Deny</button>
</form>`);
};

async function readForm(req) {
  const chunks = [];
  let n = 0;
  for await (const c of req) {
    n += c.length;
    if (n > 64 * 1024) throw new Error('form too large');
    chunks.push(c);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, type, body) {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    send(res, 400, 'text/plain', 'interaction mismatch');
    return;
  }
  const { prompt, params, session } = details;
  const client = await provider.Client.find(params.client_id);
  const clientName = client?.clientName ?? params.client_id;

  if (req.method === 'GET' && !action) {
    const html = prompt.name === 'login' ? loginPage(uid, clientName) : consentPage(uid, clientName, prompt.details);
    send(res, 200, 'text/html; charset=utf-8', html);
    return;
  }
  if (req.method !== 'POST') {
    send(res, 405, 'text/plain', 'method not allowed');
    return;
  }
  switch (action) {
    case 'login': {
      const form = await readForm(req);
      if (prompt.name !== 'login') {
        send(res, 400, 'text/plain', 'not a login prompt');
        return;
      }
      if (form.get('username') !== username || form.get('password') !== password) {
        stats.badPasswords++;
        send(res, 200, 'text/html; charset=utf-8', loginPage(uid, clientName, 'Wrong username or password.'));
        return;
      }
      stats.logins++;
      await provider.interactionFinished(req, res, { login: { accountId: username } }, { mergeWithLastSubmission: false });
      return;
    }
    case 'confirm': {
      await readForm(req);
      if (prompt.name !== 'consent') {
        send(res, 400, 'text/plain', 'not a consent prompt');
        return;
      }
      const d = prompt.details;
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
      if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
      for (const [indicator, s] of Object.entries(d.missingResourceScopes ?? {})) {
        grant.addResourceScope(indicator, s.join(' '));
      }
      stats.consents++;
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    case 'abort': {
      await readForm(req);
      await provider.interactionFinished(req, res, {
        error: 'access_denied', error_description: 'the user declined',
      }, { mergeWithLastSubmission: false });
      return;
    }
    default:
      send(res, 404, 'text/plain', 'not found');
  }
}

// ---- admin endpoints ---------------------------------------------------

async function admin(req, res, path, query) {
  const json = (v) => send(res, 200, 'application/json', JSON.stringify(v));
  if (req.method === 'GET' && path === '/admin/stats') {
    json(stats);
    return;
  }
  if (req.method === 'GET' && path === '/admin/secrets') {
    json([...secrets]);
    return;
  }
  if (req.method !== 'POST') {
    send(res, 405, 'text/plain', 'method not allowed');
    return;
  }
  switch (path) {
    case '/admin/revoke-grants': {
      let n = 0;
      for (const id of grantIds) {
        await Promise.all([
          provider.AccessToken.revokeByGrantId(id),
          provider.RefreshToken.revokeByGrantId(id),
          provider.AuthorizationCode.revokeByGrantId(id),
        ]);
        await provider.Grant.adapter.destroy(id);
        n++;
      }
      grantIds.clear();
      stats.revokedGrants += n;
      console.log(`admin: revoked ${n} grants`);
      json({ revoked: n });
      return;
    }
    case '/admin/drop-access-tokens': {
      let n = 0;
      for (const id of accessTokenIds) {
        const t = await provider.AccessToken.find(id, { ignoreExpiration: true });
        if (t) {
          await t.destroy();
          n++;
        }
      }
      accessTokenIds.clear();
      stats.droppedAccessTokens += n;
      console.log(`admin: dropped ${n} access tokens`);
      json({ dropped: n });
      return;
    }
    case '/admin/hold-refresh': {
      if (query.get('on') === '1') {
        if (!hold) {
          let release;
          const promise = new Promise((r) => { release = r; });
          hold = { promise, release };
        }
      } else if (hold) {
        hold.release();
        hold = null;
      }
      console.log(`admin: hold refresh ${hold ? 'on' : 'off'}`);
      json({ holding: !!hold });
      return;
    }
    default:
      send(res, 404, 'text/plain', 'not found');
  }
}

// ---- server ------------------------------------------------------------

const callback = provider.callback();

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, issuer);
  try {
    const m = url.pathname.match(/^\/interaction\/([^/]+)(?:\/(login|confirm|abort))?$/);
    if (m) {
      console.log(`${req.method} /interaction/…${m[2] ? `/${m[2]}` : ''}`);
      await interaction(req, res, m[1], m[2]);
      return;
    }
    if (url.pathname.startsWith('/admin/')) {
      await admin(req, res, url.pathname, url.searchParams);
      return;
    }
  } catch (err) {
    console.log(`error on ${req.method} ${url.pathname}: ${err.message}`);
    if (!res.headersSent) send(res, 500, 'text/plain', 'internal error');
    return;
  }
  callback(req, res);
});

server.listen(port, '127.0.0.1', () => {
  console.log(`listening ${issuer}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    if (hold) hold.release();
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
