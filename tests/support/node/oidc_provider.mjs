// A real OpenID provider for the tests (the certified `oidc-provider` package): authorization
// code + PKCE, refresh tokens, RP-initiated logout, and JWT access tokens for the "casehub"
// resource that the services verify with its JWKS, roles in the same claim they read.
// Configuration comes as JSON in OIDC_CONFIG: {port, accounts: {sub: {name, roles, org?}},
// clients: [...], machines: {client_id: {roles, org?}}}. Prints "ready <issuer>" once listening.
import { generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";

const config = JSON.parse(process.env.OIDC_CONFIG);
const issuer = `http://127.0.0.1:${config.port}`;
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid: "casehub-test", use: "sig", alg: "RS256" };
const SCOPE = "openid profile offline_access casehub";
// The APIs (a resource indicator must be an absolute URI; the tokens' audience is "casehub").
const RESOURCE = "urn:casehub:api";

function rolesOf(token) {
  const who = token.accountId ? config.accounts[token.accountId] : config.machines?.[token.clientId];
  return who ? { roles: who.roles, ...(who.org ? { org: who.org } : {}) } : {};
}

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys: [signingKey] },
  scopes: SCOPE.split(" "),
  claims: { openid: ["sub"], profile: ["name", "roles"] },
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  ttl: { AccessToken: config.accessTokenSeconds ?? 300, IdToken: 3600, RefreshToken: 86400, Session: 86400, Grant: 86400, Interaction: 600, AuthorizationCode: 60, ClientCredentials: 600 },
  cookies: { keys: ["casehub-test-cookie-key"] },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: "casehub",
        audience: "casehub",
        accessTokenTTL: config.accessTokenSeconds ?? 300,
        accessTokenFormat: "jwt",
        jwt: { sign: { alg: "RS256" } },
      }),
    },
  },
  async findAccount(ctx, sub) {
    const account = config.accounts[sub];
    if (!account) return undefined;
    return { accountId: sub, claims: async () => ({ sub, name: account.name, roles: account.roles }) };
  },
  async extraTokenClaims(ctx, token) {
    return rolesOf(token);
  },
  // Staff sign in every morning: no consent screen for the agency's own app, refresh tokens
  // for the one registered web client.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(SCOPE);
    grant.addOIDCClaims(["name", "roles"]);
    grant.addResourceScope(RESOURCE, "casehub");
    await grant.save();
    return grant;
  },
  async issueRefreshToken(ctx, client) {
    return client.grantTypeAllowed("refresh_token");
  },
});
provider.proxy = false;
const server = provider.listen(config.port, "127.0.0.1", () => {
  console.log(`ready ${issuer}`);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
