// Type declarations for tokenhelper.mjs: OAuth2 access tokens from the
// browser, with the tokenhelper Go core compiled to WebAssembly.

/** Where load() takes the WebAssembly module from. */
export interface LoadOptions {
  /**
   * A URL (default: tokenhelper.wasm beside this module), a fetch Response
   * or its Promise, the module's bytes, or a compiled WebAssembly.Module.
   */
  wasm?: string | URL | Response | Promise<Response> | BufferSource | WebAssembly.Module;
}

/**
 * Loads and starts the WebAssembly module once (streaming compile); every
 * call, concurrent or later, resolves to the same API. A failed load can
 * be retried.
 */
export function load(options?: LoadOptions): Promise<TokenHelper>;

/** Stops the module and releases its functions; load() starts a new one. */
export function unload(): Promise<void>;

/** Thrown by decodeJWT, with jwt-decode's messages. */
export class InvalidTokenError extends Error {}

/** A built-in provider profile id, or "custom" for any token URL. */
export type ProviderID = "alphaus-ripple" | "alphaus-wave" | "aluma" | "alluvial" | "alluvial-staging" | "custom";

/** What token to get and how; empty members take the profile's defaults. */
export interface CredentialOptions {
  /** Profile id; defaults to "custom" when tokenURL or issuer is set. */
  provider?: ProviderID | string;
  /** Replaces the profile's endpoint; required for "custom" unless issuer is set. https, or http on loopback. */
  tokenURL?: string;
  /**
   * A custom provider's issuer (RFC 8414): without tokenURL, the token
   * endpoint is discovered from its metadata (RFC 8414's
   * /.well-known/oauth-authorization-server, then OpenID Connect's
   * /.well-known/openid-configuration), whose `issuer` must equal this one
   * exactly (mix-up defence). With a client assertion it is the audience.
   */
  issuer?: string;
  /** Body format, chosen by "custom" only (default "form"). */
  encoding?: "multipart" | "form" | "json";
  /**
   * How the client authenticates, "custom" only (default "body"): the
   * credentials in the body, HTTP Basic, or a signed client assertion
   * (RFC 7523 2.2): "private_key_jwt" with clientAssertionKey,
   * "client_secret_jwt" with clientSecret (HS256, 32 bytes or more).
   */
  authStyle?: "body" | "basic" | "private_key_jwt" | "client_secret_jwt";
  /**
   * private_key_jwt's PEM PKCS #8 private key ("BEGIN PRIVATE KEY"): RSA of
   * 2048 bits or more (RS256), EC P-256/384/521 (ES256/384/512) or Ed25519
   * (EdDSA). Imported into WebCrypto non-extractable and signed there;
   * like a secret in a page it stays in this browser: never stored,
   * broadcast to other tabs or logged by this module.
   */
  clientAssertionKey?: string;
  /** The `kid` of private_key_jwt's assertions, for a server holding several keys of the client. */
  clientAssertionKid?: string;
  /** Default "client_credentials". */
  grantType?: "client_credentials" | "password" | "refresh_token";
  clientId?: string;
  /** Stays in this browser: prefer a worker for anything shared. */
  clientSecret?: string;
  /** Required by the password grant. */
  username?: string;
  password?: string;
  /** Required by the refresh_token grant. */
  refreshToken?: string;
  scope?: string;
  /** Required by Auth0-style endpoints (alluvial). */
  audience?: string;
  /**
   * RFC 8707 resource indicators (absolute URIs): an array, or one string
   * of space-separated URIs. Standard servers such as oidc-provider take
   * these where Auth0-style ones take `audience`.
   */
  resource?: string | string[];
  /**
   * A custom provider's DPoP (RFC 9449), which binds its tokens to this
   * origin's DPoP key (as `WorkerOptions.dpop`: non-extractable, in
   * IndexedDB, never exported). Each token request carries a proof (with
   * the server's nonce after a `use_dpop_nonce` answer, retried once); the
   * provider answers `token_type: "DPoP"`, and a source's `fetch` sends
   * `Authorization: DPoP` with a fresh proof (htu without query and
   * fragment, ath), answering an API's `use_dpop_nonce` 401 once with its
   * `DPoP-Nonce`. Cross-origin, the token endpoint and the API must allow
   * the `DPoP` request header and expose `DPoP-Nonce` (and the API
   * `WWW-Authenticate`). Refused for built-in providers. Default false.
   */
  dpop?: boolean;
}

