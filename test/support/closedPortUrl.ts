import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** `http://127.0.0.1:PORT` for a loopback port that was free a moment ago and is closed now: connections are refused. */
export async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
