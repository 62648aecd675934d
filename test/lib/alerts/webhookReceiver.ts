import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local webhook receiver on 127.0.0.1, port 0, that records requests and answers as told. */
export interface WebhookReceiver {
  readonly url: (path: string) => string;
  readonly requests: { method: string; path: string; headers: IncomingHttpHeaders; body: string }[];
  /** Status for the next requests (shifted per request; the last one repeats). `hang` never answers. */
  answer(...statuses: (number | 'hang')[]): void;
  /** Headers sent with error answers. */
  errorHeaders: Record<string, string>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  let plan: (number | 'hang')[] = [200];
  const requests: WebhookReceiver['requests'] = [];
  const hanging = new Set<import('node:http').ServerResponse>();
  const receiver = {
    requests,
    errorHeaders: {} as Record<string, string>,
    answer(...statuses: (number | 'hang')[]) {
      plan = statuses.length > 0 ? statuses : [200];
    },
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      const status = plan.length > 1 ? plan.shift()! : plan[0]!;
      if (status === 'hang') {
        hanging.add(res);
        return;
      }
      res.writeHead(status, status >= 300 ? receiver.errorHeaders : {});
      // Echo the path back like some services do, so tests can prove it never leaks into errors.
      res.end(status >= 300 ? `error for ${req.url}` : '1');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(receiver, {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
