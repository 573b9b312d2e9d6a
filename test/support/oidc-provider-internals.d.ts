// oidc-provider ships no types for its internals; the test issuer's token-exchange grant reuses these two so an
// exchanged token is DPoP-bound exactly as the provider's own grants bind theirs.
declare module 'oidc-provider/lib/helpers/validate_dpop.js' {
  import type Provider from 'oidc-provider';
  import type { KoaContextWithOIDC } from 'oidc-provider';
  export interface DpopResult {
    thumbprint: string;
    jti: string;
    iat: number;
  }
  export default function validateDpop(provider: Provider, ctx: KoaContextWithOIDC, accessToken?: string): Promise<DpopResult | undefined>;
}

declare module 'oidc-provider/lib/helpers/grant_common.js' {
  import type Provider from 'oidc-provider';
  import type { KoaContextWithOIDC } from 'oidc-provider';
  import type { DpopResult } from 'oidc-provider/lib/helpers/validate_dpop.js';
  export function applyDpopBinding(provider: Provider, ctx: KoaContextWithOIDC, dPoP: DpopResult | undefined, token: object): Promise<void>;
}