/** Options of createTokenSource only. */
export interface SourceOptions {
  /**
   * Share tokens with the sources of the same options in the origin's other
   * tabs and workers (default true): one request among them, elected by the
   * Web Locks API, the token handed round by a BroadcastChannel (access
   * token, type and expiry only; never a refresh token or a secret), all in
   * memory. Only sources with the same credentials share: the names are
   * keyed by a fingerprint of the secret, password, refresh token and
   * assertion key (PBKDF2 with WebCrypto), so that a tab given a wrong
   * secret neither gets nor replaces the right one's token. Without
   * navigator.locks, BroadcastChannel or WebCrypto, each tab asks.
   */
  shareAcrossTabs?: boolean;
}

/** Get tokens from a deployed tokenhelper Worker: no secret in the browser. */
export interface WorkerOptions {
  /** The worker's token URL, e.g. "https://tokens.example.workers.dev/token". */
  worker: string;
  /**
   * "include" sends the page's cookies for the worker's origin (an access
   * proxy in front of the worker, such as Cloudflare Access, reads its
   * cookie); the default "omit" sends none.
   */
  credentials?: "omit" | "include";
  /**
   * Asked before each request to the worker for the caller's JWT (say the
   * id_token of the app's own sign-in), sent as `Authorization: Bearer` to
   * a worker whose caller gate is on (CALLER_JWKS_URL).
   */
  callerToken?: () => string | Promise<string>;
  /**
   * Bind the tokens to this origin's DPoP key (RFC 9449): a non-extractable
   * WebCrypto P-256 key kept in IndexedDB (shared by the origin's tabs and
   * reloads, never exported). Each POST to the worker carries a proof by it,
   * the worker (DPOP allowed or required) answers `token_type: "DPoP"`, and
   * a source's `fetch` sends each call with `Authorization: DPoP` and a
   * fresh proof. A token copied out of the page is then useless without
   * the key; a script running in the page can still use the key while it
   * runs. Default false.
   */
  dpop?: boolean;
}

export type TokenOptions = CredentialOptions | WorkerOptions;

/** A token request exactly as it is sent. */
export interface TokenRequest {
  url: string;
  method: string;
  /** Headers as sent, by canonical name (an Authorization header holds the secret). */
  headers: Record<string, string>;
  /** The body as sent; it holds the secret. */
  body: string;
  /** The parameters in the order sent; secret values are "****". */
  fields: { name: string; value: string; secret: boolean }[];
  /** A curl command for the request, every secret replaced by "****". */
  curl: string;
  /** headers and body with every secret replaced by "****", for display. */
  redacted: { headers: Record<string, string>; body: string };
}

/** An access token and what came with it (RFC 6749 5.1). */
export interface Token {
  access_token: string;
  /** "Bearer" for any spelling of bearer. */
  token_type: string;
  /** Lifetime in seconds as sent by the provider; 0 if absent. */
  expires_in: number;
  /** When it expires, in milliseconds since the epoch (Date.now() scale); 0 if unknown. */
  expires_at: number;
  /** When it was received, in milliseconds since the epoch. */
  obtained_at: number;
  id_token?: string;
  refresh_token?: string;
  scope?: string;
  /** The access token's claims when it is a JWT (decoded, not verified). */
  claims?: Record<string, unknown>;
  /**
   * requestToken only: every member of the answer as received, in its
   * order (the provider's JSON, a urlencoded answer as strings; in worker
   * mode what the worker returned), the tokens included: for display,
   * where the other members are the ones to use. A client secret or
   * password the answer echoed is "****". Absent from a source's tokens.
   */
  raw?: Record<string, unknown>;
}

/** Why a token could not be obtained. Never holds a secret. */
export interface TokenHelperError extends Error {
  name: "TokenHelperError";
  /**
   * The provider's RFC 6749 5.2 code (invalid_client, invalid_grant, …) or
   * one of config, network (also CORS refusals), timeout, bad_response.
   */
  code: string;
  /** HTTP status, 0 when no answer was received. */
  status: number;
  description?: string;
  /** The option at fault, for code "config". */
  field?: string;
  uri?: string;
  /** Seconds the provider asked to wait (Retry-After). */
  retryAfter?: number;
}

