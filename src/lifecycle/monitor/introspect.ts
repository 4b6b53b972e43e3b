// Stage 5, monitor: RFC 7662 introspection of broker-issued tokens; a token is active only while its grant is.
import { describeError } from "../../support/index.js";
import type { IntrospectionResponse, TokenAuthority } from "../../tokens/index.js";
import type { LifecycleDeps } from "../shared/deps.js";

export async function introspectToken(
  deps: LifecycleDeps,
  authority: TokenAuthority,
  token: string,
): Promise<IntrospectionResponse> {
  return authority.introspect(token, async (jti) => {
    const grant = await deps.store.getGrant(jti);
    const now = deps.clock.now();
    const active = grant !== null && grant.state === "active" && grant.expiresAt > now;
    // A resource server asking about a live token is the token in use: the grant's first and last use.
    if (active && deps.usage) deps.usage.used(grant.id);
    else if (active) {
      await deps.store.markGrantsUsed([{ grantId: grant.id, at: now }]).catch((error: unknown) => {
        deps.logger.warn({ grantId: grant.id, err: describeError(error) }, "token use could not be recorded");
      });
    }
    return active;
  });
}
