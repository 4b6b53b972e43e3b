// @peculiar/x509, loaded on first use: it (with reflect-metadata and its ASN.1 schemas) costs over a second to import,
// which every broker start would pay even without an x509 target.
import { webcrypto } from "node:crypto";
import type * as X509 from "@peculiar/x509";

let loading: Promise<typeof X509> | null = null;

export function pkix(): Promise<typeof X509> {
  loading ??= (async () => {
    await import("reflect-metadata");
    const x509 = await import("@peculiar/x509");
    x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
    return x509;
  })();
  return loading;
}