/** Options of every async call. */
export interface CallOptions {
  /**
   * Aborting it rejects the call at once with an AbortError and cancels its
   * request, unless other callers still wait for the same one.
   */
  signal?: AbortSignal;
}

/** How an aborted call rejects. */
export interface AbortError extends Error {
  name: "AbortError";
  code: "aborted";
  status: 0;
}

/** A token as the tabs hand it round: no refresh token, ID token or claims. */
export type SharedToken = Pick<Token, "access_token" | "token_type" | "expires_in" | "expires_at" | "obtained_at">;

/** Dispatched by a source when it obtains a new token (in any tab, when shared). */
export interface TokenEvent extends Event {
  readonly type: "token";
  readonly token: Token | SharedToken;
}

/** Tokens cached until shortly before expiry, one request in flight. */
export interface TokenSource extends EventTarget {
  /** The current token, obtained or renewed when needed. Rejects with a TokenHelperError or an AbortError. */
  getToken(options?: CallOptions): Promise<Token>;
  /**
   * fetch with Authorization: Bearer; on 401, one retry with a renewed
   * token. At most one renewal a minute is forced this way: within that
   * floor the API's 401 is returned as it is, without a token request.
   * With `{ worker }`, a relative URL string is resolved against the
   * worker's URL: in the worker's mode mint, `fetch("/api/items")` calls the
   * API through the worker with a minted token, renewed as it expires.
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  addEventListener(type: "token", listener: (ev: TokenEvent) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  /** Drops the given token (default: the last one handed out). */
  invalidate(token?: string | Token): void;
  /** Forgets the source; also done when it is garbage collected. */
  close(): void;
}

/** What discover() takes from an issuer's metadata. */
export interface Metadata {
  issuer: string;
  token_endpoint: string;
  /** Empty when the server lists none (RFC 8414: client_secret_basic then). */
  token_endpoint_auth_methods_supported: string[];
  dpop_signing_alg_values_supported: string[];
}

/** A built-in provider profile. */
export interface Provider {
  id: ProviderID;
  name: string;
  tokenURL: string;
  encoding: "" | "multipart" | "form" | "json";
  grants: string[];
  scope: string;
  audience: string;
  needsAudience: boolean;
  notes: string;
}

export interface TokenHelper {
  /**
   * The payload (or, with { header: true }, the header) of a JWT, NOT
   * verified; jwt-decode's semantics and messages. Throws InvalidTokenError.
   */
  decodeJWT<T = Record<string, unknown>>(token: string, options?: { header?: boolean }): T;
  /** The request the options describe. Throws a TokenHelperError (code "config"). */
  buildTokenRequest(options: TokenOptions): TokenRequest;
  /** One token, with up to 3 attempts for network errors, 429 and 5xx. */
  requestToken(options: TokenOptions, call?: CallOptions): Promise<Token>;
  /** A caching source, shared across tabs by default. Throws a TokenHelperError (code "config"). */
  createTokenSource(options: TokenOptions & SourceOptions): TokenSource;
  /** The built-in provider profiles, "custom" last. */
  providers(): Provider[];
  /**
   * An issuer's metadata (RFC 8414, then OpenID Connect Discovery), fetched
   * with the page's fetch (the server must send CORS) and kept an hour;
   * rejects when the document's issuer differs from the one asked for.
   */
  discover(issuer: string): Promise<Metadata>;
  /**
   * A client assertion as the options send it (authStyle private_key_jwt
   * or client_secret_jwt), decoded: its header and claims, for display.
   * Each request signs a new one (new jti, iat, exp); the signed JWS, a
   * credential while it is valid, is not handed out.
   */
  clientAssertion(options: CredentialOptions): Promise<{ header: Record<string, unknown>; claims: Record<string, unknown> }>;
  /**
   * A DPoP proof (RFC 9449) by this origin's key (see `dpop`) for one
   * request: for a DPoP token used outside a source's `fetch`, send it as
   * the `DPoP` header with `Authorization: DPoP <token>`, with the
   * server's `DPoP-Nonce` when it asked for one. Each proof is good for
   * one request.
   */
  dpopProof(method: string, url: string, accessToken?: string, nonce?: string): Promise<string>;
}
