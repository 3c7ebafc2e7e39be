/** The TLS settings every outgoing connection shares (sinks, token endpoints, gc, doctor). */
import { option, type Settings } from '../core/options';

const CA_FILE = option('--ca-file <path>', 'extra CA certificates (PEM) trusted besides the system CAs');
const CERT_FILE = option('--cert-file <path>', 'client certificate (PEM) for mTLS');
const KEY_FILE = option('--key-file <path>', 'client key (PEM) for mTLS');
const SERVER_NAME = option('--tls-server-name <name>', 'expected server name in the certificate');
const INSECURE = option('--insecure-skip-verify', 'do not verify server certificates (insecure!)');

export const TLS_OPTIONS = [CA_FILE, CERT_FILE, KEY_FILE, SERVER_NAME, INSECURE] as const;

export interface TlsConfig {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
  insecureSkipVerify: boolean;
}

export function parseTls(s: Settings): TlsConfig {
  const tls: TlsConfig = {
    caFile: s.readable(CA_FILE),
    certFile: s.readable(CERT_FILE),
    keyFile: s.readable(KEY_FILE),
    serverName: s.str(SERVER_NAME),
    insecureSkipVerify: s.bool(INSECURE),
  };
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined))
    throw s.error(tls.certFile ? KEY_FILE : CERT_FILE, 'client certificate and key go together');
  return tls;
}
