import type { AgentPrincipal } from '../identity/index.ts';

/** Who opened a session: its agent, under one token (by the token's id). */
export interface SessionOwner {
  agentId: string;
  tokenId: string;
  /** The token's expiry: the session is of no use after it. */
  expiresAt: Date;
}

export const ownerOf = (principal: AgentPrincipal): SessionOwner => ({ agentId: principal.id, tokenId: principal.tokenId, expiresAt: principal.expiresAt });

/** Something held open per session (its MCP transport) that must be closed when the session goes. */
export interface Closable {
  close(): Promise<void>;
}

interface Entry<T> {
  owner: SessionOwner;
  value: T;
}

/**
 * The open MCP sessions of this broker process, each bound to the agent and the token that opened it: another token
 * (another agent's, or the same agent's next one) finds no session under that id, just as an unknown id. An agent
 * holds at most `perAgent` sessions: opening one more closes its oldest, so no agent can pile up memory.
 */
export class McpSessions<T extends Closable> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly perAgent: number;

  constructor(perAgent = 16) {
    this.perAgent = perAgent;
  }

  /** The session under `id` if `owner` opened it and its token has not expired at `now`. */
  get(id: string, owner: SessionOwner, now = Date.now()): T | undefined {
    const entry = this.entries.get(id);
    if (!entry || entry.owner.agentId !== owner.agentId || entry.owner.tokenId !== owner.tokenId) return undefined;
    if (entry.owner.expiresAt.getTime() <= now) {
      void this.close(id);
      return undefined;
    }
    return entry.value;
  }

  add(id: string, owner: SessionOwner, value: T): void {
    const own = [...this.entries].filter(([, entry]) => entry.owner.agentId === owner.agentId);
    for (const [oldest] of own.slice(0, Math.max(0, own.length + 1 - this.perAgent))) void this.close(oldest);
    this.entries.set(id, { owner, value });
  }

  /** Forgets a session (closed by its client, or by the broker) and closes what it held. */
  async close(id: string): Promise<void> {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    await entry.value.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.entries.keys()].map((id) => this.close(id)));
  }

  get size(): number {
    return this.entries.size;
  }
}
