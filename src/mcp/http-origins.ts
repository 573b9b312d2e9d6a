/** Loopback names: the MCP endpoint answers only these unless KEYHOLE_MCP_ALLOWED_HOSTS says otherwise. */
export const LOOPBACK_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '[::1]'];

/** Which `Host` and `Origin` values /mcp answers (DNS-rebinding protection). */
export interface McpOriginPolicy {
  /** Hostnames without port (an IPv6 address in brackets), or `*` for any (behind a proxy that checks it). */
  hosts: readonly string[];
  /** Exact origins of pages allowed besides loopback ones (`https://app.example.com`). */
  origins: readonly string[];
}

function listFrom(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** From KEYHOLE_MCP_ALLOWED_HOSTS and KEYHOLE_MCP_ALLOWED_ORIGINS (comma-separated); loopback by default. */
export function mcpOriginPolicyFrom(env: NodeJS.ProcessEnv): McpOriginPolicy {
  const hosts = listFrom(env.KEYHOLE_MCP_ALLOWED_HOSTS).map((host) => host.toLowerCase());
  for (const host of hosts) {
    if (host !== '*' && URL.parse(`http://${host}`)?.hostname !== host) {
      throw new Error(`KEYHOLE_MCP_ALLOWED_HOSTS: "${host}" is not a hostname (no scheme, port or path; IPv6 in brackets) or *`);
    }
  }
  const origins = listFrom(env.KEYHOLE_MCP_ALLOWED_ORIGINS);
  for (const origin of origins) {
    if (URL.parse(origin)?.origin !== origin) {
      throw new Error(`KEYHOLE_MCP_ALLOWED_ORIGINS: "${origin}" is not an origin (scheme://host[:port], no path or trailing slash)`);
    }
  }
  return { hosts: hosts.length > 0 ? hosts : LOOPBACK_HOSTS, origins };
}

/**
 * Whether a request may reach the MCP endpoint: its host (port aside, as the SDK's hostHeaderValidation compares it)
 * is allowed, and an `Origin`, when a browser sends one, is a loopback page's or listed. A page on another site that
 * rebinds its name to this broker's address sends its own name as Host and Origin, so it is refused both ways.
 */
export function mcpRequestAllowed(request: Request, policy: McpOriginPolicy): boolean {
  const host = new URL(request.url).hostname;
  if (!policy.hosts.includes('*') && !policy.hosts.includes(host)) return false;
  const origin = request.headers.get('origin');
  if (origin === null) return true;
  const page = URL.parse(origin);
  return page !== null && (policy.origins.includes(page.origin) || LOOPBACK_HOSTS.includes(page.hostname));
}
