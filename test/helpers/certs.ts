/**
 * Test PKI made with the real `openssl` CLI in a temp dir: a CA, a second (wrong) CA, server
 * certificates (valid, expired, for another host name) and client certificates. EC P-256 keys
 * keep it fast on a 2-core machine.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from './servers';

export interface CertPair {
  cert: string;
  key: string;
}

export interface Pki {
  dir: string;
  ca: CertPair;
  otherCa: CertPair;
  /** SAN DNS:localhost, IP:127.0.0.1, signed by ca. */
  server: CertPair;
  /** Same SANs, signed by ca, already expired. */
  expiredServer: CertPair;
  /** SAN DNS:metrics.internal only (no IP): dialling 127.0.0.1 must fail unless --tls-server-name. */
  otherHostServer: CertPair;
  /** Client certificate signed by ca. */
  client: CertPair;
  /** Client certificate signed by otherCa (not trusted by the servers). */
  foreignClient: CertPair;
  cleanup(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string): CertPair {
  const p = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', p.key, '-out', p.cert, '-days', '2', '-subj', `/CN=${name}`],
    dir,
  );
  return p;
}

function makeLeaf(dir: string, name: string, ca: CertPair, ext: string, days: number): CertPair {
  const p = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  const csr = path.join(dir, `${name}.csr`);
  const extFile = path.join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', p.key, '-out', csr, '-subj', `/CN=${name}`], dir);
  // -days -1 gives notAfter before now: an expired certificate, as OpenSSL 3.0 allows.
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', String(days), '-out', p.cert, '-extfile', extFile], dir);
  return p;
}

const SERVER_EXT = 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n';
const CLIENT_EXT = 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n';

export function makePki(): Pki {
  const dir = tempDir('dbx-prom-pki-');
  const ca = makeCa(dir, 'ca');
  const otherCa = makeCa(dir, 'other-ca');
  const san = 'subjectAltName=DNS:localhost,IP:127.0.0.1\n';
  return {
    dir,
    ca,
    otherCa,
    server: makeLeaf(dir, 'server', ca, SERVER_EXT + san, 2),
    expiredServer: makeLeaf(dir, 'expired', ca, SERVER_EXT + san, -1),
    otherHostServer: makeLeaf(dir, 'other-host', ca, SERVER_EXT + 'subjectAltName=DNS:metrics.internal\n', 2),
    client: makeLeaf(dir, 'client', ca, CLIENT_EXT, 2),
    foreignClient: makeLeaf(dir, 'foreign-client', otherCa, CLIENT_EXT, 2),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
