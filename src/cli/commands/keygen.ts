// `ephemera keygen --identity ID`: make an API key offline; print it once and the hash to put in the config file.
import type { Command } from "commander";
import type { Cli } from "../context.js";
import { UsageError } from "../exit-codes.js";

/** The config schema's pattern for identity ids. */
const IDENTITY_ID = /^[a-z0-9][a-z0-9._@-]{0,127}$/;

export function registerKeygen(program: Command, cli: Cli): void {
  program
    .command("keygen")
    .description("generate an API key for an identity (offline); the config keeps only its hash")
    .requiredOption("--identity <id>", "the identity the key authenticates")
    .option("--json", "print {identity, key, keyId, hash} as JSON")
    .action(async (options: { identity: string; json?: boolean }) => {
      if (!IDENTITY_ID.test(options.identity)) {
        throw new UsageError("--identity: lower-case letters, digits, '.', '_', '@' and '-' (at most 128)");
      }
      // Loaded on use so commands that only talk HTTP start without the server-side modules.
      const { generateApiKey } = await import("../../identity/index.js");
      const { key, keyId, hash } = generateApiKey();
      if (options.json) {
        cli.json({ identity: options.identity, key, keyId, hash });
        return;
      }
      cli.print(
        [
          `# API key for ${options.identity}; shown once, store it as a secret (e.g. EPHEMERA_TOKEN):`,
          key,
          "",
          "# Add to the configuration file (only the hash; the key never goes in the file):",
          "identities:",
          `  ${options.identity}:`,
          "    apiKeys:",
          `      - { id: ${keyId}, hash: "${hash}" }`,
        ].join("\n"),
      );
    });
}
