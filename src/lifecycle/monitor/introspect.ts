// Stage 5, monitor: RFC 7662 introspection of broker-issued tokens; a token is active only while its grant is.
import type { IntrospectionResponse, TokenAuthority } from "../../connectors/token/index.js";
import type { LifecycleDeps } from "../deps.js";

export async function introspectToken(
  deps: LifecycleDeps,
  authority: TokenAuthority,
  token: string,
): Promise<IntrospectionResponse> {
  return authority.introspect(token, async (jti) => {
    const grant = await deps.store.getGrant(jti);
    return grant !== null && grant.state === "active" && grant.expiresAt > deps.clock.now();
  });
}
