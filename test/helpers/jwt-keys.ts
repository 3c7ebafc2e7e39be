/**
 * Signing keys for private_key_jwt tests, made with the real `openssl` CLI in a temp dir at
 * test time (no key is committed): every PEM form the agent reads (PKCS#8, PKCS#1 RSA, SEC1
 * EC), the ones it must refuse (encrypted, Ed25519, short RSA, secp256k1) and self-signed
 * certificates for the x5t header.
 */
import { execFileSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

export type KeyKind =
  | 'rsa-pkcs8'
  | 'rsa-pkcs1'
  | 'ec256-pkcs8'
  | 'ec256-sec1'
  | 'ec384-pkcs8'
  | 'ec521-sec1'
  | 'ec256-with-params'
  | 'rsa-encrypted-pkcs8'
  | 'rsa-encrypted-pkcs1'
  | 'ed25519'
  | 'rsa1024'
  | 'secp256k1';

const ARGS: Record<KeyKind, (out: string) => string[]> = {
  'rsa-pkcs8': (o) => ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', o],
  'rsa-pkcs1': (o) => ['genrsa', '-traditional', '-out', o, '2048'],
  'ec256-pkcs8': (o) => ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', o],
  'ec256-sec1': (o) => ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', o],
  'ec384-pkcs8': (o) => ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', o],
  'ec521-sec1': (o) => ['ecparam', '-name', 'secp521r1', '-genkey', '-noout', '-out', o],
  // What `openssl ecparam -genkey` writes without -noout: an EC PARAMETERS block first.
  'ec256-with-params': (o) => ['ecparam', '-name', 'prime256v1', '-genkey', '-out', o],
  'rsa-encrypted-pkcs8': (o) => ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-aes256', '-pass', 'pass:test-pass', '-out', o],
  'rsa-encrypted-pkcs1': (o) => ['genrsa', '-traditional', '-aes256', '-passout', 'pass:test-pass', '-out', o, '2048'],
  ed25519: (o) => ['genpkey', '-algorithm', 'ed25519', '-out', o],
  rsa1024: (o) => ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', o],
  secp256k1: (o) => ['ecparam', '-name', 'secp256k1', '-genkey', '-noout', '-out', o],
};

function openssl(args: string[]): string {
  return execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

/** Writes a new key of that kind to dir/name and returns its path. */
export function makeKey(dir: string, kind: KeyKind, name: string = kind): string {
  const out = path.join(dir, `${name}.pem`);
  openssl(ARGS[kind](out));
  return out;
}

/** A self-signed certificate of the key, at dir/name.crt. */
export function makeCertificate(dir: string, keyFile: string, name: string): string {
  const out = path.join(dir, `${name}.crt`);
  openssl(['req', '-x509', '-new', '-key', keyFile, '-subj', `/CN=${name}`, '-days', '2', '-out', out]);
  return out;
}

/** The PEM public key of a private key file. */
export function publicPem(keyFile: string): string {
  return createPublicKey(readFileSync(keyFile)).export({ type: 'spki', format: 'pem' }).toString();
}

/** openssl's own SHA-1 and SHA-256 fingerprints of the certificate, as base64url (x5t, x5t#S256). */
export function opensslThumbprints(certFile: string): { x5t: string; x5tS256: string } {
  const fp = (alg: string): string => {
    const hex = /=([0-9A-F:]+)/.exec(openssl(['x509', '-in', certFile, '-noout', '-fingerprint', `-${alg}`]))![1]!.replace(/:/g, '');
    return Buffer.from(hex, 'hex').toString('base64url');
  };
  return { x5t: fp('sha1'), x5tS256: fp('sha256') };
}
