// Certificates tests make for themselves: a CA, server and client certificates, and a real TLS server on 127.0.0.1 that
// asks for client certificates and checks them against a CA bundle and CRLs.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import type { AddressInfo } from "node:net";
import { connect, createServer } from "node:tls";
import * as x509 from "@peculiar/x509";
import { algorithmOf, forX509, generateKeyPair, serialFrom } from "../ca-ring.js";

export interface TestCa {
  readonly certificatePem: string;
  readonly certificate: x509.X509Certificate;
  readonly privateKey: webcrypto.CryptoKey;
}

export interface TestCert {
  readonly certificatePem: string;
  readonly keyPem: string;
}

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

export async function makeTestCa(name: string): Promise<TestCa> {
  const keys = await generateKeyPair("p256");
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialFrom(`test-ca:${name}:${Math.random()}`),
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    signingAlgorithm: algorithmOf("p256"),
    keys: forX509(keys),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  return { certificatePem: certificate.toString("pem"), certificate, privateKey: keys.privateKey };
}

/** A leaf signed by `ca`: a server certificate for 127.0.0.1, or a client certificate with the given URI SANs. */
export async function issueTestCert(
  ca: TestCa,
  options: { server?: boolean; uris?: readonly string[]; notAfter?: Date; cn?: string },
): Promise<TestCert> {
  const keys = await generateKeyPair("p256");
  const names = options.server
    ? [{ type: "ip" as const, value: "127.0.0.1" }]
    : (options.uris ?? []).map((value) => ({ type: "url" as const, value }));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialFrom(`leaf:${Math.random()}`),
    subject: `CN=${options.cn ?? (options.server ? "127.0.0.1" : "client")}`,
    issuer: ca.certificate.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: options.notAfter ?? new Date(Date.now() + 3_600_000),
    signingAlgorithm: algorithmOf("p256"),
    publicKey: forX509(keys.publicKey),
    signingKey: forX509(ca.privateKey),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(
        [options.server ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
        false,
      ),
      ...(names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names, false)] : []),
    ],
  });
  return { certificatePem: certificate.toString("pem"), keyPem: await keyPem(keys.privateKey) };
}

/**
 * Opens a TLS server on 127.0.0.1 that requires a client certificate chaining to `caBundle` and not listed in `crl`,
 * connects with the given client certificate, and resolves whether the server accepted it.
 */
export async function tlsServerAccepts(params: {
  readonly server: TestCert;
  readonly caBundle: string;
  readonly crl: string | undefined;
  readonly client: { readonly certificatePem: string; readonly keyPem: string };
}): Promise<{ accepted: boolean; error: string | null }> {
  const crls = (params.crl ?? "").split(/(?=-----BEGIN X509 CRL-----)/).filter((p) => p.includes("BEGIN X509 CRL"));
  const server = createServer({
    cert: params.server.certificatePem,
    key: params.server.keyPem,
    ca: params.caBundle,
    ...(crls.length > 0 ? { crl: crls } : {}),
    requestCert: true,
    rejectUnauthorized: true,
  });
  const verdict = new Promise<{ accepted: boolean; error: string | null }>((resolve) => {
    server.on("secureConnection", (socket) => {
      resolve({ accepted: socket.authorized, error: null });
      socket.end("ok");
    });
    server.on("tlsClientError", (error) => resolve({ accepted: false, error: error.message }));
    setTimeout(() => resolve({ accepted: false, error: "timeout" }), 5_000).unref();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const client = connect({
    host: "127.0.0.1",
    port,
    cert: params.client.certificatePem,
    key: params.client.keyPem,
    // The server's certificate is not what this checks.
    rejectUnauthorized: false,
  });
  client.on("error", () => undefined);
  try {
    return await verdict;
  } finally {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
