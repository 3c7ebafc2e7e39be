/**
 * The one table of sign-in methods. A new one is one file plus one line below: its options,
 * parsing, the Authorization header it makes and what doctor says about it come from its entry.
 */
import { ConfigError, settingName, type Settings } from '../../core/options';
import type { ConfiguredByName } from '../../core/component';
import { basic } from './basic';
import { bearer } from './bearer';
import type { Auth, AuthMethod, AuthMethodEnv } from './method';
import { oauth2 } from './oauth2';
import { sigv4 } from './sigv4';

export const AUTH_METHODS = [bearer, basic, oauth2, sigv4] as const;

/** The configured method's options by name (at most one is set). */
export type AuthConfigs = ConfiguredByName<typeof AUTH_METHODS>;

export const AUTH_OPTIONS = AUTH_METHODS.flatMap((m) => m.options);

/** The configured method and its options, if any. */
export interface ChosenAuth {
  method: AuthMethod;
  options: unknown;
}

/**
 * Parses the configured method's options. Two methods given at once are refused first, naming
 * what was given: that is the mistake to fix, whatever else the half-given one lacks.
 */
export function parseAuth(s: Settings): AuthConfigs {
  const given = AUTH_METHODS.flatMap((m) => {
    const t = m.triggers.find((o) => s.given(o));
    return t ? [settingName(t)] : [];
  });
  if (given.length > 1) throw new ConfigError(given.join(' and '), `choose one of ${choiceList()}`);
  const out: Record<string, unknown> = {};
  for (const m of AUTH_METHODS) {
    const o = m.parse(s);
    if (o !== undefined) out[m.name] = o;
  }
  return out as AuthConfigs;
}

function choiceList(): string {
  const titles = AUTH_METHODS.map((m) => m.title);
  return titles.length > 1 ? `${titles.slice(0, -1).join(', ')} or ${titles.at(-1)}` : titles.join('');
}

/** The method configured in `configs`, if any. */
export function chosenAuth(configs: AuthConfigs): ChosenAuth | undefined {
  const record = configs as Record<string, unknown>;
  const method = AUTH_METHODS.find((m) => record[m.name] !== undefined) as AuthMethod | undefined;
  return method && { method, options: record[method.name] };
}

const NONE: Auth = { kind: 'none', headers: async () => ({}), refresh: async () => false };

export function createAuth(configs: AuthConfigs, env: AuthMethodEnv): Auth {
  const chosen = chosenAuth(configs);
  return chosen ? chosen.method.create(chosen.options, env) : NONE;
}

export type { Auth, AuthMethod, AuthMethodEnv, OutgoingRequest, Rejection } from './method';
