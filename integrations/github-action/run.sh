#!/usr/bin/env bash
# The action's step: the command under `ephemera exec` (one entitlement) or `ephemera agent` (a config), with the
# job's OIDC token. The token is fetched fresh for the request and never printed; the command does not inherit it.
set -euo pipefail

if [ -z "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ] || [ -z "${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}" ]; then
  echo "::error::the job needs 'permissions: id-token: write' to get an OIDC token for Ephemera" >&2
  exit 2
fi
read -r -a ephemera <<<"${INPUT_EPHEMERA:-npx --yes ephemera}"

if [ -n "${INPUT_AGENT_CONFIG:-}" ]; then
  # The agent's github-actions auth asks the runtime for a token per request itself.
  exec "${ephemera[@]}" agent --config "$INPUT_AGENT_CONFIG" -- bash -c "$INPUT_COMMAND"
fi

if [ -z "${INPUT_ENTITLEMENT:-}" ]; then
  echo "::error::set either entitlement or agent-config" >&2
  exit 2
fi
EPHEMERA_TOKEN="$(node "$(dirname "${BASH_SOURCE[0]}")/fetch-token.mjs" "${INPUT_AUDIENCE:-ephemera}")"
export EPHEMERA_TOKEN
args=(exec --entitlement "$INPUT_ENTITLEMENT")
if [ -n "${INPUT_DURATION:-}" ]; then args+=(--duration "$INPUT_DURATION"); fi
if [ -n "${INPUT_JUSTIFICATION:-}" ]; then args+=(--justification "$INPUT_JUSTIFICATION"); fi
if [ -n "${INPUT_TICKET:-}" ]; then args+=(--ticket "$INPUT_TICKET"); fi
if [ -n "${INPUT_WAIT:-}" ]; then args+=(--wait "$INPUT_WAIT"); fi
exec "${ephemera[@]}" "${args[@]}" -- bash -c "$INPUT_COMMAND"
