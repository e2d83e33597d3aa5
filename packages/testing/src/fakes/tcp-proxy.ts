/**
 * A TCP proxy in front of a loopback test server that can be taken down — every open connection
 * cut, new ones refused — and brought back, to simulate an outage of a database, an object store
 * or an HTTP service without touching the real server (which other tests may share). It also
 * counts the connections it accepts, so a test can prove that a client never opened one (an
 * outgoing-connection guard refusing a loopback target).
 *
 * @packageDocumentation
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/** A running {@link startTcpProxy}. Point the client at `127.0.0.1:port`. */
export interface TcpProxy {
  port: number;
  /** Cuts every connection and refuses new ones until {@link TcpProxy.up}. */
  down(): void;
  /** Accepts and forwards connections again. */
  up(): void;
  /** TCP connections accepted so far (refused ones while down included). */
  readonly accepted: number;
  close(): Promise<void>;
}

/**
 * Starts a TCP proxy on an ephemeral loopback port forwarding to `targetHost:targetPort`.
 *
 * @example
 * ```ts
 * const proxy = await startTcpProxy(5432);
 * const url = `postgres://postgres@127.0.0.1:${proxy.port}/test`;
 * proxy.down(); // writes now fail with connection errors (a RetryableError in a destination)
 * proxy.up();
 * proxy.accepted; // connections accepted so far
 * await proxy.close();
 * ```
 */
export async function startTcpProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
  options: { listenHost?: string } = {},
): Promise<TcpProxy> {
  let isDown = false;
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    accepted++;
    if (isDown) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  // listenHost '::' also accepts IPv4 (127.0.0.1, ::ffff:127.0.0.1) and ::1 on a dual-stack host.
  await new Promise<void>((resolve) =>
    server.listen(0, options.listenHost ?? '127.0.0.1', resolve),
  );
  return {
    port: (server.address() as AddressInfo).port,
    get accepted() {
      return accepted;
    },
    down() {
      isDown = true;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    up() {
      isDown = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        sockets.clear();
        server.close(() => resolve());
      }),
  };
}
