/**
 * A TCP proxy on 127.0.0.1 that sits between an SDK client and a local
 * service (the SES stand-in, DynamoDB Local) and loses answers for real.
 *
 * It forwards bytes both ways untouched, except when a fault is armed: then
 * the next request whose head matches is forwarded to the service, the
 * service really handles it, and the answer is thrown away instead of being
 * relayed:
 * - `reset`: the client's connection is reset (RST) the moment the first
 *   byte of the answer arrives, so the client sees ECONNRESET after the
 *   service acted;
 * - `hold`: the answer is swallowed and the connection left open, so the
 *   client waits until its own timeout.
 *
 * `refuse()` stops listening, so that new connections get ECONNREFUSED (a
 * failure that provably happened before any request left the client).
 *
 * It understands just enough HTTP/1.1 to tell requests apart on a kept-alive
 * connection: a request starts when client bytes arrive while no request is
 * outstanding, and ends when the service's answer starts. Faults match the
 * request's text (request line, headers and body, first 64 KB), e.g. the
 * `X-Amz-Target: DynamoDB_20120810.PutItem` header; the decision is taken
 * when the answer starts, so the service has read the whole request.
 */
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';

/** How an armed fault loses the answer. */
export type LostAnswer = 'reset' | 'hold';

export interface ProxyFault {
  readonly mode: LostAnswer;
  /** Only requests whose text (request line, headers, body) matches. @default every request */
  readonly match?: RegExp;
  /** How many matching requests lose their answer. @default 1 */
  readonly times?: number;
}

/** One request that lost its answer: its text, for assertions. */
export interface LostRequest {
  readonly mode: LostAnswer;
  readonly request: string;
}

/** How much of a request is kept for matching. */
const MATCH_WINDOW = 64 * 1024;

interface Armed {
  readonly spec: ProxyFault;
  remaining: number;
}

/** A started proxy; {@link FaultProxy.close} ends every connection and stops it. */
export class FaultProxy {
  /** Requests whose answer was lost, in order. */
  readonly lost: LostRequest[] = [];
  /** Requests forwarded (whatever became of their answers). */
  requests = 0;

  private readonly faults: Armed[] = [];
  private readonly sockets = new Set<Socket>();
  private server: Server;

  private constructor(
    private readonly upstream: { host: string; port: number },
    server: Server,
    readonly port: number,
  ) {
    this.server = server;
  }

  /** Starts a proxy to `target` (an `http://host:port` endpoint) on a free loopback port. */
  static async start(target: string): Promise<FaultProxy> {
    const url = new URL(target);
    const upstream = { host: url.hostname, port: Number(url.port) };
    let proxy!: FaultProxy;
    const server = createServer((client) => proxy.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy = new FaultProxy(upstream, server, (server.address() as AddressInfo).port);
    return proxy;
  }

  /** `http://127.0.0.1:<port>`: give it to the SDK client as its endpoint. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Arms a fault; it fires on the next matching request(s). */
  arm(fault: ProxyFault): void {
    this.faults.push({ spec: fault, remaining: fault.times ?? 1 });
  }

  /** Faults armed but not yet fired. */
  pending(): number {
    return this.faults.reduce((n, f) => n + f.remaining, 0);
  }

  /** Stops listening: new connections are refused (ECONNREFUSED) until {@link accepting}. */
  async refuse(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Listens again on the same port after {@link refuse}. */
  async accepting(): Promise<void> {
    this.server = createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private take(request: string): LostAnswer | undefined {
    const hit = this.faults.find((f) => f.remaining > 0 && (!f.spec.match || f.spec.match.test(request)));
    if (!hit) return undefined;
    hit.remaining -= 1;
    return hit.spec.mode;
  }

  private accept(client: Socket): void {
    const service = new Socket();
    this.sockets.add(client);
    this.sockets.add(service);
    const forget = (s: Socket) => () => this.sockets.delete(s);
    client.on('close', forget(client));
    service.on('close', forget(service));
    // Either side failing ends both, as a real middlebox would.
    client.on('error', () => service.destroy());
    service.on('error', () => client.destroy());
    client.on('end', () => service.end());
    service.on('end', () => client.end());

    let outstanding = false;
    let request = '';
    let fate: LostAnswer | undefined;
    const pendingFromClient: Buffer[] = [];
    let connected = false;

    client.on('data', (chunk: Buffer) => {
      if (!outstanding) {
        outstanding = true;
        request = '';
        fate = undefined;
        this.requests += 1;
      }
      if (request.length < MATCH_WINDOW) request += chunk.toString('latin1').slice(0, MATCH_WINDOW - request.length);
      if (connected) service.write(chunk);
      else pendingFromClient.push(chunk);
    });
    service.on('data', (chunk: Buffer) => {
      if (outstanding) {
        // The answer starts: the service has read and handled the whole request.
        outstanding = false;
        fate = this.take(request);
        if (fate) this.lost.push({ mode: fate, request });
        if (fate === 'reset') {
          client.resetAndDestroy();
          service.destroy();
          return;
        }
      }
      if (fate === 'hold') return;
      client.write(chunk);
    });
    service.connect(this.upstream.port, this.upstream.host, () => {
      connected = true;
      for (const chunk of pendingFromClient.splice(0)) service.write(chunk);
    });
  }
}
