import { createHash, createHmac, randomBytes } from "node:crypto";
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";
import { constantTimeEqual } from "../lib/tokens.ts";

/** OpenID Connect relying party: authorization code flow with PKCE, and bearer-JWT verification. */
export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  stateKey: Buffer;
}

interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
}

export interface OidcIdentity {
  issuer: string;
  subject: string;
  email: string | undefined;
  emailVerified: boolean;
}

export class OidcClient {
  private discovery?: Promise<Discovery>;
  private jwks?: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly s: OidcSettings) {}

  private discover(): Promise<Discovery> {
    this.discovery ??= (async () => {
      const url = `${this.s.issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
      const res = await fetch(url);
      if (!res.ok) throw new Error(`OIDC discovery at ${url} answered ${res.status}`);
      const d = (await res.json()) as Discovery;
      if (d.issuer !== this.s.issuer) throw new Error(`OIDC issuer mismatch: configured ${this.s.issuer}, discovered ${d.issuer}`);
      this.jwks = createRemoteJWKSet(new URL(d.jwks_uri));
      return d;
    })().catch((err) => {
      this.discovery = undefined; // retry on the next sign-in instead of caching the failure
      throw err;
    });
    return this.discovery;
  }

  /** Returns where to send the browser and the signed cookie that carries state, nonce and verifier. */
  async start(returnTo: string): Promise<{ url: string; cookie: string }> {
    const d = await this.discover();
    const state = randomBytes(16).toString("base64url");
    const nonce = randomBytes(16).toString("base64url");
    const verifier = randomBytes(32).toString("base64url");
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    const url = new URL(d.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: this.s.clientId,
      redirect_uri: this.s.redirectUri,
      scope: "openid email profile",
      state,
      nonce,
      code_challenge: challenge,
      code_challenge_method: "S256",
    }).toString();
    const cookie = this.sign({ state, nonce, verifier, returnTo, exp: Date.now() + 10 * 60_000 });
    return { url: url.toString(), cookie };
  }

  async finish(params: { code: string; state: string; cookie: string | undefined }): Promise<{ identity: OidcIdentity; returnTo: string }> {
    const saved = params.cookie ? this.unsign(params.cookie) : null;
    if (!saved || saved.exp < Date.now()) throw new Error("sign-in expired or was started in another browser; start again");
    if (!constantTimeEqual(saved.state, params.state)) throw new Error("sign-in state does not match; start again");
    const d = await this.discover();
    const res = await fetch(d.token_endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(this.s.clientId)}:${encodeURIComponent(this.s.clientSecret)}`).toString("base64")}`,
      },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: params.code,
        redirect_uri: this.s.redirectUri,
        code_verifier: saved.verifier,
      }),
    });
    if (!res.ok) throw new Error(`the identity provider refused the sign-in code (${res.status})`);
    const body = (await res.json()) as { id_token?: string };
    if (!body.id_token) throw new Error("the identity provider returned no id_token");
    const claims = await this.verify(body.id_token);
    if (claims.nonce !== saved.nonce) throw new Error("id_token nonce does not match; start again");
    return { identity: toIdentity(claims), returnTo: saved.returnTo };
  }

  /** Verifies a JWT issued by the configured provider for this client (the seed's Clerk JWT). */
  async verify(token: string): Promise<JWTPayload> {
    await this.discover();
    const { payload } = await jwtVerify(token, this.jwks as ReturnType<typeof createRemoteJWKSet>, {
      issuer: this.s.issuer,
      audience: this.s.clientId,
    });
    if (!payload.sub) throw new Error("token has no subject");
    return payload;
  }

  identityOf(payload: JWTPayload): OidcIdentity {
    return toIdentity(payload);
  }

  private sign(data: object): string {
    const body = Buffer.from(JSON.stringify(data)).toString("base64url");
    return `${body}.${createHmac("sha256", this.s.stateKey).update(body).digest("base64url")}`;
  }

  private unsign(cookie: string): { state: string; nonce: string; verifier: string; returnTo: string; exp: number } | null {
    const [body, mac] = cookie.split(".");
    if (!body || !mac) return null;
    const expected = createHmac("sha256", this.s.stateKey).update(body).digest("base64url");
    if (!constantTimeEqual(mac, expected)) return null;
    try {
      return JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    } catch {
      return null;
    }
  }
}

function toIdentity(p: JWTPayload): OidcIdentity {
  return {
    issuer: p.iss as string,
    subject: p.sub as string,
    email: typeof p.email === "string" ? p.email.toLowerCase() : undefined,
    emailVerified: p.email_verified === true,
  };
}
