/**
 * A proxy in front of a real Pushgateway that can hold requests at a gate: a held request is
 * received but neither forwarded nor answered until the test releases it (or ever: a hung
 * Pushgateway). The order in which requests arrive is what decides whether a DELETE really
 * removed a node's group (the Pushgateway applies requests in arrival order). Every step is an
 * event a test can wait on (`when`), so a test orders what happens ("the DELETE arrived", "the
 * PUT was given up by the agent") instead of sleeping and hoping the machine keeps pace.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GateEvent {
  method: string;
  /** received: fully arrived; answered: the Pushgateway's answer was sent back; aborted: the client gave up first. */
  what: 'received' | 'answered' | 'aborted';
  at: number;
}

export interface Hold {
  /** Resolves when the first held request has arrived. */
  arrived: Promise<void>;
  /** Forwards the held requests (those not given up meanwhile) and stops holding. */
  release(): void;
}

export interface GateProxy {
  url: string;
  events: GateEvent[];
  /** From now on, requests of `method` wait at the gate until released. */
  hold(method: string): Hold;
  /** The first event, from index `from` of `events` on, that `match` accepts (past or future). */
  when(match: (e: GateEvent) => boolean, from?: number): Promise<GateEvent>;
  /** Methods of the requests received so far, in order of arrival. */
  arrivals(): string[];
  /** `method what` of every event so far, for messages. */
  describe(): string;
  close(): Promise<void>;
}

export async function startGateProxy(target: string): Promise<GateProxy> {
  const events: GateEvent[] = [];
  const waiters: { match: (e: GateEvent) => boolean; from: number; resolve: (e: GateEvent) => void }[] = [];
  const gates = new Map<string, { queue: (() => void)[]; arrived: () => void }>();
  const record = (method: string, what: GateEvent['what']): void => {
    const e = { method, what, at: Date.now() };
    events.push(e);
    for (const w of [...waiters])
      if (events.length - 1 >= w.from && w.match(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(e);
      }
  };
  const server = http.createServer((req, res) => {
    const method = req.method ?? '';
    const chunks: Buffer[] = [];
    let settled = false;
    res.on('close', () => {
      if (!settled) record(method, 'aborted');
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      record(method, 'received');
      const forward = (): void => {
        if (res.destroyed) return;
        const headers = { ...req.headers };
        delete headers.host;
        const up = http.request(`${target}${req.url ?? '/'}`, { method, headers }, (r) => {
          const body: Buffer[] = [];
          r.on('data', (c: Buffer) => body.push(c));
          r.on('end', () => {
            if (res.destroyed) return;
            settled = true;
            record(method, 'answered');
            res.writeHead(r.statusCode ?? 502, r.headers).end(Buffer.concat(body));
          });
        });
        up.on('error', () => {
          settled = true;
          res.writeHead(502).end();
        });
        up.end(Buffer.concat(chunks));
      };
      const gate = gates.get(method);
      if (gate) {
        gate.queue.push(forward);
        gate.arrived();
      } else forward();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    events,
    hold(method) {
      let arrived!: () => void;
      const p = new Promise<void>((resolve) => (arrived = resolve));
      const gate = { queue: [] as (() => void)[], arrived };
      gates.set(method, gate);
      return {
        arrived: p,
        release() {
          if (gates.get(method) === gate) gates.delete(method);
          for (const f of gate.queue.splice(0)) f();
        },
      };
    },
    when(match, from = 0) {
      const past = events.slice(from).find(match);
      if (past) return Promise.resolve(past);
      return new Promise((resolve) => waiters.push({ match, from, resolve }));
    },
    arrivals: () => events.filter((e) => e.what === 'received').map((e) => e.method),
    describe: () => events.map((e) => `${e.method} ${e.what}`).join(', '),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
