/** The shape of a sign-in method (bearer, basic, OAuth2, ...): one entry of the table in index.ts. */
import type { AxiosInstance } from 'axios';
import type { CheckedEndpoint } from '../../core/check';
import type { OptionSpec, Settings } from '../../core/options';

/** A request as it goes on the wire: what a signing method (SigV4) signs. */
export interface OutgoingRequest {
  readonly method: string;
  readonly url: URL;
  /** The headers set so far, names lower-cased. */
  readonly headers: Readonly<Record<string, string>>;
  /** The exact bytes of the body; computed only when a method asks. */
  body(): Uint8Array;
}

/** A server's refusal of a request (401 or 403), with the sign-in headers that request carried. */
export interface Rejection {
  readonly status: number;
  /** The first kilobyte of the answer: AWS says ExpiredTokenException there. */
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly sent: Readonly<Record<string, string>>;
}

export interface Auth {
  readonly kind: string;
  /** The sign-in headers for this request (Authorization; SigV4 adds its date and token). */
  headers(req: OutgoingRequest): Promise<Record<string, string>>;
  /**
   * Called after the server refused a request. Resolves true when new credentials give a retry
   * a chance (the secret changed, a fresh token, rotated keys); the retry asks headers() again.
   */
  refresh(rejected: Rejection): Promise<boolean>;
  /** Doctor's word on the credential in hand (where from, until when); fetches it if needed. */
  status?(): Promise<string>;
}

/**
 * The Auth of a method that only sets Authorization: `refreshed` gets the header that was
 * refused and resolves with a new one, or undefined when nothing changed. A 403 says the
 * credential is valid but lacks permission: a new copy of it would not help.
 */
export function headerAuth(
  kind: string,
  header: () => Promise<string>,
  refreshed: (rejected: string | undefined) => Promise<string | undefined>,
): Auth {
  return {
    kind,
    headers: async () => ({ authorization: await header() }),
    refresh: async (r) => r.status === 401 && (await refreshed(r.sent.authorization)) !== undefined,
  };
}

export interface AuthMethodEnv {
  /** A client without credentials, with the configured TLS (for a token endpoint). */
  tokenHttp(): AxiosInstance;
  /** Where a secret file's trouble is said. */
  warn(message: string): void;
}

export interface AuthMethod<Name extends string = string, O = unknown> {
  readonly name: Name;
  /** How a user calls it ("choose one of bearer token, basic auth or OAuth2"). */
  readonly title: string;
  readonly options: readonly OptionSpec[];
  /** The options that turn it on: the first one given is named when two methods are. */
  readonly triggers: readonly OptionSpec[];
  /** Its options, or undefined when none of its triggers is given; validates them. */
  parse(s: Settings): O | undefined;
  create(o: O, env: AuthMethodEnv): Auth;
  /** One phrase for doctor's config line, without the secret. */
  describe(o: O): string;
  /** Doctor's auth line: where the credential comes from. */
  detail(o: O): string;
  /** Doctor's hint when getting the credential failed. */
  hint: string;
  /** Endpoints the method itself talks to (a token URL), for doctor's network checks. */
  endpoints?(o: O): CheckedEndpoint[];
  /** Why its credentials could never work at `url` (a SigV4 region that is not the host's), if so. */
  refusesUrl?(o: O, url: URL): string | undefined;
}
