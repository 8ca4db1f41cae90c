// The official TypeScript SDK client (StreamableHTTPClientTransport)
// against the hub's loopback endpoint, as an IDE that reaches servers by
// URL would use it. Run by httpsdk_test.go:
//   node client.cjs SCENARIO
// with MCPTRAY_NPM_DIR, MCP_URL and MCP_TOKEN in the environment. Prints
// one JSON line per step ({"step": …, …}) and exits non-zero on failure.
const path = require('path');
const sdk = (p) => require(path.join(process.env.MCPTRAY_NPM_DIR, 'node_modules/@modelcontextprotocol/sdk/dist/cjs', p));
const { Client } = sdk('client/index.js');
const { StreamableHTTPClientTransport, StreamableHTTPError } = sdk('client/streamableHttp.js');
const { ElicitRequestSchema } = sdk('types.js');

const url = new URL(process.env.MCP_URL);
const token = process.env.MCP_TOKEN;
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

async function connect() {
  const client = new Client({ name: 'sdk-test-ide', version: '1.0.0' }, { capabilities: { elicitation: {} } });
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    out({ step: 'elicitation-asked', message: req.params.message });
    return { action: 'accept', content: { name: 'Ada Lovelace', check: true, email: 'ada@example.com', integer: 42 } };
  });
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  await client.connect(transport);
  return { client, transport };
}

const text = (r) => (r.content && r.content[0] && r.content[0].text) || JSON.stringify(r);

async function fidelity() {
  const { client, transport } = await connect();
  out({ step: 'connected', session: transport.sessionId, server: client.getServerVersion(), protocol: transport.protocolVersion });

  const tools = await client.listTools();
  out({ step: 'tools', names: tools.tools.map((t) => t.name) });
  out({ step: 'echo', text: text(await client.callTool({ name: 'echo', arguments: { message: 'hello sdk' } })) });

  const resources = await client.listResources();
  const first = resources.resources[0];
  const read = await client.readResource({ uri: first.uri });
  out({ step: 'resources', count: resources.resources.length, readUri: read.contents[0].uri, asked: first.uri });
  const templates = await client.listResourceTemplates();
  out({ step: 'templates', count: templates.resourceTemplates.length });

  const prompts = await client.listPrompts();
  const simple = await client.getPrompt({ name: 'simple-prompt' });
  const args = await client.getPrompt({ name: 'args-prompt', arguments: { city: 'Paris', state: 'Texas' } });
  out({ step: 'prompts', names: prompts.prompts.map((p) => p.name), simple: simple.messages.length, args: JSON.stringify(args.messages) });

  const progress = [];
  const long = await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 4 } }, undefined, {
    onprogress: (p) => progress.push(p.progress),
  });
  out({ step: 'progress', progress, text: text(long) });

  const elicited = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
  out({ step: 'elicitation', text: JSON.stringify(elicited) });

  // Cancel: the SDK sends notifications/cancelled and rejects the call.
  const ac = new AbortController();
  const started = Date.now();
  const p = client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 20, steps: 20 } }, undefined, { signal: ac.signal });
  setTimeout(() => ac.abort('the user pressed stop'), 300);
  let cancelled = false;
  try { await p; } catch (e) { cancelled = true; }
  out({ step: 'cancel', cancelled, ms: Date.now() - started });
  out({ step: 'after-cancel', text: text(await client.callTool({ name: 'echo', arguments: { message: 'still here' } })) });

  await transport.terminateSession();
  out({ step: 'terminated', session: transport.sessionId === undefined });
  await client.close();
}

// reinit: one call, then (when told on stdin) another; a 404 for the
// session makes it start a new session, as the transport spec says a
// client MUST, and call again.
async function reinit() {
  let { client, transport } = await connect();
  out({ step: 'connected', session: transport.sessionId });
  out({ step: 'call', text: text(await client.callTool({ name: 'echo', arguments: { message: 'before' } })) });
  await new Promise((resolve) => process.stdin.once('data', resolve));
  try {
    const r = await client.callTool({ name: 'echo', arguments: { message: 'after' } });
    out({ step: 'call', text: text(r), reinitialized: false });
  } catch (e) {
    const code = e instanceof StreamableHTTPError ? e.code : undefined;
    out({ step: 'failed', code, error: String(e) });
    if (code !== 404) throw e;
    await client.close().catch(() => {});
    ({ client, transport } = await connect());
    out({ step: 'call', text: text(await client.callTool({ name: 'echo', arguments: { message: 'after' } })), reinitialized: true, session: transport.sessionId });
  }
  await client.close();
}

const scenarios = { fidelity, reinit };
scenarios[process.argv[2]]().then(() => process.exit(0), (e) => {
  out({ step: 'error', error: String(e && e.stack || e) });
  process.exit(1);
});
