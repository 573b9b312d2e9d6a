import type { Broker } from '../../src/broker.ts';

/** A session on /mcp spoken to in raw JSON-RPC, as a hostile agent would: what a client library would not send too. */
export interface RawMcpSession {
  /** POSTs `body` (a string as it is, else as JSON) in the session; DELETE closes it. */
  send(body: unknown, method?: 'POST' | 'DELETE'): Promise<Response>;
}

/** Opens a session on the broker's /mcp with `token` (initialize, then initialized). */
export async function rawMcpSession(broker: Broker, token: string): Promise<RawMcpSession> {
  const send = (body: unknown, method: 'POST' | 'DELETE', session?: string) =>
    broker.fetch(
      new Request('http://127.0.0.1/mcp', {
        method,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${token}`,
          ...(session ? { 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' } : {}),
        },
        body: method === 'DELETE' ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      }),
    );
  const initialize = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } };
  const session = (await send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: initialize }, 'POST')).headers.get('mcp-session-id');
  if (!session) throw new Error('/mcp opened no session');
  await send({ jsonrpc: '2.0', method: 'notifications/initialized' }, 'POST', session);
  return { send: (body, method = 'POST') => send(body, method, session) };
}

let lastId = 1;

/** A JSON-RPC id no other request of this test file has. */
export const requestId = (): number => ++lastId;

export const toolCall = (name: string, args: unknown) => ({ jsonrpc: '2.0', id: requestId(), method: 'tools/call', params: { name, arguments: args } });
