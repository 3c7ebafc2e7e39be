/** GET over https with an explicit CA, client certificate and basic auth: to read back from secured servers. */
import https from 'node:https';
import { readFileSync } from 'node:fs';

export interface HttpsCreds {
  ca: string;
  cert?: string;
  key?: string;
  user?: string;
  password?: string;
  /** Skip verification: to read back from a server whose certificate is meant to be bad. */
  insecure?: boolean;
}

export function httpsGet(url: string, c: HttpsCreds): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (c.user !== undefined) headers.Authorization = 'Basic ' + Buffer.from(`${c.user}:${c.password ?? ''}`).toString('base64');
    const req = https.get(
      url,
      {
        ca: readFileSync(c.ca),
        ...(c.cert && c.key ? { cert: readFileSync(c.cert), key: readFileSync(c.key) } : {}),
        headers,
        agent: false,
        ...(c.insecure ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
  });
}
