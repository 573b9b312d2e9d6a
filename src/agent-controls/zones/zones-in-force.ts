import type { AgentDefinition, AgentRegistry, ZoneName, ZoneRules } from '../../config/index.ts';
import { stricterZone } from '../../config/index.ts';
import type { Log } from '../../log.ts';
import type { Db } from '../../sql/index.ts';
import { syncZoneRequests, zonesInForceOf } from './store.ts';

/** How often a broker looks for an approval while one of its agents waits for one. */
const ZONE_REFRESH_MS = 1000;

export interface ZonesInForceOptions {
  db: Db;
  /** The agents.yaml in force: read on every use, so a reloaded file applies to the next request. */
  registry: () => AgentRegistry;
  auditKey: Uint8Array;
  log: Log;
}

/**
 * The zones this broker serves its agents in, kept in memory so a request reads nothing for them: each agent gets
 * the stricter of the zone agents.yaml asks for and the zone in force (a new agent's is the sandbox). Only an
 * approval can loosen that, and only for an agent whose file asks for more than is in force; while such an agent
 * exists the broker re-reads those agents' zones every ZONE_REFRESH_MS, so an approval on any broker reaches every
 * other within about that. A move to a stricter zone needs no polling: it applies at once on every broker whose file
 * asks for it (each broker as soon as it has reloaded the file: see `follow`).
 */
export class ZonesInForce {
  private readonly options: ZonesInForceOptions;
  private inForce: ReadonlyMap<string, ZoneName> = new Map();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  private constructor(options: ZonesInForceOptions) {
    this.options = options;
  }

  /** Reconciles agents.yaml with the database (syncZoneRequests), then reads the zones in force. */
  static async open(options: ZonesInForceOptions): Promise<ZonesInForce> {
    const zones = new ZonesInForce(options);
    await zones.follow(options.registry());
    return zones;
  }

  /**
   * Reconciles an agents.yaml about to be put in force (a reload) and reads its agents' zones too, before any request
   * is served under it; the agents of the file in force keep theirs meanwhile.
   */
  async follow(registry: AgentRegistry): Promise<void> {
    const { opened } = await syncZoneRequests(this.options.db, registry, this.options.auditKey);
    for (const { agent, from, to } of opened) {
      this.options.log({
        level: 'warn',
        msg: 'zone change waits for an officer (npx keyhole agents zone approve)',
        agent,
        zoneInForce: from,
        requestedZone: to,
      });
    }
    await this.read([...registry.agents.keys()]);
    // The file is put in force after this: look again then, in case one of its agents waits for an approval.
    this.schedule(true);
  }

  /** The zone an agent's requests are served in now. */
  zoneOf(agent: AgentDefinition): ZoneRules {
    return this.options.registry().zones[stricterZone(agent.zone, this.inForce.get(agent.id) ?? 'sandbox')];
  }

  /** zoneOf by id; an id agents.yaml does not declare gets the sandbox. */
  zoneOfAgent(agentId: string): ZoneRules {
    const registry = this.options.registry();
    const agent = registry.agents.get(agentId);
    return agent ? this.zoneOf(agent) : registry.zones.sandbox;
  }

  /** Whether an agent is served in a stricter zone than its file asks for: an officer's approval would change its view. */
  private someoneWaits(): boolean {
    return [...this.options.registry().agents.values()].some((agent) => this.zoneOf(agent).name !== agent.zone);
  }

  /** Reads the zones in force of the agents of the file in force and of `also`. */
  private async read(also: readonly string[] = []): Promise<void> {
    const agents = new Set([...this.options.registry().agents.keys(), ...also]);
    this.inForce = await zonesInForceOf(this.options.db, [...agents]);
  }

  /** Re-reads the zones in force, and keeps looking while an agent waits for an approval. */
  private async refresh(): Promise<void> {
    await this.read();
    this.schedule();
  }

  private schedule(once = false): void {
    if (this.stopped || this.timer || (!once && !this.someoneWaits())) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refresh().catch((error: unknown) => {
        this.options.log({ level: 'warn', msg: 'could not re-read the agents’ zones; trying again', error: String(error) });
        this.schedule();
      });
    }, ZONE_REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
