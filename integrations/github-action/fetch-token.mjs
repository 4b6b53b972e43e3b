// Prints a fresh OIDC token from the GitHub Actions runtime for the audience given as the first argument.
const url = process.env.ACTIONS_ID_TOKEN_REQUEST_URL;
const bearer = process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
const audience = process.argv[2] || "ephemera";
if (!url || !bearer) {
  console.error("ACTIONS_ID_TOKEN_REQUEST_URL / _TOKEN are not set (permissions: id-token: write)");
  process.exit(2);
}
const target = new URL(url);
target.searchParams.set("audience", audience);
const response = await fetch(target, {
  headers: { authorization: `bearer ${bearer}`, accept: "application/json" },
  signal: AbortSignal.timeout(10_000),
});
if (!response.ok) {
  console.error(`the Actions token endpoint answered ${response.status}`);
  process.exit(1);
}
const body = await response.json();
if (typeof body?.value !== "string" || body.value === "") {
  console.error("the Actions token endpoint's answer has no token");
  process.exit(1);
}
process.stdout.write(body.value);
