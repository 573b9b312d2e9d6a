import { describe, expect, it } from 'vitest';
import { LOOPBACK_HOSTS, mcpOriginPolicyFrom, mcpRequestAllowed } from '../../src/mcp/http-origins.ts';
import { McpSessions, type SessionOwner } from '../../src/mcp/http-sessions.ts';

const inAnHour = new Date(Date.now() + 3_600_000);
const owner = (agentId: string, tokenId = `${agentId}-token`, expiresAt = inAnHour): SessionOwner => ({ agentId, tokenId, expiresAt });

function session() {
  const held = {
    closed: false,
    async close() {
      held.closed = true;
    },
  };
  return held;
}

describe('MCP sessions', () => {
  it('are found only by the agent and token that opened them', () => {
    const sessions = new McpSessions<ReturnType<typeof session>>();
    const opened = session();
    sessions.add('s1', owner('support-bot'), opened);
    expect(sessions.get('s1', owner('support-bot'))).toBe(opened);
    expect(sessions.get('s1', owner('fraud-bot', 'support-bot-token'))).toBeUndefined();
    expect(sessions.get('s1', owner('support-bot', 'another-token'))).toBeUndefined();
    expect(sessions.get('s2', owner('support-bot'))).toBeUndefined();
  });

  it("close with their token's expiry", () => {
    const sessions = new McpSessions<ReturnType<typeof session>>();
    const opened = session();
    const expiring = owner('support-bot', 't', new Date(1_000));
    sessions.add('s1', expiring, opened);
    expect(sessions.get('s1', expiring, 999)).toBe(opened);
    expect(sessions.get('s1', expiring, 1_000)).toBeUndefined();
    expect(opened.closed).toBe(true);
    expect(sessions.size).toBe(0);
  });

  it("cap each agent's sessions, closing its oldest, never another agent's", () => {
    const sessions = new McpSessions<ReturnType<typeof session>>(2);
    const other = session();
    sessions.add('other', owner('fraud-bot'), other);
    const [a, b, c] = [session(), session(), session()];
    sessions.add('a', owner('support-bot'), a);
    sessions.add('b', owner('support-bot'), b);
    sessions.add('c', owner('support-bot'), c);
    expect([a.closed, b.closed, c.closed, other.closed]).toEqual([true, false, false, false]);
    expect(sessions.size).toBe(3);
  });
});

describe('the MCP endpoint’s Host and Origin checks', () => {
  const request = (url: string, origin?: string) => new Request(url, { method: 'POST', headers: origin ? { origin } : {} });

  it('answer loopback hosts and pages by default, on any port', () => {
    const policy = mcpOriginPolicyFrom({});
    expect(policy.hosts).toEqual(LOOPBACK_HOSTS);
    for (const url of ['http://localhost:4000/mcp', 'http://127.0.0.1:55555/mcp', 'http://[::1]:4000/mcp'])
      expect(mcpRequestAllowed(request(url), policy)).toBe(true);
    expect(mcpRequestAllowed(request('http://localhost:4000/mcp', 'http://127.0.0.1:3000'), policy)).toBe(true);
  });

  it('refuse a rebound name as Host, and a page of another site as Origin', () => {
    const policy = mcpOriginPolicyFrom({});
    expect(mcpRequestAllowed(request('http://attacker.example:4000/mcp'), policy)).toBe(false);
    expect(mcpRequestAllowed(request('http://localhost:4000/mcp', 'https://attacker.example'), policy)).toBe(false);
    expect(mcpRequestAllowed(request('http://localhost:4000/mcp', 'null'), policy)).toBe(false);
  });

  it('take the hosts and origins a deployment lists', () => {
    const policy = mcpOriginPolicyFrom({ KEYHOLE_MCP_ALLOWED_HOSTS: 'keyhole.example.com', KEYHOLE_MCP_ALLOWED_ORIGINS: 'https://app.example.com' });
    expect(mcpRequestAllowed(request('https://keyhole.example.com/mcp', 'https://app.example.com'), policy)).toBe(true);
    expect(mcpRequestAllowed(request('http://localhost:4000/mcp'), policy)).toBe(false);
    expect(mcpRequestAllowed(request('https://keyhole.example.com/mcp', 'https://other.example.com'), policy)).toBe(false);
  });

  it('refuse to start on a malformed setting', () => {
    expect(() => mcpOriginPolicyFrom({ KEYHOLE_MCP_ALLOWED_HOSTS: 'http://keyhole.example.com' })).toThrow(/KEYHOLE_MCP_ALLOWED_HOSTS/);
    expect(() => mcpOriginPolicyFrom({ KEYHOLE_MCP_ALLOWED_ORIGINS: 'https://app.example.com/' })).toThrow(/KEYHOLE_MCP_ALLOWED_ORIGINS/);
  });
});
