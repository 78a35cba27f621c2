// A real OpenID provider for tests: the certified npm package `oidc-provider` (installed by
// scripts/lib/install-oidc-provider), on 127.0.0.1 with an ephemeral port, one client
// registered for Coder. Prints `issuer <url>` once it answers, then serves until killed.
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

// The package lives under the tools folder, outside this tree: ESM ignores NODE_PATH, so it is
// imported by path from OIDC_PROVIDER_NODE_MODULES.
const modules = process.env.OIDC_PROVIDER_NODE_MODULES;
if (!modules) {
  process.stderr.write('OIDC_PROVIDER_NODE_MODULES is not set\n');
  process.exit(2);
}
const { default: Provider } = await import(
  pathToFileURL(path.join(modules, 'oidc-provider', 'lib', 'index.js')).href
);

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'coder',
      client_secret: 'a-test-client-secret-of-sufficient-length',
      redirect_uris: ['https://coder.example.com/api/v2/users/oidc/callback'],
    }],
    claims: { email: ['email', 'email_verified'], profile: ['name', 'preferred_username'] },
    features: { devInteractions: { enabled: false } },
  });
  server.on('request', provider.callback());
  process.stdout.write(`issuer ${issuer}\n`);
});
