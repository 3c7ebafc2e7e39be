/** The shape of a sign-in method (bearer, basic, OAuth2, ...): one entry of the table in index.ts. */
import type { AxiosInstance } from 'axios';
import type { CheckedEndpoint } from '../../core/check';
import type { OptionSpec, Settings } from '../../core/options';

export interface Auth {
  readonly kind: string;
  /** The Authorization header value, or undefined for none. */
  authorization(): Promise<string | undefined>;
  /**
   * Called after the server answered 401 to `rejected`. Resolves with a new header value when
   * a retry has a chance (the secret changed), else undefined.
   */
  refresh(rejected: string | undefined): Promise<string | undefined>;
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
}
